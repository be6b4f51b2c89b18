# SPDX-License-Identifier: Apache-2.0

"""Options of the [nova] group: the Nova configuration nova-mig generates."""

from oslo_config import cfg

from nova_mig.conf import utils

nova_group = cfg.OptGroup(
    'nova',
    title='Generated Nova configuration',
    help='Where "nova-mig nova-config" writes the configuration it '
         'generates for nova-compute on this host, and the choices it '
         'cannot read from the host.')

nova_opts = [
    cfg.StrOpt(
        'config_snippet',
        default='/etc/nova/nova.conf.d/50-nova-mig.conf',
        help='The nova.conf snippet nova-mig writes: [devices] and '
             '[mdev_<type>] groups in mdev mode, [pci] device_spec and '
             'alias in vendor-specific VFIO mode. nova-compute reads it '
             'when started with "--config-dir" naming its directory. '
             'nova-mig owns the whole file and rewrites it; do not edit it '
             'by hand, and do not set the same options in another file of '
             'that directory or in nova.conf.'),
    cfg.StrOpt(
        'provider_config_file',
        default='/etc/nova/provider_config/nova-mig.yaml',
        help='The Nova provider config file nova-mig writes to add the '
             'MIG profile, GPU model, compute capability and device mode '
             'traits to the GPU resource providers. It must lie in the '
             'directory named by nova-compute\'s '
             '[compute]provider_config_location (default '
             '/etc/nova/provider_config/) and end in ".yaml".'),
    cfg.StrOpt(
        'hypervisor_hostname',
        help='The compute node name nova-compute reports for this host, '
             'the prefix of its GPU resource providers\' names '
             '("<hostname>_pci_0000_41_00_4"). Unset, the host name nova-mig '
             'discovers is used. Set it when "openstack hypervisor list" '
             'shows a different name (a short name instead of the FQDN).'),
    cfg.ListOpt(
        'time_sliced_type',
        default=[],
        help='vGPU type names (such as A100D-20C or T4-16Q, without the '
             '"NVIDIA " prefix) offered on GPUs with MIG disabled that do '
             'not carry a vGPU yet; for each such GPU the first name it '
             'supports is used. A GPU already carrying vGPUs keeps their '
             'type. Unset, GPUs with MIG disabled and no vGPU are left out '
             'of the generated configuration, with a warning.'),
    cfg.StrOpt(
        'release',
        help='The Nova release nova-compute runs on this host, as a series '
             '("2025.1"), a name ("epoxy") or a major version ("31"). Used '
             'only when the nova package is not installed where nova-mig '
             'runs (nova-compute in a container, for instance); otherwise '
             'the installed package\'s version decides. "nova-mig '
             'nova-config" leaves out options this release lacks and '
             'refuses a configuration that cannot work without them. '
             'Unset with no nova package, nova-mig assumes the oldest '
             'supported release, 2024.1.'),
    cfg.BoolOpt(
        'live_migratable',
        default=False,
        help='Offer this host\'s vGPUs for live migration. In both modes '
             'the snippet gets the [libvirt] settings Nova\'s vGPU guide '
             'asks for (live_migration_downtime = 500000, '
             'live_migration_downtime_steps = 3, '
             'live_migration_downtime_delay = 3, '
             'live_migration_permit_post_copy = False; Nova 2024.1 or '
             'later, left out with a warning before), overriding nova.conf. '
             'In vendor-specific VFIO mode every [pci]device_spec and alias '
             'nova-mig writes also carries "live_migratable": "yes" (Nova '
             '2025.1, 31.0.0, or later, see [nova]release; an older release '
             'is refused). Nova tags their providers HW_PCI_LIVE_MIGRATABLE '
             'only from 2026.2 (34.0.0), which "openstack mig flavor create '
             '--live-migratable" requires; before that, flavors ask through '
             'the live-migratable alias (pci_passthrough:alias). In mdev '
             'mode Nova live-migrates vGPUs since 2024.1 when the target '
             'offers the same vGPU type, which nova-mig\'s resource class '
             'and GPU model trait pin.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, nova_group, nova_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {nova_group: nova_opts}
