# SPDX-License-Identifier: Apache-2.0

"""Map NVIDIA vGPU type names to the MIG profiles that back them.

NVIDIA names MIG-backed vGPU types ``<BOARD>-<G>-<GB><SERIES>[SUFFIX]``
(``A100D-1-10C`` is backed by a ``1g.10gb`` GPU instance, ``A100-1-5CME`` by
``1g.5gb+me``) and time-sliced types ``<BOARD>-<GB><SERIES>`` (``A100D-20C``,
``T4-16Q``).  sysfs and NVML prefix the name with ``GRID `` (older drivers)
or ``NVIDIA `` (newer ones).  Type IDs (``nvidia-699``) differ between
driver releases and boards, so nova-mig resolves them on each host.

Where the driver answers (NVML), :func:`backing` takes a type's profile from
``nvmlVgpuTypeGetGpuInstanceProfileId`` matched against the GPU's own
profile table, because names are not enough (the RTX PRO 6000 Blackwell's
types run on ``+gfx`` GPU instances and no name says so); the name rule of
:func:`profile_for` is the fallback for hosts without NVML.
"""

import collections.abc
import dataclasses
import re

from nova_mig.model import constants
from nova_mig.model import gpu_records

#: Where a type's profile came from: the driver (NVML) or the type's name;
#: or nowhere, where the name cannot tell and the driver does not say.
MAPPING_DRIVER = 'driver'
MAPPING_NAME = 'name'
MAPPING_UNKNOWN = 'unknown'

#: 16-bit PCI device IDs of cards whose MIG-backed vGPU types may need a
#: ``+gfx`` GPU instance that the type's name does not show: the RTX PRO
#: 6000 Blackwell Server Edition under vGPU 19.x (``DC-1-24Q`` on
#: ``1g.24gb+gfx``; NVIDIA vgpu-device-manager ``pkg/vgpu/config.go``).
#: vGPU 20.0 names say ``GFX`` (``DC-1-24QGFX``). Told by PCI ID: the
#: RTX PRO 4500 (0x2C3A) shares the ``DC`` prefix of its type names.
GFX_AMBIGUOUS_DEVICES = frozenset({0x2BB5})

# Longest suffixes first so "MEALL" is not read as "ME" + "ALL".
_SUFFIX_RE = '|'.join(sorted((s for s in constants.MIG_SUFFIXES if s),
                             key=len, reverse=True))
_MIG_RE = re.compile(
    r'^(?P<board>[A-Z0-9]+?)-(?P<slices>[1-9])-(?P<gb>\d+)'
    r'(?P<series>[ABCQ])(?P<suffix>' + _SUFFIX_RE + r')?$')
_TIME_SLICED_RE = re.compile(
    r'^(?P<board>[A-Z0-9]+?)-(?P<gb>\d+)(?P<series>[ABCQ])$')


@dataclasses.dataclass(frozen=True)
class VgpuTypeName:
    """A parsed vGPU type name."""

    name: str                  # the bare name: "A100D-1-10C"
    board: str                 # "A100D"
    series: str                # "C" (compute), "Q", "B", "A"
    framebuffer_gb: int
    #: Compute slices of the backing GPU instance; None if time-sliced.
    slices: int | None = None
    suffix: str = ''

    @property
    def mig_backed(self) -> bool:
        return self.slices is not None

    @property
    def profile(self) -> str | None:
        """The MIG profile name NVIDIA uses, e.g. ``1g.10gb+me``."""
        if self.slices is None:
            return None
        return '%dg.%dgb%s' % (self.slices, self.framebuffer_gb,
                               constants.MIG_SUFFIXES[self.suffix])


def bare_name(raw: str) -> str:
    """Strip the ``GRID ``/``NVIDIA `` vendor prefix: keep the last token."""
    parts = raw.split()
    return parts[-1] if parts else ''


def parse(raw: str) -> VgpuTypeName | None:
    """Parse a vGPU type name as sysfs or NVML reports it.

    :param raw: e.g. ``"NVIDIA A100D-1-10C"`` or ``"GRID T4-16Q"``.
    :returns: the parsed name, or None when it follows neither form.
    """
    name = bare_name(raw).upper()
    match = _MIG_RE.match(name)
    if match:
        return VgpuTypeName(
            name=name, board=match['board'], series=match['series'],
            framebuffer_gb=int(match['gb']), slices=int(match['slices']),
            suffix=match['suffix'] or '')
    match = _TIME_SLICED_RE.match(name)
    if match:
        return VgpuTypeName(
            name=name, board=match['board'], series=match['series'],
            framebuffer_gb=int(match['gb']))
    return None


