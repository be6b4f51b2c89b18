# SPDX-License-Identifier: Apache-2.0

"""The naming scheme linking MIG profiles, Placement names and flavors.

Every resource class and trait is built from a template of the ``[naming]``
group and normalised with ``os_resource_classes.normalize_name`` or
``os_traits.normalize_name``, so it always matches ``^CUSTOM_[A-Z0-9_]+$``.
A :class:`Scheme` is built once, from a ``ConfigOpts``
(:meth:`Scheme.from_conf`) or from the defaults, and names both ways:
profile to resource class, trait and flavor, and back.
"""

import collections.abc
import dataclasses
import re
import typing

import os_resource_classes
import os_traits
from oslo_config import cfg

import nova_mig.conf.naming
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import vgpu_types

#: Default flavor name template: ``mig.1g.10gb``.
FLAVOR_TEMPLATE = 'mig.{profile}'
#: Extra spec marking a flavor nova-mig created (and may therefore change).
MANAGED_KEY = 'nova_mig:managed'
MANAGED_VALUE = 'true'

#: MIG profile suffix -> the token naming it, as NVIDIA's vGPU type names
#: spell it: ``+me`` -> ``ME``, ``-me`` -> ``NOME``, ``+me.all`` -> ``MEALL``.
#: Plain normalisation would make ``+me`` and ``-me`` the same name.
PROFILE_SUFFIX_TOKENS = {profile_suffix: type_suffix for type_suffix,
                         profile_suffix in constants.MIG_SUFFIXES.items()
                         if type_suffix}
#: ``NOME`` -> ``-me``: name token -> profile suffix.
_SUFFIX_OF_TOKEN = {token: suffix for suffix, token
                    in PROFILE_SUFFIX_TOKENS.items()}
#: A profile once normalised into a name: ``1G_10GB_NOME``.
_TOKEN_RE = re.compile(
    r'^(?P<slices>[1-9])G_(?P<gb>[1-9][0-9]*)GB(?:_(?P<suffix>[A-Z_]+))?$')
_PLACEHOLDER = 'QQNOVAMIGQQ'
#: Extra spec keys of a flavor asking for resources or traits, in any
#: request group: ``resources:<rc>``, ``resources1:<rc>``,
#: ``trait_gpu:<trait>``.
RESOURCES_KEY_RE = re.compile(
    r'^resources(\d*|_[a-zA-Z0-9_-]+):(?P<rc>.+)$')
TRAIT_KEY_RE = re.compile(r'^trait(\d*|_[a-zA-Z0-9_-]+):(?P<trait>.+)$')


def naming_defaults() -> dict[str, str]:
    """The defaults of the ``[naming]`` options, by option name."""
    return {opt.name: opt.default for opt in nova_mig.conf.naming.naming_opts}


_DEFAULTS = naming_defaults()


def profile_token(profile: str) -> str:
    """``1g.10gb_NOME`` for ``1g.10gb-me``: a profile as a name part.

    A profile without suffix, or not a profile, is returned as it is.
    """
    match = constants.PROFILE_RE.match(profile)
    if not match or not match['suffix']:
        return profile
    return '%sg.%sgb_%s' % (match['slices'], match['gb'],
                            PROFILE_SUFFIX_TOKENS[match['suffix']])


def is_managed(specs: collections.abc.Mapping[str, str] | None) -> bool:
    """True when the extra specs carry nova-mig's ownership mark."""
    return (specs or {}).get(MANAGED_KEY) == MANAGED_VALUE


class _Fields(dict[str, str]):
    """Every format field reads as the placeholder."""

    def __missing__(self, key: str) -> str:
        return _PLACEHOLDER


def _split(template: str) -> tuple[str, str]:
    """Normalised name parts before and after the first format field."""
    full = os_traits.normalize_name(template.format_map(_Fields()))
    before, sep, after = full.partition(_PLACEHOLDER)
    if not sep:
        raise ValueError(template)
    return before, after


def template_prefix(template: str) -> str:
    """``CUSTOM_GPU_`` for ``GPU_{model}``: what every name starts with."""
    try:
        return _split(template)[0]
    except (IndexError, ValueError):
        return typing.cast(str, os_traits.normalize_name(template))


def _rc(template: str, **values: object) -> str:
    return typing.cast(str, os_resource_classes.normalize_name(
        template.format(**values)))


def _trait(template: str, **values: object) -> str:
    return typing.cast(str, os_traits.normalize_name(
        template.format(**values)))


