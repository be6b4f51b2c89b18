#!/usr/bin/env bash
#
# The one entry point of a fresh checkout of nova-mig.
#
#   tools/quickstart.sh demo [--host NAME] [--scenario orphans] [--verbose]
#                            [ARGS...]
#       On the simulated host of etc/nova-mig/demo.conf (--host: the example
#       host etc/nova-mig/hosts/NAME.yaml): discover, plan the example
#       layout that fits it, generate Nova's configuration (dry run), sync
#       the embedded Placement and list its MIG profiles with "openstack
#       mig"; each step summed up (--verbose: the commands' full output).
#       --scenario orphans: the story of orphan vGPUs after a type change
#       and the reaper. ARGS run that one nova-mig command instead (e.g.
#       "demo discover -f json"). Writes only under .nova-mig-state/.
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
#   3. requirements.txt and nova-mig itself (editable, with its "embedded"
#      Placement and "osc" extras) are installed in it, and for "test" and
#      "pep8" the "rebalance" extra and test-requirements.txt too. This step is
#      skipped while a hash of the requirement files, recorded in the
#      virtual environment, is unchanged, so a second run starts at once.
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
DEPS_FILES="requirements.txt setup.cfg setup.py pyproject.toml"
TEST_DEPS_FILES="test-requirements.txt"

APT_UPDATED=False

function log {
    echo "quickstart: $*" >&2
}

function die {
    log "ERROR: $*"
    exit 1
}

