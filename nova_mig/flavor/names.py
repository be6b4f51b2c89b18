"""The naming scheme linking MIG profiles, Placement names and flavors."""

import dataclasses
import re
import types

import os_traits

from nova_mig.conf import naming as naming_conf
from nova_mig import naming

#: The resource class Nova's libvirt driver uses for vGPUs by default.
VGPU = 'VGPU'
#: Default flavor name template: ``mig.1g.10gb``.
FLAVOR_TEMPLATE = 'mig.{profile}'
#: Extra spec marking a flavor nova-mig created (and may therefore change).
MANAGED_KEY = 'nova_mig:managed'
MANAGED_VALUE = 'true'

_PROFILE_RE = re.compile(
    r'^(?P<slices>[1-9])g\.(?P<gb>[1-9][0-9]*)gb'
    r'(?P<suffix>\+me|\+me\.all|-me|\+gfx)?$')
_PLACEHOLDER = 'QQNOVAMIGQQ'
_NORM_PROFILE_RE = re.compile(
    r'^(?P<slices>[1-9])G_(?P<gb>[1-9][0-9]*)GB(?:_(?P<suffix>[A-Z_]+))?$')


#: ``NOME`` -> ``-me``: name token -> profile suffix (see
#: :data:`nova_mig.naming.PROFILE_SUFFIX_TOKENS`).
_SUFFIX_TOKENS = {token: suffix for suffix, token
                  in naming.PROFILE_SUFFIX_TOKENS.items()}


def is_profile(name: str) -> bool:
    """True for a MIG profile name such as ``1g.10gb`` or ``1g.10gb+me``."""
    return bool(_PROFILE_RE.match(name or ''))


def naming_defaults() -> dict[str, str]:
    """The defaults of the ``[naming]`` options, by option name."""
    return {opt.name: opt.default for opt in naming_conf.naming_opts}


@dataclasses.dataclass(frozen=True)
class Scheme:
    """How profiles map to resource classes, traits and flavor names.

    The templates are those of the ``[naming]`` group, so a deployment
    that changed them there passes the same values here.

    :param vgpu_class: the deployment keeps Nova's ``VGPU`` resource class
        and tells profiles apart by trait only.
    """

    rc_template: str = naming_defaults()['mig_resource_class']
    trait_template: str = naming_defaults()['profile_trait']
    model_template: str = naming_defaults()['model_trait']
    flavor_template: str = FLAVOR_TEMPLATE
    vgpu_class: bool = False

    @classmethod
    def from_conf(cls, conf, **kwargs) -> 'Scheme':
        """The scheme of a nova-mig ``ConfigOpts`` (its ``[naming]``)."""
        return cls(rc_template=conf.naming.mig_resource_class,
                   trait_template=conf.naming.profile_trait,
                   model_template=conf.naming.model_trait, **kwargs)

    @property
    def _conf(self):
        """What :mod:`nova_mig.naming` reads: ``conf.naming.<option>``."""
        return types.SimpleNamespace(naming=types.SimpleNamespace(
            mig_resource_class=self.rc_template,
            profile_trait=self.trait_template,
            model_trait=self.model_template))

    # -- forward --------------------------------------------------------------
    def resource_class(self, profile: str) -> str:
        """``CUSTOM_MIG_1G_10GB`` for ``1g.10gb`` by default."""
        return naming.mig_resource_class(self._conf, profile)

    def profile_trait(self, profile: str) -> str:
        return naming.profile_trait(self._conf, profile)

    def model_trait(self, model: str) -> str:
        """``CUSTOM_GPU_NVIDIA_A100_80GB_PCIE`` for the NVML model name."""
        return naming.model_trait(self._conf, model)

    def flavor_name(self, profile: str) -> str:
        return self.flavor_template.format(profile=profile)

    def extra_specs(self, profile: str,
                    traits: tuple[str, ...] = ()) -> dict[str, str]:
        """The extra specs asking for one vGPU of ``profile``.

        :param traits: further required traits (the GPU model).
        """
        if self.vgpu_class:
            specs = {'resources:%s' % VGPU: '1',
                     'trait:%s' % self.profile_trait(profile): 'required'}
        else:
            specs = {'resources:%s' % self.resource_class(profile): '1'}
        for trait in traits:
            specs['trait:%s' % trait] = 'required'
        specs[MANAGED_KEY] = MANAGED_VALUE
        return specs

    # -- reverse ------------------------------------------------------------
    def profile_of_class(self, name: str) -> str | None:
        """``1g.10gb`` for ``CUSTOM_MIG_1G_10GB``; None if not a MIG class."""
        return self._reverse(name, self.rc_template, self.resource_class)

    def profile_of_trait(self, name: str) -> str | None:
        return self._reverse(name, self.trait_template, self.profile_trait)

    def model_trait_prefix(self) -> str:
        return template_prefix(self.model_template)

    def profile_of_specs(self, specs: dict[str, str]) -> str | None:
        """The MIG profile a flavor's extra specs ask for, if any.

        Both forms count, whatever :attr:`vgpu_class` says: a MIG resource
        class, or ``VGPU`` with a required profile trait.
        """
        specs = specs or {}
        for key, value in specs.items():
            group, _, name = key.partition(':')
            if re.match(r'^resources(\d*|_[a-zA-Z0-9_-]+)$', group):
                profile = self.profile_of_class(name)
                if profile:
                    return profile
        if any(k.endswith(':' + VGPU) and k.startswith('resources')
               for k in specs):
            for key, value in specs.items():
                group, _, name = key.partition(':')
                if group.startswith('trait') and value == 'required':
                    profile = self.profile_of_trait(name)
                    if profile:
                        return profile
        return None

    @staticmethod
    def _reverse(name: str, template: str, forward) -> str | None:
        try:
            before, after = _split(template)
        except (IndexError, ValueError):
            return None
        if not (name.startswith(before) and name.endswith(after)):
            return None
        middle = name[len(before):len(name) - len(after)]
        match = _NORM_PROFILE_RE.match(middle)
        if not match:
            return None
        suffix = ''
        if match['suffix']:
            suffix = _SUFFIX_TOKENS.get(match['suffix'])
            if suffix is None:
                return None
        profile = '%sg.%sgb%s' % (match['slices'], match['gb'], suffix)
        return profile if forward(profile) == name else None


def is_managed(specs: dict[str, str] | None) -> bool:
    """True when the extra specs carry nova-mig's ownership mark."""
    return (specs or {}).get(MANAGED_KEY) == MANAGED_VALUE


class _Fields(dict):
    """Every format field reads as the placeholder."""

    def __missing__(self, key):
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
        return os_traits.normalize_name(template)
