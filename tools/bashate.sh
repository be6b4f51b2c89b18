#!/usr/bin/env bash
#
# Run bashate over every shell script of the repository: tools/*.sh,
# .ci/run and, once they exist, the devstack plugin files.
# bashate must be on PATH (tox -e pep8 and tools/quickstart.sh pep8 do it).

set -eu

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP_DIR"

files=()
for f in tools/*.sh .ci/run devstack/plugin.sh devstack/settings \
    devstack/lib/*; do
    if [ -f "$f" ]; then
        files+=("$f")
    fi
done

bashate -v "${files[@]}"
