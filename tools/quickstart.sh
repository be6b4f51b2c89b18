#!/usr/bin/env bash
#
# The one entry point of a fresh checkout of nova-mig.
#
#   tools/quickstart.sh demo [NOVA-MIG ARGS...]
#       On the simulated host of etc/nova-mig/demo.conf: discover, plan a
#       layout, generate Nova's configuration (dry run) and sync the
#       embedded Placement. Arguments, when given, run that one nova-mig
#       command instead (e.g. "demo discover -f json").
#   tools/quickstart.sh test [STESTR RUN ARGS...]
#       Run the gates (flake8, bashate, mypy, import graph) and the whole
#       test suite with stestr, and close with the line "N passed,
#       N failed, N skipped"; fail when a gate or a test fails. With
#       arguments, only the tests they select run, without the gates.
#   tools/quickstart.sh pep8
#       Only the gates.
#
# Every command first makes sure that:
#   1. the virtual environment exists ($NOVA_MIG_VENV, default .venv),
#      installing python3-venv first where Debian left it out;
#   2. the system packages of bindep.txt are installed (skipped with
#      NOVA_MIG_SKIP_BINDEP=1); apt-get or dnf runs as root, through sudo
#      when the caller is not root;
#   3. requirements.txt, test-requirements.txt and nova-mig itself (editable)
#      are installed in it. This step is skipped while a hash of the
#      requirement files, recorded in the virtual environment, is unchanged,
#      so a second run starts at once.
#
# The script runs from the top of the repository, so relative paths in
# etc/nova-mig/demo.conf and in the arguments are relative to it.

set -eu
set -o pipefail

TOP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$TOP_DIR"

