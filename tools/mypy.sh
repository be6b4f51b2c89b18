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
nova_mig/simulator
nova_mig/rebalance/demand.py nova_mig/rebalance/forecast.py
nova_mig/rebalance/capacity.py nova_mig/rebalance/plan.py
nova_mig/reaper
nova_mig/rebalance/geometry.py nova_mig/rebalance/solver.py
nova_mig/rebalance/history.py nova_mig/rebalance/fleet.py
nova_mig/workflows/__init__.py nova_mig/workflows/compute_service.py
nova_mig/workflows/drain_journal.py nova_mig/workflows/retype.py
nova_mig/cli/layout.py"

# The commands (cli/ but cli/layout.py, osc/) and what they share: strict
# in their own code. The library modules they import are checked by their
# own STRICT_PATHS entries as those become strict (follow-imports=silent:
# their errors are not repeated here); then these move into STRICT_PATHS.
STRICT_OWN_PATHS="nova_mig/exitcodes.py nova_mig/rebalance/planner.py
nova_mig/rebalance/survey.py nova_mig/workflows/host_metrics.py
nova_mig/cli/hook.py nova_mig/cli/metrics.py
nova_mig/cli/reap.py nova_mig/cli/rebalance.py nova_mig/cli/retype.py
nova_mig/osc/v1/capacity.py nova_mig/osc/v1/metrics.py
nova_mig/osc/v1/rebalance.py nova_mig/osc/window.py"

rc=0
echo "mypy: nova_mig/"
mypy || rc=1
echo "mypy --strict:" $STRICT_PATHS
# shellcheck disable=SC2086
mypy --strict $STRICT_PATHS || rc=1
echo "mypy --strict (own code):" $STRICT_OWN_PATHS
# shellcheck disable=SC2086
mypy --strict --follow-imports=silent $STRICT_OWN_PATHS || rc=1
exit "$rc"
