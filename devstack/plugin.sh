#!/bin/bash
#
# devstack/plugin.sh: the nova-mig devstack plugin's phases.

NOVA_MIG_PLUGIN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$NOVA_MIG_PLUGIN_DIR/lib/nova-mig"

if is_service_enabled nova-mig; then
    case $1 in
        stack)
            case $2 in
                install)
                    echo_summary "Installing nova-mig"
                    install_nova_mig
                    ;;
                post-config)
                    echo_summary "Configuring nova-mig"
                    configure_nova_mig
                    init_nova_mig
                    ;;
                extra)
                    echo_summary "Registering nova-mig's traits and flavors"
                    start_nova_mig
                    ;;
            esac
            ;;
        unstack)
            stop_nova_mig
            ;;
        clean)
            cleanup_nova_mig
            ;;
    esac
fi
