# SPDX-License-Identifier: Apache-2.0

"""Options of the [retype] group: the safe vGPU type change workflow."""

from oslo_config import cfg

from nova_mig.conf import utils

retype_group = cfg.OptGroup(
    'retype',
    title='vGPU type change workflow',
    help='How "nova-mig retype" restarts nova-compute and waits for '
         'Placement while it changes the vGPU types of this host.')

retype_opts = [
    cfg.BoolOpt(
        'allow_restart',
        default=True,
        help='Let "nova-mig retype" restart nova-compute with '
             '[retype]restart_command. Set it to False where another tool '
             'owns the service (containers, configuration management): '
             'retype then prints the exact command, stops, and is resumed '
             'with "nova-mig retype --resume" once the service restarted.'),
    cfg.ListOpt(
        'restart_command',
        default=['systemctl', 'restart', 'nova-compute'],
        help='Command (comma-separated arguments) that restarts '
             'nova-compute so that it reads the regenerated configuration, '
             'e.g. "docker,restart,nova_compute" on a Kolla host.'),
    cfg.IntOpt(
        'placement_timeout',
        default=300,
        min=1,
        help='Seconds to wait, after nova-compute restarted, for Placement '
             'to show the new vGPU inventory of this host. nova-compute '
             'reports it on start-up and then every '
             '[DEFAULT]update_resources_interval.'),
    cfg.FloatOpt(
        'poll_interval',
        default=5.0,
        min=0.0,
        help='Seconds between two reads of Placement while waiting for the '
             'new capacity.'),
    cfg.StrOpt(
        'disabled_reason',
        default='nova-mig retype: vGPU type change in progress',
        help='Reason recorded on the nova-compute service while retype '
             'keeps it disabled; "openstack compute service list --long" '
             'shows it.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, retype_group, retype_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {retype_group: retype_opts}