@dataclasses.dataclass(frozen=True)
class Scheme:
    """How profiles map to resource classes, traits and flavor names.

    The templates are those of the ``[naming]`` group (see
    :mod:`nova_mig.conf.naming`); :meth:`from_conf` reads them.

    :param vgpu_class: the deployment keeps Nova's ``VGPU`` resource class
        and tells profiles apart by trait only.
    """

    rc_template: str = _DEFAULTS['mig_resource_class']
    time_sliced_template: str = _DEFAULTS['time_sliced_resource_class']
    trait_template: str = _DEFAULTS['profile_trait']
    model_template: str = _DEFAULTS['model_trait']
    capability_template: str = _DEFAULTS['compute_capability_trait']
    mode_template: str = _DEFAULTS['device_mode_trait']
    flavor_template: str = FLAVOR_TEMPLATE
    vgpu_class: bool = False

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, **kwargs: typing.Any
                  ) -> 'Scheme':
        """The scheme of a nova-mig ``ConfigOpts`` (its ``[naming]``).

        :param kwargs: the fields ``[naming]`` has no option for
            (``flavor_template``, ``vgpu_class``).
        """
        group = conf.naming
        return cls(rc_template=group.mig_resource_class,
                   time_sliced_template=group.time_sliced_resource_class,
                   trait_template=group.profile_trait,
                   model_template=group.model_trait,
                   capability_template=group.compute_capability_trait,
                   mode_template=group.device_mode_trait, **kwargs)

    # -- forward --------------------------------------------------------------
    def resource_class(self, profile: str) -> str:
        """``CUSTOM_MIG_1G_10GB`` for ``1g.10gb`` by default."""
        return _rc(self.rc_template, profile=profile_token(profile))

    def time_sliced_resource_class(self, type_name: str) -> str:
        """``CUSTOM_VGPU_A100D_20C`` for ``NVIDIA A100D-20C`` by default."""
        return _rc(self.time_sliced_template,
                   type_name=vgpu_types.bare_name(type_name))

    def resource_class_for_type(self, type_name: str,
                                gpu: gpu_records.Gpu | None = None) -> str:
        """The resource class of one vGPU of a type, MIG-backed or not.

        :param gpu: the GPU carrying it, whose driver knows the type's
            profile; without it the type's name decides.
        """
        profile = vgpu_types.backing(type_name, gpu).profile
        if profile:
            return self.resource_class(profile)
        return self.time_sliced_resource_class(type_name)

    def profile_trait(self, profile: str) -> str:
        """``CUSTOM_MIG_1G_10GB_ME`` for ``1g.10gb+me`` by default."""
        return _trait(self.trait_template, profile=profile_token(profile))

    def model_trait(self, model: str) -> str:
        """``CUSTOM_GPU_NVIDIA_A100_80GB_PCIE`` for the NVML model name."""
        return _trait(self.model_template, model=model)

    def compute_capability_trait(self, major: int, minor: int) -> str:
        """The standard trait when os-traits has one, else a custom one."""
        standard = 'HW_GPU_CUDA_COMPUTE_CAPABILITY_V%d_%d' % (major, minor)
        if standard in os_traits.get_traits('HW_GPU_CUDA_COMPUTE_CAPABILITY'):
            return standard
        return _trait(self.capability_template, major=major, minor=minor)

    def device_mode_trait(self, mode: str) -> str:
        """``CUSTOM_VGPU_MODE_MDEV`` for ``mdev`` by default."""
        return _trait(self.mode_template, mode=mode)

    def flavor_name(self, profile: str) -> str:
        """``mig.1g.10gb`` for ``1g.10gb`` by default."""
        return self.flavor_template.format(profile=profile)

    def extra_specs(self, profile: str,
                    traits: tuple[str, ...] = ()) -> dict[str, str]:
        """The extra specs asking for one vGPU of ``profile``.

        :param traits: further required traits (the GPU model).
        """
        if self.vgpu_class:
            specs = {'resources:%s' % constants.VGPU: '1',
                     'trait:%s' % self.profile_trait(profile): 'required'}
        else:
            specs = {'resources:%s' % self.resource_class(profile): '1'}
        for trait in traits:
            specs['trait:%s' % trait] = 'required'
        specs[MANAGED_KEY] = MANAGED_VALUE
        return specs

    # -- prefixes -------------------------------------------------------------
    def model_trait_prefix(self) -> str:
        """What every GPU model trait starts with: ``CUSTOM_GPU_``."""
        return template_prefix(self.model_template)

    def capability_trait_prefix(self) -> str:
        return template_prefix(self.capability_template)

    def mode_trait_prefix(self) -> str:
        return template_prefix(self.mode_template)

    # -- reverse --------------------------------------------------------------
    def profile_of_class(self, name: str) -> str | None:
        """``1g.10gb`` for ``CUSTOM_MIG_1G_10GB``; None if not a MIG class."""
        return self._reverse(name, self.rc_template, self.resource_class)

    def profile_of_trait(self, name: str) -> str | None:
        """``1g.10gb`` for ``CUSTOM_MIG_1G_10GB``; None if not a profile's."""
        return self._reverse(name, self.trait_template, self.profile_trait)

    def profile_of_specs(self, specs: collections.abc.Mapping[str, str]
                         | None) -> str | None:
        """The MIG profile a flavor's extra specs ask for, if any.

        Both forms count, whatever :attr:`vgpu_class` says: a MIG resource
        class, or ``VGPU`` with a required profile trait.
        """
        specs = specs or {}
        classes = [m['rc'] for m in map(RESOURCES_KEY_RE.match, specs) if m]
        for rc in classes:
            profile = self.profile_of_class(rc)
            if profile:
                return profile
        if constants.VGPU in classes:
            for key, value in specs.items():
                match = TRAIT_KEY_RE.match(key)
                if match and value == 'required':
                    profile = self.profile_of_trait(match['trait'])
                    if profile:
                        return profile
        return None

    @staticmethod
    def _reverse(name: str, template: str,
                 forward: collections.abc.Callable[[str], str]
                 ) -> str | None:
        try:
            before, after = _split(template)
        except (IndexError, ValueError):
            return None
        if not (name.startswith(before) and name.endswith(after)):
            return None
        middle = name[len(before):len(name) - len(after)]
        match = _TOKEN_RE.match(middle)
        if not match:
            return None
        suffix = ''
        if match['suffix']:
            found = _SUFFIX_OF_TOKEN.get(match['suffix'])
            if found is None:
                return None
            suffix = found
        profile = '%sg.%sgb%s' % (match['slices'], match['gb'], suffix)
        return profile if forward(profile) == name else None
