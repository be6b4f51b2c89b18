# SPDX-License-Identifier: Apache-2.0

"""The valid MIG geometries of one GPU, around the GPU instances it keeps.

A geometry is a set of GPU instances, each a profile at one placement, that
the card accepts together: no two placements overlap in memory slices, no
profile has more instances than its ``instance_count``, at most one
media-extension (``+me``) profile, and the compute slices add up to no more
than the card's widest profile. The profile table and its placements are
those the GPU itself reports (NVML's ``GetGpuInstanceProfileInfo`` and
``GetGpuInstancePossiblePlacements``, carried by ``nova-mig discover``), so
a new card needs no table here.

:func:`completions` enumerates the *maximal* geometries that keep a given
set of GPU instances (those in use) where they are: no further instance of
an allowed profile fits in what is left. A non-maximal geometry never
serves more demand than one of its maximal extensions, so nothing is lost.
Completions offering the same multiset of new profiles are one choice for
the planner; the first found (larger profiles at lower placements) stands
for them.
"""

import collections
import dataclasses
import time
import typing

from nova_mig.model import gpu_records

#: One profile of a table as its key holds it: name, ID, compute slices,
#: instance count and placements ``(start, size)``.
ProfileKey = tuple[str, int, int, int, tuple[tuple[int, int], ...]]
#: A profile table's identity (:attr:`ProfileTable.key`).
TableKey = tuple[ProfileKey, ...]


@dataclasses.dataclass(frozen=True, order=True)
class Slot:
    """A GPU instance of ``profile`` at memory slices ``start:size``."""

    start: int
    size: int
    profile: str

    def overlaps(self, other: 'Slot') -> bool:
        return (self.start < other.start + other.size and
                other.start < self.start + self.size)


@dataclasses.dataclass(frozen=True)
class ProfileTable:
    """What the planner needs of a GPU model's profiles."""

    profiles: tuple[gpu_records.GpuInstanceProfile, ...]

    @property
    def names(self) -> set[str]:
        return {p.name for p in self.profiles}

    def get(self, name: str) -> gpu_records.GpuInstanceProfile | None:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        return None

    @property
    def compute_slices(self) -> int:
        return max((p.slice_count for p in self.profiles), default=0)

    @property
    def key(self) -> TableKey:
        """Hashable identity: two GPUs with the same key plan alike."""
        return tuple(sorted(
            (p.name, p.id, p.slice_count, p.instance_count,
             tuple((pl.start, pl.size) for pl in p.placements))
            for p in self.profiles))


def is_variant(profile: str) -> bool:
    """True for ``+me``, ``-me``, ``+me.all``, ``+gfx`` profiles.

    The planner only creates them where demand asks for them by name.
    """
    return any(c in profile for c in '+-')


#: Most arrangements one walk collects: real tables have a few hundred.
MAX_ARRANGEMENTS = 20_000


class _Stop(Exception):
    """The walk ran out of time or collected enough."""


class _Enumerator:
    """Depth-first walk over memory slices, with bit masks.

    Fast enough to run once per distinct GPU state of a 4000-GPU fleet.
    """

    def __init__(self, table: ProfileTable, fixed: typing.Iterable[Slot],
                 allowed: set[str], every: bool = False,
                 deadline: float | None = None):
        self.table = table
        #: ``time.monotonic()`` past which the walk stops (a crafted
        #: profile table can have more arrangements than any time allows).
        self.deadline = deadline
        self.steps = 0
        #: False when the walk stopped at the deadline or the cap.
        self.complete = True
        #: Keep every arrangement, not one per multiset of profiles.
        self.every = every
        self.limit = table.compute_slices
        self.info = {p.name: (p.slice_count, p.instance_count,
                              p.media_extensions) for p in table.profiles}
        self.options = sorted(
            Slot(pl.start, pl.size, p.name)
            for p in table.profiles if p.name in allowed
            for pl in p.placements)
        self.width = max((s.start + s.size for s in self.options),
                         default=0)
        self.by_start: dict[int, list[Slot]] = collections.defaultdict(list)
        for option in self.options:
            self.by_start[option.start].append(option)
        #: Sorted profiles (or, with ``every``, sorted slots) -> the
        #: first arrangement found with them.
        self.found: dict[tuple[str | Slot, ...], tuple[Slot, ...]] = {}
        self.mask = 0
        self.used = 0
        self.me = False
        self.per_profile: collections.Counter[str] = collections.Counter()
        for slot in fixed:
            self.push(slot)

    @staticmethod
    def bits(slot: Slot) -> int:
        return ((1 << slot.size) - 1) << slot.start

    def fits(self, slot: Slot) -> bool:
        info = self.info.get(slot.profile)
        if info is None or self.mask & self.bits(slot):
            return False
        slices, instances, media = info
        return (self.per_profile[slot.profile] < instances and
                not (media and self.me) and
                self.used + slices <= self.limit)

    def push(self, slot: Slot) -> None:
        slices, _, media = self.info.get(slot.profile, (0, 0, False))
        self.mask |= self.bits(slot)
        self.used += slices
        self.me = self.me or media
        self.per_profile[slot.profile] += 1

    def pop(self, slot: Slot, me: bool) -> None:
        slices = self.info[slot.profile][0]
        self.mask &= ~self.bits(slot)
        self.used -= slices
        self.me = me
        self.per_profile[slot.profile] -= 1

    def walk(self, position: int, chosen: list[Slot]) -> None:
        try:
            self._walk(position, chosen)
        except _Stop:
            self.complete = False

    def _walk(self, position: int, chosen: list[Slot]) -> None:
        self.steps += 1
        if self.steps % 4096 == 0 and (
                len(self.found) >= MAX_ARRANGEMENTS or (
                    self.deadline is not None and
                    time.monotonic() > self.deadline)):
            raise _Stop()
        if position >= self.width:
            if not any(self.fits(o) for o in self.options):
                key: tuple[str | Slot, ...]
                if self.every:
                    key = tuple(sorted(chosen))
                else:
                    key = tuple(sorted(s.profile for s in chosen))
                self.found.setdefault(key, tuple(sorted(chosen)))
            return
        for option in self.by_start.get(position, ()):
            if self.fits(option):
                me = self.me
                self.push(option)
                chosen.append(option)
                self._walk(position + option.size, chosen)
                chosen.pop()
                self.pop(option, me)
        # Leave this memory slice empty (or to an instance kept there).
        self._walk(position + 1, chosen)


