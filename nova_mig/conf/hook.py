# SPDX-License-Identifier: Apache-2.0

"""Options of the [hook] group: nova-compute's pre-start and post-start."""

from oslo_config import cfg

from nova_mig.conf import utils

hook_group = cfg.OptGroup(
    'hook',
    title='nova-compute start hooks',
    help='What "nova-mig hook pre-start" (systemd ExecStartPre of '
         'nova-compute, or the container entry point before nova-compute) '
         'and "nova-mig hook post-start" (ExecStartPost) do, how long '
         'they may take and when they fail.')

hook_opts = [
    cfg.BoolOpt(
        'strict',
        default=False,
        help='Fail the pre-start hook (exit 1, so nova-compute does not '
             'start) when Placement or Keystone cannot be reached or '
             'refuses the credentials, or [placement] is not configured. '
             'By default such an outage is logged as a warning and '
             'nova-compute starts anyway: the Nova '
             'configuration is written before Placement is contacted, '
             'and "nova-mig hook post-start" or a later "nova-mig sync" '
             'adds the traits once Placement is back. A layout restore '
             'failure always fails the hook, strict or not. The command '
             'line option "--strict" sets it for one run.'),
    cfg.BoolOpt(
        'restore_layout',
        default=True,
        help='Re-create the layout checkpointed by the last "nova-mig '
             'layout apply" (SR-IOV VFs, MIG instances at their '
             'placements, vGPU devices with their UUIDs) before writing '
             'the Nova configuration. Turn it off only where another unit '
             '(nova-mig-restore.service) already restores the layout '
             'before nova-compute starts; restoring twice is harmless but '
             'slower.'),
    cfg.BoolOpt(
        'write_nova_config',
        default=True,
        help='Write the Nova configuration ([nova]config_snippet and '
             '[nova]provider_config_file) in the pre-start hook, as '
             '"nova-mig nova-config" does, so that nova-compute reads the '
             'vGPU types of the restored layout.'),
    cfg.FloatOpt(
        'placement_timeout',
        default=10.0,
        min=0.1,
        help='Seconds each Placement request of the hooks may take '
             '(connect and read) when [placement]timeout is unset. With '
             'the default two requests of the pre-start hook, an '
             'unreachable Placement delays nova-compute by at most a few '
             'times this value.'),
    cfg.FloatOpt(
        'provider_timeout',
        default=120.0,
        min=0,
        help='Seconds "nova-mig hook post-start" waits for nova-compute '
             'to create the compute node provider and every GPU resource '
             'provider of this host in Placement before it gives up with '
             'exit code 1. nova-compute creates them at its first update '
             'of available resources, usually within a minute of its '
             'start. Keep it below the TimeoutStartSec of '
             'nova-compute.service.'),
    cfg.FloatOpt(
        'provider_poll_interval',
        default=5.0,
        min=0.1,
        help='Seconds between two looks at Placement while "nova-mig hook '
             'post-start" waits for the GPU resource providers.'),
    cfg.ListOpt(
        'mdevctl_command',
        default=['mdevctl'],
        help='How to run mdevctl where libvirt runs, as a command and its '
             'first arguments (comma-separated). From Nova 2024.2 '
             'nova-compute defines every mdev it creates as a persistent '
             'libvirt node device, which libvirt does through mdevctl; '
             'without it creating a vGPU fails. In mdev mode, for Nova '
             '2024.2 or later, "nova-mig hook pre-start" runs this command '
             'with "--version" and reports a warning when it cannot. '
             'Default: mdevctl on the PATH (libvirt on the host). With '
             'libvirt in a container: docker,exec,nova_libvirt,mdevctl. '
             'Empty: no check.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, hook_group, hook_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {hook_group: hook_opts}
