# SPDX-License-Identifier: Apache-2.0

"""Options of the [nova_mig_privsep] group: how the privsep daemons start.

nova-mig itself only needs ``helper_command``, registered here on
nova-mig's own options without importing oslo.privsep (and eventlet) on
every command. Each daemon (sysfs, nvml, files, proc) reads oslo.privsep's
options of its context (``capabilities``, ``user``, ``group``,
``thread_pool_size``) from ``[nova_mig_privsep_<context>]`` of the
configuration files nova-mig passes to it.
"""

from oslo_config import cfg

from nova_mig.conf import utils

privsep_group = cfg.OptGroup(
    'nova_mig_privsep',
    title='Privileged helper',
    help='How nova-mig starts oslo.privsep\'s daemon, which does its '
         'root-only work (sysfs writes, MIG changes through NVML).')

privsep_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        'helper_command',
        help='Command starting the privsep daemons, without their '
             '--privsep_context and --privsep_sock_path arguments (nova-mig '
             'appends them; the socket is <[host]state_dir>/privsep/'
             '<context>.sock). Unset, nova-mig runs the privsep-helper '
             'installed next to its own Python (a virtual environment\'s '
             'bin/, else the first on PATH) with the --config-file and '
             '--config-dir options nova-mig was given: directly when '
             'nova-mig runs as root, else through "sudo -n", which needs '
             'the rule "nova-mig install-sudoers" writes. In a kolla-style '
             'container whose sudo allows only rootwrap, set it to "sudo '
             'nova-rootwrap /etc/nova/rootwrap.conf privsep-helper '
             '--config-file /etc/nova-mig/nova-mig.conf" with '
             'etc/nova-mig/rootwrap.d/nova-mig.filters installed.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, privsep_group, privsep_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {privsep_group: privsep_opts}
