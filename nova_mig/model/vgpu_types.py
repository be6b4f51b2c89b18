"""Map NVIDIA vGPU type names to the MIG profiles that back them.

NVIDIA names MIG-backed vGPU types ``<BOARD>-<G>-<GB><SERIES>[SUFFIX]``
(``A100D-1-10C`` is backed by a ``1g.10gb`` GPU instance, ``A100-1-5CME`` by
``1g.5gb+me``) and time-sliced types ``<BOARD>-<GB><SERIES>`` (``A100D-20C``,
``T4-16Q``).  sysfs and NVML prefix the name with ``GRID `` (older drivers)
or ``NVIDIA `` (newer ones).  Type IDs (``nvidia-699``) differ between
driver releases and boards, so nova-mig only ever maps by name.
"""

import collections.abc
import dataclasses
import re

from nova_mig.model import constants

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


def type_names_for_profile(profile: str,
                           names: collections.abc.Iterable[str]) -> list[str]:
    """The vGPU type names among ``names`` backed by ``profile``."""
    return [n for n in names if profile_for(n) == profile]