def profile_for(raw: str, profile_names: collections.abc.Container[str]
                | None = None) -> str | None:
    """The MIG profile backing a vGPU type, as NVIDIA names it on that GPU.

    :param raw: the vGPU type name.
    :param profile_names: the profile names the GPU supports, when known;
        a name-derived profile the GPU does not offer maps to None.
    :returns: the profile name, or None for time-sliced or unknown types.
    """
    parsed = parse(raw)
    if parsed is None or not parsed.mig_backed:
        return None
    if profile_names is not None and parsed.profile not in profile_names:
        return None
    return parsed.profile


@dataclasses.dataclass(frozen=True)
class Backing:
    """What backs one vGPU type on one GPU."""

    #: The MIG profile name on that GPU; None for time-sliced or unknown.
    profile: str | None
    #: vGPUs of the type one GPU instance holds (1 unless the driver says
    #: more: time-sliced MIG-backed types).
    per_gpu_instance: int
    #: :data:`MAPPING_DRIVER`, :data:`MAPPING_NAME` or
    #: :data:`MAPPING_UNKNOWN`.
    mapping: str
    #: With :data:`MAPPING_UNKNOWN`: why, and the fix, in one line.
    reason: str = ''


def driver_type(raw: str, gpu: gpu_records.Gpu | None
                ) -> gpu_records.VgpuType | None:
    """The GPU's own record of a type, matched by bare name."""
    if gpu is None or not gpu.vgpu_types:
        return None
    wanted = bare_name(raw).upper()
    for vgpu_type in gpu.vgpu_types:
        if bare_name(vgpu_type.name).upper() == wanted:
            return vgpu_type
    return None


def _gfx_ambiguous(gpu: gpu_records.Gpu) -> bool:
    """Whether a plain MIG-backed name may stand for a ``+gfx`` instance.

    On a card offering ``+gfx`` GPU instances (by PCI ID, since older NVML
    bindings do not list those profiles) whose driver names no type
    ``...GFX`` (vGPU 19.x), a name without ``GFX`` may run on either.
    """
    gfx_card = ((gpu.pci_device_id >> 16) in GFX_AMBIGUOUS_DEVICES or
                any(p.name.endswith('+gfx') for p in gpu.profiles))
    if not gfx_card:
        return False
    names = [parse(t.name) for t in gpu.vgpu_types or ()]
    return not any(n is not None and n.suffix == 'GFX' for n in names)


def unknown_reason(raw: str, gpu: gpu_records.Gpu) -> str:
    """The one line saying why a type's profile is not known, and the fix."""
    return ('the GPU instance profile of vGPU type %s on GPU %s (%s) is not '
            'known: this driver\'s type names do not say whether it needs a '
            '+gfx GPU instance and NVML does not map it; install '
            'nvidia-ml-py 11.460.79 or later (nvmlVgpuTypeGetGpuInstance'
            'ProfileId) next to nova-mig, or a vGPU 20 driver whose type '
            'names say GFX' % (bare_name(raw), gpu.pci_address, gpu.name))


def backing(raw: str, gpu: gpu_records.Gpu | None) -> Backing:
    """The MIG profile backing a type on a GPU, the driver's answer first.

    :param raw: the vGPU type name as sysfs or NVML reports it.
    :param gpu: the physical GPU, when known.
    """
    known = driver_type(raw, gpu)
    if (known is not None and known.profile_from_driver and
            gpu is not None and gpu.profiles):
        if known.gpu_instance_profile_id is None:
            return Backing(None, 0, MAPPING_DRIVER)
        profile = gpu.profile(known.gpu_instance_profile_id)
        return Backing(profile.name if profile else None,
                       max(known.max_instances_per_gi or 1, 1),
                       MAPPING_DRIVER)
    parsed = parse(raw)
    if (gpu is not None and parsed is not None and parsed.mig_backed and
            not parsed.suffix and _gfx_ambiguous(gpu)):
        # Refuse to guess: 1g.24gb and 1g.24gb+gfx both fit the name.
        return Backing(None, 0, MAPPING_UNKNOWN, unknown_reason(raw, gpu))
    names = ({p.name for p in gpu.profiles}
             if gpu is not None and gpu.profiles else None)
    profile_name = profile_for(raw, names)
    return Backing(profile_name, 1 if profile_name else 0, MAPPING_NAME)


def types_backed_by(profile: str, names: collections.abc.Iterable[str],
                    gpu: gpu_records.Gpu | None) -> list[str]:
    """The type names among ``names`` backed by ``profile`` on ``gpu``."""
    return [n for n in names if backing(n, gpu).profile == profile]


def unknown_among(names: collections.abc.Iterable[str],
                  gpu: gpu_records.Gpu | None) -> str | None:
    """Why the first type among ``names`` has no known profile.

    :returns: the reason of the first :data:`MAPPING_UNKNOWN` type, None
        when every profile is known.
    """
    for name in names:
        found = backing(name, gpu)
        if found.mapping == MAPPING_UNKNOWN:
            return found.reason
    return None
