# SPDX-License-Identifier: Apache-2.0

"""Options of the [simulator] group."""

from oslo_config import cfg

from nova_mig.conf import utils

simulator_group = cfg.OptGroup(
    'simulator',
    title='Simulated host options',
    help='The simulated host stands in for the kernel and the GPUs when '
         '[gpu]backend is "simulated".')

simulator_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        'host_file',
        help='YAML file describing the simulated host (GPUs, SR-IOV VFs, '
             'MIG state, vGPU devices and libvirt domains). Example hosts '
             'ship in etc/nova-mig/hosts/. Required when [gpu]backend is '
             '"simulated".'),
    cfg.StrOpt(
        'work_dir',
        help='Directory where the simulator materialises the host: its sysfs '
             'tree, libvirt test-driver XML and live state. Defaults to '
             '"simulator" under [host]state_dir. The host is materialised '
             'again from [simulator]host_file whenever that file changes.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, simulator_group, simulator_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {simulator_group: simulator_opts}
