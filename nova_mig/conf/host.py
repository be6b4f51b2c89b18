# SPDX-License-Identifier: Apache-2.0

"""Options of the [host] group: where nova-mig reads and keeps host state."""

from oslo_config import cfg

from nova_mig.conf import utils

host_group = cfg.OptGroup(
    'host',
    title='Compute host options',
    help='Where nova-mig finds the host kernel interfaces and keeps its own '
         'state.')

host_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        'sysfs_root',
        default='/sys',
        help='Root of the sysfs tree read for PCI, SR-IOV, mdev and '
             'vendor-specific VFIO devices. Change it only to inspect a '
             'copied or generated tree. When [gpu]backend is "simulated" the '
             'simulator supplies its own tree and this option is ignored.'),
    cfg.StrOpt(
        'state_dir',
        default='/var/lib/nova-mig',
        help='Directory holding nova-mig\'s records: the layout checkpoint '
             'restored at boot, the ownership record of vGPU devices it '
             'created, the reaper journal and the simulator\'s working '
             'files. It must survive reboots and be writable by the user '
             'running nova-mig.'),
    cfg.StrOpt(
        'sriov_manage',
        default='/usr/lib/nvidia/sriov-manage',
        help='NVIDIA\'s sriov-manage, which enables ("-e <PF>": all of the '
             'PF\'s VFs) and disables ("-d <PF>") SR-IOV VFs in '
             'vendor-specific VFIO mode; the nvidia-bound PF refuses a raw '
             'sriov_numvfs write there. Where the file exists, "nova-mig '
             'layout apply|restore" uses it for a vendor-VFIO GPU\'s VFs '
             '(0 or all of them); otherwise, or for another count, it '
             'writes sriov_numvfs, and a refusal stops that GPU with one '
             'line naming this option. It must be an absolute path to a '
             'file named sriov-manage, owned by root and writable by root '
             'only (checked before it runs as root).'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, host_group, host_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {host_group: host_opts}
