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
nova_mig/privsep nova_mig/layout nova_mig/sysfs.py nova_mig/conf
nova_mig/metrics nova_mig/novaconf nova_mig/flavor nova_mig/documents
nova_mig/exception.py nova_mig/fileutils.py nova_mig/lock.py
nova_mig/ownership.py nova_mig/placement nova_mig/cli/app.py
nova_mig/cli/shell.py nova_mig/cli/common.py nova_mig/cli/discover.py
nova_mig/cli/nova_config.py nova_mig/cli/sync.py
nova_mig/cli/verify.py nova_mig/cli/units.py nova_mig/cli/usage.py
nova_mig/cli/slicemap.py nova_mig/cli/confcheck.py nova_mig/cli/selfcheck.py
nova_mig/osc/__init__.py nova_mig/osc/client.py nova_mig/osc/common.py
nova_mig/osc/plugin.py nova_mig/osc/v1/__init__.py nova_mig/osc/v1/alias.py
nova_mig/osc/v1/flavor.py nova_mig/osc/v1/profile.py nova_mig/osc/v1/trait.py
nova_mig/simulator/catalog.py nova_mig/simulator/exception.py
nova_mig/simulator/pci.py
nova_mig/cli/layout.py"

rc=0
echo "mypy: nova_mig/"
mypy || rc=1
echo "mypy --strict:" $STRICT_PATHS
# shellcheck disable=SC2086
mypy --strict $STRICT_PATHS || rc=1
exit "$rc"
