# SPDX-License-Identifier: Apache-2.0

"""Options of the [libvirt] group."""

from oslo_config import cfg

from nova_mig.conf import utils

libvirt_group = cfg.OptGroup(
    'libvirt',
    title='libvirt options',
    help='How nova-mig reaches the libvirt daemon used by nova-compute.')

libvirt_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        'connection_uri',
        default='qemu:///system',
        help='libvirt URI used to list domains and node devices. Use the '
             'same value as nova-compute\'s [libvirt]connection_uri. A '
             '"test:///<absolute path>" URI reads a libvirt test-driver XML '
             'file. When [gpu]backend is "simulated" the simulator supplies '
             'its own URI and this option is ignored.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, libvirt_group, libvirt_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {libvirt_group: libvirt_opts}
