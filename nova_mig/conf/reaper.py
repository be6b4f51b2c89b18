# SPDX-License-Identifier: Apache-2.0

"""Options of the [reaper] group: when an orphan vGPU device may go."""

from oslo_config import cfg

from nova_mig.conf import utils

reaper_group = cfg.OptGroup(
    'reaper',
    title='Orphan vGPU device reaper',
    help='How "nova-mig reap" proves a vGPU device unused before it '
         'removes it, and where it looks for the evidence.')

reaper_opts = [
    cfg.IntOpt(
        'grace_period',
        default=600,
        min=0,
        help='Seconds a vGPU device must exist before the reaper may remove '
             'it. Nova creates a device a few seconds before it defines the '
             'guest that uses it; a younger device may be about to be '
             'claimed. The age is counted from the ownership record\'s '
             'creation time, else from the ctime of the device\'s sysfs '
             'directory. Raise it on hosts where instance builds are slow '
             '(large images); 0 disables the check.'),
    cfg.StrOpt(
        'proc_root',
        default='/proc',
        help='Root of the proc file system scanned for open '
             '/dev/vfio/<group> handles (the entries of /proc/<pid>/fd). '
             'Change it only '
             'in tests. Reading other users\' descriptors needs root: when '
             'some cannot be read, nothing is removed.'),
    cfg.StrOpt(
        'dev_root',
        default='/dev',
        help='Root of the device tree the open-handle check compares '
             'descriptor targets with (<dev_root>/vfio/<group> and '
             '<dev_root>/vfio/devices/vfio<N>). Change it only in tests.'),
    cfg.StrOpt(
        'mdevctl_root',
        default='/etc/mdevctl.d',
        help='Directory of mdevctl\'s persistent definitions '
             '(<root>/<parent>/<uuid>). When libvirt cannot undefine a '
             'removed mdev (libvirt older than 7.3, or no node device), '
             'the reaper deletes its definition file here so that neither '
             'mdevctl nor Nova creates it again at the next start.'),
    cfg.ListOpt(
        'nova_config_files',
        default=['/etc/nova/nova.conf'],
        help='Nova configuration files read, in order, to learn which vGPU '
             'types nova-compute offers ([devices]enabled_mdev_types, '
             '[mdev_<type>]device_addresses and, in vendor-specific VFIO '
             'mode, [pci]device_spec). The snippet nova-mig generates '
             '([nova]config_snippet) is always read last. A device whose '
             'type is still enabled on its parent is kept unless '
             '"--all-unassigned" is given. When none of the files can be '
             'read, no device is removed.'),
    cfg.StrOpt(
        'compute_service_host',
        help='The "host" of this host\'s nova-compute service in the '
             'Compute API ("openstack compute service list"), which is '
             'nova-compute\'s [DEFAULT]host. Unset, the discovered host '
             'name is used. "reap --apply" refuses to run while that '
             'service is enabled; "retype" disables and re-enables it.'),
    cfg.StrOpt(
        'compute_endpoint_override',
        help='Compute API endpoint to use instead of the one in the '
             'Keystone catalog. The Compute API is reached with the '
             'credentials of the [placement] group (the same service user '
             'nova-compute uses, which needs the admin role to read and '
             'change compute services).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, reaper_group, reaper_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {reaper_group: reaper_opts}
