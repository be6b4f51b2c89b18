#!/usr/bin/env bash
#
# Type-check nova-mig: mypy --strict over all of nova_mig/, the simulator
# included (setup.cfg [mypy]: files = nova_mig, strict = True). Exit
# status 1 on any error. mypy must be on PATH (tox -e mypy and
# tools/quickstart.sh test do it).

set -eu

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP_DIR"

echo "mypy --strict: nova_mig/"
exec mypy --strict
