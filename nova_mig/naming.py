"""Names of the custom resource classes and traits nova-mig uses.

Every name is built from a template of the ``[naming]`` group and normalised
with ``os_resource_classes.normalize_name`` or ``os_traits.normalize_name``,
so it always matches ``^CUSTOM_[A-Z0-9_]+$``.
"""

import re

import os_resource_classes
import os_traits

from nova_mig.model import vgpu_types


#: MIG profile suffix -> the token naming it, as NVIDIA's vGPU type names
#: spell it: ``+me`` -> ``ME``, ``-me`` -> ``NOME``, ``+me.all`` -> ``MEALL``.
#: Plain normalisation would make ``+me`` and ``-me`` the same name.
PROFILE_SUFFIX_TOKENS = {profile_suffix: type_suffix for type_suffix,
                         profile_suffix in vgpu_types.MIG_SUFFIXES.items()
                         if type_suffix}
_PROFILE_RE = re.compile(r'^(?P<base>[1-9]g\.[0-9]+gb)(?P<suffix>[-+].*)?$')


def _fill(template: str, **values) -> str:
    return template.format(**values)


def profile_token(profile: str) -> str:
    """``1G_10GB_NOME`` for ``1g.10gb-me``: a profile as a name part."""
    match = _PROFILE_RE.match(profile)
    if not match or not match['suffix']:
        return profile
    token = PROFILE_SUFFIX_TOKENS.get(match['suffix'])
    if token is None:
        return profile
    return '%s_%s' % (match['base'], token)


def mig_resource_class(conf, profile: str) -> str:
    """``CUSTOM_MIG_1G_10GB`` for ``1g.10gb`` with the default template."""
    return os_resource_classes.normalize_name(
        _fill(conf.naming.mig_resource_class,
              profile=profile_token(profile)))


def time_sliced_resource_class(conf, type_name: str) -> str:
    """``CUSTOM_VGPU_A100D_20C`` for ``NVIDIA A100D-20C`` by default."""
    return os_resource_classes.normalize_name(
        _fill(conf.naming.time_sliced_resource_class,
              type_name=vgpu_types.bare_name(type_name)))


def resource_class_for_type(conf, type_name: str) -> str:
    """The resource class of one vGPU of a type, MIG-backed or not."""
    profile = vgpu_types.profile_for(type_name)
    if profile:
        return mig_resource_class(conf, profile)
    return time_sliced_resource_class(conf, type_name)


def profile_trait(conf, profile: str) -> str:
    return os_traits.normalize_name(
        _fill(conf.naming.profile_trait, profile=profile_token(profile)))


def model_trait(conf, model: str) -> str:
    return os_traits.normalize_name(_fill(conf.naming.model_trait,
                                          model=model))


def compute_capability_trait(conf, major: int, minor: int) -> str:
    """The standard trait when os-traits has one, else a custom one."""
    standard = 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V%d_%d' % (major, minor)
    if standard in os_traits.get_traits('HW_GPU_CUDA_COMPUTE_CAPABILITY'):
        return standard
    return os_traits.normalize_name(
        _fill(conf.naming.compute_capability_trait, major=major,
              minor=minor))


def device_mode_trait(conf, mode: str) -> str:
    return os_traits.normalize_name(_fill(conf.naming.device_mode_trait,
                                          mode=mode))