function usage {
    sed -n '3,22s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
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
    # A venv this script finished (a stamp exists) is taken as it is:
    # asking pip costs half a second on every run.
    if [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/pip" ] && \
        compgen -G "$VENV/.nova-mig-*.sha256" >/dev/null; then
        return 0
    fi
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

# Step 2: the system packages that bindep.txt lists for this profile,
# checked again only when bindep.txt changed (bindep takes over a second;
# remove $VENV/.nova-mig-bindep-*.sha256 to force a check).
function ensure_system_packages {
    local profile=$1
    local missing
    local rc=0
    local stamp=$VENV/.nova-mig-bindep-${profile:-default}.sha256
    if [ "${NOVA_MIG_SKIP_BINDEP:-0}" = 1 ]; then
        return 0
    fi
    if [ -f "$stamp" ] && \
        [ "$(cat "$stamp")" = "$(deps_hash bindep.txt)" ]; then
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
    deps_hash bindep.txt > "$stamp"
}

function deps_hash {
    local f
    {
        "$VENV/bin/python" --version
        for f in "$@"; do
            if [ -f "$f" ]; then
                echo "$f"
                cat "$f"
            fi
        done
    } | sha256sum | cut -d' ' -f1
}

# Whether the stamp of profile $1 (demo or test) matches the files.
function deps_current {
    local stamp=$VENV/.nova-mig-$1-deps.sha256
    local files=$DEPS_FILES
    if [ "$1" = test ]; then
        stamp=$DEPS_STAMP
        files="$DEPS_FILES $TEST_DEPS_FILES"
    fi
    # shellcheck disable=SC2086
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(deps_hash $files)" ] && \
        [ -x "$VENV/bin/nova-mig" ]
}

# Step 3: Python packages, only when the requirement files changed. The
# demo needs requirements.txt and nova-mig with its "embedded" (Placement)
# and "osc" (openstack mig) extras; the tests also test-requirements.txt
# and the "rebalance" extra (the planner's SciPy).
function ensure_python_packages {
    local profile=$1
    local stamp=$VENV/.nova-mig-$profile-deps.sha256
    local files=$DEPS_FILES
    if deps_current "$profile" || \
        { [ "$profile" = demo ] && deps_current test; }; then
        return 0
    fi
    # pbr takes the version from git; without a git checkout give it one.
    if ! git rev-parse --git-dir >/dev/null 2>&1; then
        export PBR_VERSION=${PBR_VERSION:-0.0.1.dev0}
    fi
    if [ "$profile" = test ]; then
        stamp=$DEPS_STAMP
        files="$DEPS_FILES $TEST_DEPS_FILES"
        log "installing requirements into $VENV (once per change)"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q \
            -r requirements.txt -r test-requirements.txt \
            -e '.[embedded,osc,rebalance]'
    else
        # pip's own lines (Collecting, Downloading, Installing) show the
        # progress of the first run.
        log "installing the demo's requirements into $VENV (once per" \
            "change): requirements.txt, nova-mig[embedded,osc]"
        "$VENV/bin/python" -m pip install --progress-bar on \
            --disable-pip-version-check -r requirements.txt \
            -e '.[embedded,osc]' 2>&1 | \
            grep -v -e '^Requirement already' -e 'BuildBackendWarning' >&2 \
            || true
        "$VENV/bin/python" -c 'import nova_mig, placement' 2>/dev/null || \
            die "installing the demo's requirements failed (see above)"
    fi
    # Byte-compile nova-mig as pip does for a regular install: an editable
    # one under PYTHONDONTWRITEBYTECODE would compile it on every command.
    "$VENV/bin/python" -m compileall -q nova_mig >/dev/null || true
    # shellcheck disable=SC2086
    deps_hash $files > "$stamp"
}

function prepare {
    ensure_venv
    ensure_system_packages "$1"
    ensure_python_packages "${2:-test}"
}

# The example host of the demo (--host NAME) and its configuration files.
DEMO_HOST=a100-mixed
DEMO_CONF_ARGS=()

# The first example layout whose "# fits:" line names the host, if any:
# one that fits as it is before one that needs a flag ("(with ...").
function layout_for_host {
    local tail
    for tail in '$' ' '; do
        { grep -l -E "^# fits: etc/nova-mig/hosts/$1\.yaml$tail" \
            etc/nova-mig/layouts/*.yaml 2>/dev/null || true; }
    done | head -n 1
}

# Where the state of the demo host lives: demo.conf's host keeps
# .nova-mig-state, every other one .nova-mig-state/hosts/NAME.
function demo_state_dir {
    if [ "$DEMO_HOST" = a100-mixed ]; then
        echo .nova-mig-state
    else
        echo ".nova-mig-state/hosts/$DEMO_HOST"
    fi
}

# Choose the simulated host etc/nova-mig/hosts/NAME.yaml.
function use_demo_host {
    local dir
    local conf
    if [ ! -f "etc/nova-mig/hosts/$1.yaml" ]; then
        die "no example host $1; choose one of:" \
            "$(cd etc/nova-mig/hosts && ls -- *.yaml | sed 's/\.yaml$//' | \
            tr '\n' ' ')"
    fi
    DEMO_HOST=$1
    DEMO_CONF_ARGS=(--config-file "$DEMO_CONF")
    # Each step's -f json output goes there before its command runs.
    dir=$(demo_state_dir)
    mkdir -p "$dir"
    if [ "$DEMO_HOST" = a100-mixed ]; then
        return 0
    fi
    conf=$dir/demo-host.conf
    printf '%s\n' "# written by tools/quickstart.sh demo --host $1" \
        '[simulator]' "host_file = etc/nova-mig/hosts/$1.yaml" \
        '[host]' "state_dir = $dir" > "$conf"
    DEMO_CONF_ARGS+=(--config-file "$conf")
}

function nova_mig {
    "$VENV/bin/nova-mig" "${DEMO_CONF_ARGS[@]}" "$@"
}

function demo_title {
    printf '\n=== %s\n' "$*"
}

# Why a step shows what it shows: its words, spaces and line breaks
# squeezed, folded to 79 columns.
function demo_why {
    { printf '%s' "$*" | tr -s ' \n' ' '; echo; } | fold -s -w 79 | \
        sed 's/ *$//'
}

DEMO_VERBOSE=False

# One step: its title, why, the command line, then the command's summary
# (tools/demo_summary.py KIND reads its -f json output), or its whole
# output with --verbose or without a KIND. A step that fails (some are
# meant to) shows its exit status and the flow goes on.
#   demo_step TITLE WHY KIND ARGS...
function demo_step {
    local title=$1
    local why=$2
    local kind=$3
    local rc=0
    local out
    shift 3
    demo_title "$title"
    demo_why "$why"
    if [ "$DEMO_VERBOSE" = True ] || [ -z "$kind" ]; then
        printf '$ nova-mig %s\n\n' "$*"
        nova_mig "$@" || rc=$?
    else
        printf '$ nova-mig %s\n\n' "$*"
        out=$(demo_state_dir)/demo-$kind.json
        nova_mig "$@" -f json > "$out" || rc=$?
        # Exit status 3 (refused) still prints its plan: sum it up too.
        if [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]; then
            "$VENV/bin/python" tools/demo_summary.py "$kind" < "$out"
        fi
    fi
    if [ "$rc" -eq 3 ]; then
        printf '(exit status 3: refused, as said above)\n'
    elif [ "$rc" -ne 0 ]; then
        printf '(exit status %d)\n' "$rc"
    fi
}

# "openstack mig profile list" against the embedded Placement, served for
# the time of the command from the database the steps before left.
function demo_osc_profiles {
    local url=""
    local pid
    local fifo
    local discovered
    demo_title "$1"
    discovered=$(demo_state_dir)/demo-discover.json
    if [ "$DEMO_VERBOSE" = True ]; then
        nova_mig discover -f json > "$discovered"
    fi
    "$VENV/bin/python" tools/demo_summary.py profiles "$discovered" | \
        fold -s -w 79
    printf '$ openstack mig profile list\n\n'
    if [ ! -x "$VENV/bin/openstack" ]; then
        echo "(python-openstackclient is not installed: skipped)"
        return 0
    fi
    fifo=$(mktemp -u)
    mkfifo "$fifo"
    "$VENV/bin/python" -m nova_mig.simulator.embedded_placement \
        --state-dir "$(demo_state_dir)" > "$fifo" &
    pid=$!
    read -r url < "$fifo" || true
    rm -f "$fifo"
    if [ -n "$url" ]; then
        env -u OS_CLOUD OS_AUTH_TYPE=admin_token OS_TOKEN=admin \
            OS_ENDPOINT="$url" OS_PLACEMENT_ENDPOINT_OVERRIDE="$url" \
            "$VENV/bin/openstack" mig profile list || \
            echo "(openstack mig profile list failed)"
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# What the demo writes, and where: nothing outside the repository.
#   demo_writes STATE_DIR HOW_STEPS_PRINT
function demo_writes {
    demo_why "The demo runs on a simulated host ($DEMO_HOST) and an" \
        "embedded Placement and needs no root. It writes only inside" \
        "this repository: $1/ (the simulated host's state and the" \
        "Placement database; rm -rf .nova-mig-state resets it) and" \
        ".nova-mig-state/cache (the parsed GPU catalog: XDG_CACHE_HOME" \
        "points there), besides .venv. Each step says why it shows what" \
        "it shows; ${*:2}"
}

# The whole flow on the simulated host and the embedded Placement.
function run_demo_flow {
    local layout
    layout=$(layout_for_host "$DEMO_HOST")
    demo_writes "$(demo_state_dir)" "it sums up its command's result, and" \
        "--verbose prints the commands' whole output instead."
    demo_step "1/5 Discover the host: GPUs, MIG geometry, VFs, vGPUs, guests" \
        "What nova-mig reads on a compute host: GPUs and MIG geometry
        through NVML, VFs and vGPU types from sysfs, guests from libvirt;
        here all simulated from etc/nova-mig/hosts/$DEMO_HOST.yaml." \
        discover discover
    if [ -n "$layout" ]; then
        demo_step "2/5 Plan a declared layout (nothing is changed)" \
            "A layout file declares the MIG geometry and vGPU devices
            wanted; the plan is the difference from the host, in the
            order 'layout apply' would run it. $layout fits this host." \
            plan layout plan "$layout"
    else
        demo_title "2/5 Plan a declared layout: no example layout fits" \
            "$DEMO_HOST"
        demo_why "No file of etc/nova-mig/layouts/ names this host in its
            '# fits:' line, so there is nothing to plan."
    fi
    demo_step "3/5 Generate nova-compute's configuration (dry run)" \
        "Nova must be told which vGPU types to offer on which devices
        ([devices], [mdev_*] or [pci]); the provider config puts the MIG
        profile and GPU model traits on the GPU resource providers. Dry
        run: the difference from the files on disk, nothing written." \
        nova-config nova-config --dry-run
    demo_step "4/5 Sync classes and traits into the embedded Placement" \
        "Flavors ask Placement for a MIG resource class and traits; sync
        creates them and puts the traits on this host's GPU providers in
        the embedded Placement (the real Placement service, in-process,
        seeded with the providers and allocations Nova would make)." \
        sync sync
    demo_osc_profiles \
        "5/5 The MIG profiles the cloud offers, as an admin sees them"
}

# The story of Mirantis' article: after a vGPU type change, the devices of
# the old type block the new one until the reaper removes them.
function run_demo_orphans {
    local state=.nova-mig-state/orphans
    local t0
    rm -rf "$state"
    mkdir -p "$state/nova" "$state/proc"
    DEMO_CONF_ARGS=(--config-file "$DEMO_CONF"
                    --config-file etc/nova-mig/demo-orphans.conf)
    DEMO_HOST=t4-orphans
    demo_writes "$state" "the commands' output is shown whole."
    demo_step "1/9 Two Tesla T4: GPU 0 has a T4-8C nobody uses" \
        "A T4 has no MIG: its vGPUs are time-sliced, one type per GPU, and
        the slice map has nothing to draw. The T4-8C device on GPU 0 was
        left by Nova before nova-mig came." \
        "" discover
    t0=$(date +%s)
    demo_step "2/9 The old type: nova-mig gives GPU 0 T4-8C devices" \
        "The operator's first choice of type, applied from a layout file;
        nova-mig records the devices it creates as its own." \
        "" layout apply etc/nova-mig/layouts/t4-8c.yaml
    demo_title "3/9 The operator switches Nova to T4-4C (nvidia-234) only"
    demo_why "Editing nova.conf by hand, as in the article; nova-mig reads
        it to know which types Nova still offers."
    printf '$ cat %s\n' "$state/nova/nova.conf"
    printf '[devices]\nenabled_mdev_types = nvidia-234\n' | \
        tee "$state/nova/nova.conf"
    demo_step "4/9 Creating T4-4C on GPU 0 fails: the T4-8C devices block it" \
        "A time-sliced GPU takes one vGPU type at a time, so the plan is
        refused while T4-8C devices exist." \
        "" layout plan etc/nova-mig/layouts/t4-4c.yaml
    demo_step "5/9 Which devices are orphans? keep or remove, and why" \
        "Each check of the reaper, per device: no guest, no open handle,
        no in-flight allocation, type no longer enabled, owner, age." \
        "" reap
    demo_title "6/9 Drain the host: disable its nova-compute service"
    demo_why "On a real cloud: openstack compute service set --disable
        compute-t4-1 nova-compute. The demo has no Compute API: it records
        the service disabled in its embedded cloud with the simulator
        command below instead, and the reaper reads that record as it
        would read Nova's."
    printf '$ python -m nova_mig.simulator.cloud service-disable\n'
    "$VENV/bin/python" -m nova_mig.simulator.cloud "${DEMO_CONF_ARGS[@]}" \
        service-disable
    while [ $(($(date +%s) - t0)) -le 5 ]; do
        sleep 1
    done
    demo_step "7/9 The grace period ([reaper]grace_period = 5 s) has passed" \
        "Now every check passes for nova-mig's own T4-8C devices." \
        "" reap --apply
    demo_step "8/9 The T4-8C Nova left before nova-mig: removed explicitly" \
        "A device nova-mig did not create is removed only when asked." \
        "" reap --apply --include-foreign
    demo_step "9/9 Now the new type can be created" \
        "Nothing of the old type is left on GPU 0." \
        "" layout apply etc/nova-mig/layouts/t4-4c.yaml
}

function demo_hints {
    cat <<EOF

What next:
  tools/quickstart.sh demo discover -f json   one command, with its arguments
  tools/quickstart.sh demo --host h100-sxm5-8x [--verbose]
      the same flow on another example host (etc/nova-mig/hosts/NAME.yaml)
  tools/quickstart.sh demo --scenario orphans
      orphan vGPU devices after a type change, and the reaper
  tools/quickstart.sh demo help               every nova-mig command
  tools/quickstart.sh test                    run the test suite
EOF
}

function run_demo {
    local scenario=flow
    # The simulator's parsed GPU catalog is cached here, not in ~/.cache.
    export XDG_CACHE_HOME=$TOP_DIR/.nova-mig-state/cache
    while [ $# -gt 0 ]; do
        case $1 in
            --verbose)
                DEMO_VERBOSE=True
                shift
                ;;
            --host)
                [ $# -ge 2 ] || die "--host needs a host name"
                use_demo_host "$2"
                shift 2
                ;;
            --scenario)
                [ "${2:-}" = orphans ] || die "--scenario: only orphans"
                scenario=$2
                shift 2
                ;;
            *)
                break
                ;;
        esac
    done
    if [ ${#DEMO_CONF_ARGS[@]} -eq 0 ]; then
        use_demo_host "$DEMO_HOST"
    fi
    if [ "$scenario" = orphans ]; then
        run_demo_orphans
    elif [ $# -eq 0 ]; then
        run_demo_flow
    else
        nova_mig "$@"
        return
    fi
    demo_hints
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
    # Bounds: a test that hangs fails with its traceback after
    # OS_TEST_TIMEOUT seconds (the slowest takes about 2 minutes on 2
    # busy cores); a test process still alive after
    # NOVA_MIG_TEST_WORKER_LIMIT seconds writes every thread's traceback
    # and ends (tests/__init__.py), so a run that hangs between tests
    # still ends, naming where, well within CI's 90 minutes.
    export OS_TEST_TIMEOUT=${OS_TEST_TIMEOUT:-600}
    export NOVA_MIG_TEST_WORKER_LIMIT=${NOVA_MIG_TEST_WORKER_LIMIT:-3600}
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
    log "gate: mypy --strict over nova_mig/"
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
            prepare "" demo
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