VENV=${NOVA_MIG_VENV:-.venv}
case $VENV in
    /*) ;;
    *) VENV=$TOP_DIR/$VENV ;;
esac
PYTHON3=${PYTHON3:-python3}
DEMO_CONF=etc/nova-mig/demo.conf
DEPS_STAMP=$VENV/.nova-mig-deps.sha256
# Files whose change means the virtual environment must be refreshed.
DEPS_FILES="requirements.txt test-requirements.txt setup.cfg setup.py
pyproject.toml"

APT_UPDATED=False

function log {
    echo "quickstart: $*" >&2
}

function die {
    log "ERROR: $*"
    exit 1
}

function usage {
    sed -n '3,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
    exit 2
}

# Run a command as root: directly when we are root, through sudo otherwise.
function as_root {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run '$*' and sudo is not installed"
    fi
}

# Install system packages with the platform's package manager.
function install_system_packages {
    if command -v apt-get >/dev/null 2>&1; then
        if [ "$APT_UPDATED" = False ]; then
            log "apt-get update"
            as_root apt-get update -q
            APT_UPDATED=True
        fi
        log "apt-get install $*"
        as_root env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "$@"
    elif command -v dnf >/dev/null 2>&1; then
        log "dnf install $*"
        as_root dnf install -y "$@"
    else
        die "no apt-get or dnf here: install these packages by hand: $*"
    fi
}

# Step 1: the virtual environment, with a working pip.
function ensure_venv {
    if [ -x "$VENV/bin/python" ] && \
        "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
        return 0
    fi
    command -v "$PYTHON3" >/dev/null 2>&1 || \
        die "$PYTHON3 not found: install Python 3.11 or newer"
    local existed=False
    if [ -e "$VENV" ]; then
        existed=True
    fi
    log "creating the virtual environment $VENV"
    if ! "$PYTHON3" -m venv "$VENV" >/dev/null 2>&1; then
        # Debian and Ubuntu ship venv's ensurepip in python3-venv.
        if [ "$existed" = False ]; then
            rm -rf "$VENV"
        fi
        install_system_packages python3-venv
        "$PYTHON3" -m venv "$VENV"
    fi
    "$VENV/bin/python" -m pip --version >/dev/null 2>&1 || \
        die "$VENV has no pip; remove it and run again"
}

# Step 2: the system packages that bindep.txt lists for this profile.
function ensure_system_packages {
    local profile=$1
    local missing
    local rc=0
    if [ "${NOVA_MIG_SKIP_BINDEP:-0}" = 1 ]; then
        return 0
    fi
    if [ ! -x "$VENV/bin/bindep" ]; then
        log "installing bindep in $VENV"
        "$VENV/bin/python" -m pip install -q bindep
    fi
    # bindep exits 1 when something is missing, and prints it.
    missing=$("$VENV/bin/bindep" -b ${profile:+"$profile"}) || rc=$?
    if [ "$rc" -gt 1 ]; then
        die "bindep failed (exit $rc)"
    fi
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        install_system_packages $missing
    fi
}

function deps_hash {
    local f
    {
        "$VENV/bin/python" --version
        for f in $DEPS_FILES; do
            if [ -f "$f" ]; then
                echo "$f"
                cat "$f"
            fi
        done
    } | sha256sum | cut -d' ' -f1
}

# Step 3: Python packages, only when the requirement files changed.
function ensure_python_packages {
    local want
    want=$(deps_hash)
    if [ -f "$DEPS_STAMP" ] && [ "$(cat "$DEPS_STAMP")" = "$want" ] && \
        [ -x "$VENV/bin/nova-mig" ]; then
        return 0
    fi
    # pbr takes the version from git; without a git checkout give it one.
    if ! git rev-parse --git-dir >/dev/null 2>&1; then
        export PBR_VERSION=${PBR_VERSION:-0.0.1.dev0}
    fi
    log "installing requirements into $VENV (once per change)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q \
        -r requirements.txt -r test-requirements.txt -e .
    echo "$want" > "$DEPS_STAMP"
}

function prepare {
    ensure_venv
    ensure_system_packages "$1"
    ensure_python_packages
}

DEMO_LAYOUT=etc/nova-mig/layouts/a100-balanced.yaml

function demo_step {
    local title=$1
    shift
    printf '\n=== %s\n$ nova-mig %s\n\n' "$title" "$*"
    "$VENV/bin/nova-mig" --config-file "$DEMO_CONF" "$@"
}

# The whole flow on the simulated host and the embedded Placement: nothing
# is written outside the repository (state in .nova-mig-state/).
function run_demo_flow {
    demo_step "1/4 Discover the host: GPUs, MIG geometry, VFs, vGPUs, guests" \
        discover
    demo_step "2/4 Plan a declared layout (nothing is changed)" \
        layout plan "$DEMO_LAYOUT"
    demo_step "3/4 Generate nova-compute's configuration (dry run)" \
        nova-config --dry-run
    demo_step "4/4 Sync classes and traits into the embedded Placement" \
        sync
}

function run_demo {
    if [ $# -eq 0 ]; then
        run_demo_flow
    else
        "$VENV/bin/nova-mig" --config-file "$DEMO_CONF" "$@"
    fi
    cat <<EOF

What next:
  tools/quickstart.sh demo discover -f json   one command, with its arguments
  tools/quickstart.sh demo layout apply $DEMO_LAYOUT
      (refuses the GPU whose unused vGPU nova-mig did not create; add
      --include-foreign to replace it, as after draining a real host)
  tools/quickstart.sh demo help               every nova-mig command
  tools/quickstart.sh test                    run the test suite
Other simulated hosts are in etc/nova-mig/hosts/: point [simulator]host_file
in $DEMO_CONF at one of them and run the demo again.
EOF
}

# The id stestr gives to its next run (0 before the first one).
function next_run_id {
    cat .stestr/next-stream 2>/dev/null || echo 0
}

function stat_of {
    local label=$1
    local stats=$2
    local value
    value=$(echo "$stats" | awk -F: -v l="$label" \
        '$1 == l {gsub(/ /, "", $2); print $2}')
    echo "${value:-0}"
}

function run_tests {
    local before
    local stats
    local passed=0
    local failed=0
    local skipped=0
    local rc=0
    before=$(next_run_id)
    # Keep each test's output and logs with its result (shown when it
    # fails) instead of in the middle of the run's progress lines.
    export OS_STDOUT_CAPTURE=${OS_STDOUT_CAPTURE:-1}
    export OS_STDERR_CAPTURE=${OS_STDERR_CAPTURE:-1}
    export OS_LOG_CAPTURE=${OS_LOG_CAPTURE:-1}
    "$VENV/bin/stestr" run "$@" || rc=$?
    if [ "$(next_run_id)" != "$before" ]; then
        stats=$("$VENV/bin/stestr" last --subunit | \
            "$VENV/bin/subunit-stats" --no-passthrough) || true
        passed=$(stat_of "Passed tests" "$stats")
        failed=$(stat_of "Failed tests" "$stats")
        skipped=$(stat_of "Skipped tests" "$stats")
    else
        echo >&2
        log "stestr recorded no run (exit $rc): no test was executed"
        [ "$rc" -ne 0 ] || rc=1
    fi
    if [ $((passed + failed)) -eq 0 ]; then
        log "no test ran"
        rc=1
    elif [ "$failed" -ne 0 ] && [ "$rc" -eq 0 ]; then
        rc=1
    fi
    echo "$passed passed, $failed failed, $skipped skipped"
    return "$rc"
}

# The style and structure gates: each runs even when another failed, and
# the failed ones are named at the end.
function run_gates {
    local failed=""
    log "gate: flake8 (hacking)"
    "$VENV/bin/flake8" || failed="$failed flake8"
    log "gate: bashate"
    PATH=$VENV/bin:$PATH tools/bashate.sh || failed="$failed bashate"
    log "gate: mypy (plain over nova_mig/, --strict over its strict part)"
    PATH=$VENV/bin:$PATH tools/mypy.sh || failed="$failed mypy"
    log "gate: import graph (layers, cycles)"
    "$VENV/bin/python" tools/import_graph.py || failed="$failed import-graph"
    if [ -n "$failed" ]; then
        log "FAILED gates:$failed"
        return 1
    fi
    log "every gate passed"
}

function main {
    local action=${1:-}
    [ $# -eq 0 ] || shift
    case $action in
        demo)
            prepare ""
            run_demo "$@"
            ;;
        test)
            prepare test
            local rc=0
            if [ $# -eq 0 ]; then
                run_gates || rc=1
            else
                log "tests selected: the gates do not run"
            fi
            # The last line stays the tests' "N passed, N failed, ..."
            run_tests "$@" || rc=1
            return "$rc"
            ;;
        pep8)
            prepare test
            run_gates
            ;;
        *)
            usage
            ;;
    esac
}

main "$@"