def completions(table: ProfileTable, fixed: typing.Iterable[Slot] = (),
                allowed: set[str] | None = None
                ) -> list[tuple[Slot, ...]]:
    """:func:`completions_by` without a deadline."""
    return completions_by(table, fixed, allowed)[0]


def completions_by(table: ProfileTable, fixed: typing.Iterable[Slot] = (),
                   allowed: set[str] | None = None,
                   deadline: float | None = None
                   ) -> tuple[list[tuple[Slot, ...]], bool]:
    """The maximal sets of new GPU instances next to ``fixed`` ones.

    :param table: the GPU's profile table.
    :param fixed: GPU instances that stay where they are (in use).
    :param allowed: profiles the new instances may have; by default every
        profile that is not a variant (:func:`is_variant`).
    :param deadline: ``time.monotonic()`` at which the walk stops.
    :returns: one tuple of new slots per distinct multiset of profiles,
        in a stable order; and False when the walk stopped at the
        deadline or after :data:`MAX_ARRANGEMENTS`, so more may exist.
    """
    if allowed is None:
        allowed = {n for n in table.names if not is_variant(n)}
    enum = _Enumerator(table, fixed, allowed, deadline=deadline)
    enum.walk(0, [])
    return [enum.found[k] for k in sorted(enum.found)], enum.complete


def arrangement(table: ProfileTable, fixed: typing.Iterable[Slot],
                wanted: dict[str, int], prefer: typing.Iterable[Slot] = (),
                deadline: float | None = None
                ) -> tuple[Slot, ...]:
    """New slots with the profile counts ``wanted`` next to ``fixed``.

    Among the maximal arrangements giving exactly these counts, the one
    keeping most of ``prefer`` (GPU instances that exist now, so they are
    neither destroyed nor created) wins; ties go to the first found.

    :param deadline: ``time.monotonic()`` at which the search stops and
        the best arrangement found by then is taken.
    :raises: ValueError when no maximal arrangement gives these counts
        (or none was found by the deadline).
    """
    enum = _Enumerator(table, fixed, set(wanted), every=True,
                       deadline=deadline)
    enum.walk(0, [])
    keep = set(prefer)
    best: tuple[Slot, ...] | None = None
    for key in sorted(enum.found):
        slots = enum.found[key]
        if counts(slots) != wanted:
            continue
        if best is None or len(keep & set(slots)) > len(keep & set(best)):
            best = slots
    if best is None:
        raise ValueError('no arrangement of %s' % wanted)
    return best


def counts(slots: typing.Iterable[Slot]) -> dict[str, int]:
    """Profile -> number of slots."""
    return dict(collections.Counter(s.profile for s in slots))


def is_valid(table: ProfileTable, slots: typing.Iterable[Slot]) -> bool:
    """True when the card accepts these GPU instances together."""
    enum = _Enumerator(table, (), table.names)
    for slot in sorted(slots):
        profile = table.get(slot.profile)
        if profile is None or gpu_records.Placement(
                slot.start, slot.size) not in profile.placements:
            return False
        if not enum.fits(slot):
            return False
        enum.push(slot)
    return True
