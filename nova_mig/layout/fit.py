# SPDX-License-Identifier: Apache-2.0

"""Find placements for a GPU's wanted MIG profiles, keeping what exists.

Profiles and their possible placements come from the GPU (NVML), never
from a table.  Wanted instances without a placement are placed larger
first, searching every order with backtracking, so ``3g + 2g + 1g + 1g``
fits where creating them in file order would not; among the solutions the
one keeping most existing GPU instances wins.
"""

import collections
import dataclasses

from nova_mig.model import gpu_records


class NoFit(Exception):
    """The wanted profiles cannot be placed; ``profile`` and ``reason``."""

    def __init__(self, profile: str, reason: str):
        super().__init__('%s: %s' % (profile, reason))
        self.profile = profile
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Wanted:
    profile: gpu_records.GpuInstanceProfile
    start: int | None = None


def _fmt(placement: gpu_records.Placement) -> str:
    return '%d:%d' % (placement.start, placement.size)


def compute_slices(gpu: gpu_records.Gpu) -> int:
    """Compute slices of the card: those of its largest profile."""
    return max((p.slice_count for p in gpu.profiles), default=0)


def check_counts(gpu: gpu_records.Gpu, wanted: list[Wanted]) -> None:
    """Instance counts, the "+me" rule and the compute-slice budget.

    :raises: :class:`NoFit`
    """
    counts = collections.Counter(w.profile.name for w in wanted)
    for item in wanted:
        limit = item.profile.instance_count
        if counts[item.profile.name] > limit:
            raise NoFit(item.profile.name, '%d instances wanted, the card '
                        'allows %d' % (counts[item.profile.name], limit))
    media = [w.profile.name for w in wanted if w.profile.media_extensions]
    if len(media) > 1:
        raise NoFit(media[1], 'at most one "+me" GPU instance per GPU, '
                    'the layout asks for %d (%s)' % (len(media),
                                                     ', '.join(media)))
    needed = sum(w.profile.slice_count for w in wanted)
    budget = compute_slices(gpu)
    if needed > budget:
        raise NoFit(' + '.join(w.profile.name for w in wanted),
                    'needs %d compute slices, the card has %d'
                    % (needed, budget))


def _fixed(wanted: list[Wanted]) -> dict[int, gpu_records.Placement]:
    """Placements given in the layout, checked and without overlaps."""
    fixed: dict[int, gpu_records.Placement] = {}
    for i, item in enumerate(wanted):
        if item.start is None:
            continue
        options = [p for p in item.profile.placements
                   if p.start == item.start]
        if not options:
            raise NoFit(item.profile.name, 'placement %d is not possible; '
                        'possible placements: %s' % (item.start, ', '.join(
                            _fmt(p) for p in item.profile.placements)))
        for j, other in fixed.items():
            if options[0].overlaps(other):
                raise NoFit(item.profile.name, 'placement %s overlaps %s at '
                            '%s' % (_fmt(options[0]),
                                    wanted[j].profile.name, _fmt(other)))
        fixed[i] = options[0]
    return fixed


class _Search:
    """Backtracking over the free instances' placements, best score kept.

    The score counts the existing GPU instances a solution keeps.
    """

    def __init__(self, wanted: list[Wanted],
                 fixed: dict[int, gpu_records.Placement],
                 have: set[tuple[int, int]]):
        self.wanted = wanted
        self.have = have
        self.free = [i for i in range(len(wanted)) if i not in fixed]
        # Larger profiles first: they have the fewest placements.
        self.free.sort(key=lambda i: (
            -wanted[i].profile.placements[0].size
            if wanted[i].profile.placements else 0,
            -wanted[i].profile.slice_count, wanted[i].profile.id))
        self.chosen = dict(fixed)
        self.base_score = sum(1 for i, p in fixed.items()
                              if self.keeps(i, p))
        self.best_score = -1
        self.best: dict[int, gpu_records.Placement] | None = None
        #: The free instance the search got stuck on deepest.
        self.stuck = (-1, self.free[0] if self.free else 0)

    def keeps(self, i: int, placement: gpu_records.Placement) -> bool:
        return (self.wanted[i].profile.id, placement.start) in self.have

    def candidates(self, i: int, depth: int) -> list[gpu_records.Placement]:
        profile = self.wanted[i].profile
        floor = -1
        # Symmetry: instances of one profile take increasing starts.
        for j in self.free[:depth]:
            if self.wanted[j].profile.id == profile.id:
                floor = max(floor, self.chosen[j].start)
        options = [p for p in profile.placements if p.start > floor and
                   not any(p.overlaps(q) for q in self.chosen.values())]
        options.sort(key=lambda p: (not self.keeps(i, p), p.start))
        return options

    def run(self, depth: int = 0, score: int | None = None) -> bool:
        """Search from ``depth``; True once no better solution can exist."""
        score = self.base_score if score is None else score
        if score + (len(self.free) - depth) <= self.best_score:
            return False
        if depth == len(self.free):
            self.best_score = score
            self.best = dict(self.chosen)
            return score == self.base_score + len(self.free)
        i = self.free[depth]
        options = self.candidates(i, depth)
        if not options and depth > self.stuck[0]:
            self.stuck = (depth, i)
        for placement in options:
            self.chosen[i] = placement
            done = self.run(depth + 1, score + int(self.keeps(i, placement)))
            del self.chosen[i]
            if done:
                return True
        return False


def fit(gpu: gpu_records.Gpu, wanted: list[Wanted],
        existing: tuple[gpu_records.GpuInstance, ...] = ()
        ) -> list[gpu_records.Placement]:
    """Placements for ``wanted``, in the same order.

    :param existing: the GPU instances now on the card; a solution reusing
        more of them (same profile, same placement) is preferred.
    :raises: :class:`NoFit` naming the profile that does not fit and why.
    """
    check_counts(gpu, wanted)
    search = _Search(wanted, _fixed(wanted),
                     {(gi.profile_id, gi.placement.start) for gi in existing})
    search.run()
    if search.best is None:
        profile = wanted[search.stuck[1]].profile
        raise NoFit(profile.name, 'no free placement left beside the other '
                    'GPU instances (its placements: %s; the set %s does '
                    'not fit the card\'s memory slices in any order)' % (
                        ', '.join(_fmt(p) for p in profile.placements),
                        ' + '.join(w.profile.name for w in wanted)))
    return [search.best[i] for i in range(len(wanted))]
