#!/bin/bash
#
# Stand-ins for the devstack functions the nova-mig plugin calls. Each
# call is logged to $STUB_LOG; iniset really edits the file.

function _stub_log {
    echo "$*" >> "$STUB_LOG"
}

function trueorfalse {
    local default=$1
    local testval=${!2:-}
    [[ -z "$testval" ]] && { echo "$default"; return; }
    case $testval in
        1|yes|Yes|YES|true|True|TRUE|on|On|ON) echo "True" ;;
        0|no|No|NO|false|False|FALSE|off|Off|OFF) echo "False" ;;
        *) echo "$default" ;;
    esac
}

function iniset {
    _stub_log iniset "$@"
    "$PYTHON" "$STUB_DIR/ini.py" set "$@"
}

function iniset_multiline {
    _stub_log iniset_multiline "$@"
    "$PYTHON" "$STUB_DIR/ini.py" set "$@"
}

function is_service_enabled {
    local service
    for service in "$@"; do
        [[ ",$ENABLED_SERVICES," == *",$service,"* ]] && return 0
    done
    return 1
}

function enable_service {
    _stub_log enable_service "$@"
    ENABLED_SERVICES+=",$1"
}

function get_python_exec_prefix {
    echo "$STUB_BIN_DIR"
}

function setup_develop {
    _stub_log setup_develop "$@"
}

function pip_install {
    _stub_log pip_install "$@"
}

function echo_summary {
    echo "summary: $*"
}

function die {
    local line=$1
    shift
    echo "die at line $line: $*" >&2
    exit 1
}

function sudo {
    _stub_log sudo "$@"
    "$@"
}

function openstack {
    _stub_log openstack "$@"
}
