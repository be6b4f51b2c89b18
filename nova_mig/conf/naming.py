# SPDX-License-Identifier: Apache-2.0

"""Options of the [naming] group: resource class and trait names."""

from oslo_config import cfg

from nova_mig.conf import utils

naming_group = cfg.OptGroup(
    'naming',
    title='Resource class and trait naming',
    help='How nova-mig names the custom resource classes and traits it '
         'registers in Placement and writes into Nova\'s configuration. '
         'Each template is a Python format string; the result is '
         'normalised with os_resource_classes / os_traits normalize_name(), '
         'so it always reads CUSTOM_<UPPER_CASE>. Changing a template on a '
         'running cloud creates new names: flavors using the old ones must '
         'be updated.')

naming_opts = [
    cfg.StrOpt(
        'mig_resource_class',
        default='MIG_{profile}',
        help='Resource class of one vGPU backed by a MIG profile. '
             '{profile} is the MIG profile as NVIDIA names it ("1g.10gb", '
             '"1g.10gb+me"); the default gives CUSTOM_MIG_1G_10GB and '
             'CUSTOM_MIG_1G_10GB_ME.'),
    cfg.StrOpt(
        'time_sliced_resource_class',
        default='VGPU_{type_name}',
        help='Resource class of one time-sliced (not MIG-backed) vGPU. '
             '{type_name} is the vGPU type name without vendor prefix '
             '("A100D-20C"); the default gives CUSTOM_VGPU_A100D_20C.'),
    cfg.StrOpt(
        'profile_trait',
        default='MIG_{profile}',
        help='Trait naming the MIG profile of a GPU resource provider.'),
    cfg.StrOpt(
        'model_trait',
        default='GPU_{model}',
        help='Trait naming the GPU model of a GPU resource provider. '
             '{model} is the name NVML reports ("NVIDIA A100 80GB PCIe").'),
    cfg.StrOpt(
        'compute_capability_trait',
        default='CUDA_COMPUTE_CAPABILITY_V{major}_{minor}',
        help='Custom trait for the CUDA compute capability, used only when '
             'os-traits has no standard HW_GPU_CUDA_COMPUTE_CAPABILITY_* '
             'trait for it (the standard list stops before Ampere).'),
    cfg.StrOpt(
        'device_mode_trait',
        default='VGPU_MODE_{mode}',
        help='Trait naming how vGPUs are exposed: {mode} is "mdev" or '
             '"vendor-vfio".'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    utils.register_group(conf, naming_group, naming_opts)


def list_opts() -> dict[cfg.OptGroup, list[cfg.StrOpt]]:
    return {naming_group: naming_opts}
