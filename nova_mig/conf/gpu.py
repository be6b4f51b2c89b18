# SPDX-License-Identifier: Apache-2.0

"""Options of the [gpu] group."""

from oslo_config import cfg

from nova_mig.conf import utils

gpu_group = cfg.OptGroup(
    'gpu',
    title='GPU backend options',
    help='Which backend nova-mig uses to talk to the GPUs.')

gpu_opts: list[cfg.Opt] = [
    cfg.StrOpt(
        'backend',
        default='nvml',
        help='GPU backend, a plugin of the "nova_mig.gpu_backends" entry '
             'point namespace. "nvml" drives real NVIDIA GPUs through the '
             'NVIDIA Management Library; "simulated" drives the simulated '
             'host described by [simulator]host_file, for demonstrations and '
             'tests.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, gpu_group, gpu_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {gpu_group: gpu_opts}
