#!/usr/bin/env bash
#
# Type-check nova-mig: plain mypy over nova_mig/ (setup.cfg [mypy]), then
# mypy --strict over the packages that must stay strict-clean. Both run
# even when the first fails; the exit status is 1 when either failed.
# mypy must be on PATH (tox -e mypy and tools/quickstart.sh test do it).

set -eu

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP_DIR"

STRICT_PATHS="nova_mig/model nova_mig/naming.py nova_mig/gpu nova_mig/host
nova_mig/privsep nova_mig/layout nova_mig/sysfs.py"

rc=0
echo "mypy: nova_mig/"
mypy || rc=1
echo "mypy --strict:" $STRICT_PATHS
# shellcheck disable=SC2086
mypy --strict $STRICT_PATHS || rc=1
exit "$rc"
