# SPDX-License-Identifier: Apache-2.0

"""Demand that forecasts: what each profile will want over the coming hours.

The planner is given, per MIG profile and scope, the free GPU instances
wanted. Counting the NoValidHost boots of the past (the ``once`` demand,
:func:`nova_mig.rebalance.demand.unmet_boots`) answers the mix of the last
hours; a GPU re-partitioned now keeps its new geometry until its budget
allows the next change (``MAX_PER_GPU_DAY`` per UTC day), so the plan
should answer the mix of the hours to come. This module forecasts it.

**Samples.** Each plan run appends one sample to the history directory
(``demand-<YYYY-MM-DD>.jsonl``, next to the re-partition history of
:mod:`nova_mig.rebalance.history`)::

    {"time": 1764892800.0,
     "demand": [{"profile": "1g.10gb", "scope": "", "used": 31, "unmet": 2},
                {"profile": "7g.80gb", "scope": "trait:CUSTOM_..H100..",
                 "used": 0, "unmet": 1}]}

``used``: the GPU instances of the profile in use then (the planner's
hosts); ``unmet``: the NoValidHost boots of the profile created since the
previous sample (scope: the GPU model trait the flavor requires, or ``""``
for the cloud).

**Series, weighted by size and duration.** Per (profile, scope), an hourly
series of the demand in compute slices::

    x[h] = slices(p) * (used[h] + sum over failed boots b of overlap(
               [t_b, t_b + D_p), hour h))

``used[h]`` is the mean of the hour's samples (the last one carried over an
hour without one): an instance counts for every hour it runs, so a 6-hour
one weighs six times a 1-hour one. A failed boot would have run too: it
counts as one instance for ``D_p`` hours from the sample that records it
(``t_b``, at most a run period after its creation), ``D_p`` the
mean lifetime of the profile's servers that ended within the window (what
the Compute API lists of the deleted servers),
:data:`nova_mig.rebalance.defaults.FAILED_BOOT_HOURS`
hours without one. A 7g request weighs seven 1g ones.

**Forecast: additive Holt-Winters with a daily season, blended with the
same hour of last week.** With ``m = 24``, level ``l`` and seasonal terms
``s`` initialised on the first day (``l`` its mean, ``s[i] = x[i] - l``)::

    l[t] = alpha * (x[t] - s[t-m]) + (1 - alpha) * l[t-1]
    s[t] = gamma * (x[t] - l[t]) + (1 - gamma) * s[t-m]
    f[T+k] = l[T] + s[T+k-m*ceil(k/m)]

and, once the series covers a week, ``f = (1 - w) f + w * x[T+k-168]``
(the weekly pattern: a quiet Sunday is remembered from last Sunday).
Fewer than 24 hours: simple exponential smoothing (``f = l[T]``). No
sample at all: no forecast, the plan counts as before.
``alpha``, ``gamma``, ``w`` are :data:`nova_mig.rebalance.defaults.ALPHA`,
``GAMMA``, ``WEEKLY``: a level that follows a change within a few hours,
a daily pattern learnt over about three days, last week a third of the
weight. There is no trend term: a daily mix swings, it does not grow by
the hour, and a trend extrapolated over a day overshoots.

**What the plan is given.** The forecast covers the hours until a GPU
changed now may change again (:func:`horizon`): with one re-partition per
UTC day, until midnight UTC, at most
:data:`nova_mig.rebalance.defaults.FORECAST_HOURS` (6): the instances
placed on the free slices made now are those arriving within a few hours
(lifetimes are hours); a plan for a peak further away takes slices from
the demand in between. Per (profile, scope) the instances wanted are the
forecast's peak over those hours, in instances (``max f / slices(p)``),
less those in use now: the free instances the coming hours need. When
these want more compute slices than the fleet has free, all are scaled
down by the same factor (rounded up), so the plan shapes the free slices
like the coming demand instead of filling the first rows (the planner
weighs a 7g slice as seven 1g ones and would otherwise be indifferent).
A row wants the larger of that and the boots counted once, or the
target (:func:`merge`).
"""

import collections
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import math
import os
import typing

from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import history

#: (profile, scope): scope :data:`nova_mig.rebalance.demand.CLOUD` or a
#: GPU model's ``trait:<trait>``.
Key = tuple[str, str]

HOUR = 3600.0
DAY = 24
WEEK = 168
#: Hours a failed boot counts for when no server of its profile ended.
DEFAULT_LIFETIME = defaults.FAILED_BOOT_HOURS
_PREFIX = 'demand-'
_ENTRY_KEYS = {'profile', 'scope', 'used', 'unmet'}


@dataclasses.dataclass(frozen=True)
class Sample:
    """The demand seen by one plan run."""

    time: float
    #: Key -> GPU instances in use at ``time``.
    used: Mapping[Key, int]
    #: Key -> NoValidHost boots created since the previous sample.
    unmet: Mapping[Key, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Params:
    """The smoothing constants (see the module docstring)."""

    alpha: float = defaults.ALPHA
    gamma: float = defaults.GAMMA
    weekly: float = defaults.WEEKLY


_fail = history.fail


def day_file(directory: str, when: float) -> str:
    """The samples file of the UTC day of ``when``."""
    return history.day_file(directory, when, _PREFIX)


def _count(value: typing.Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool) and
            value >= 0)


def parse(text: str, path: str) -> list[Sample]:
    """The checked samples of one day's file.

    :raises: :class:`nova_mig.exception.RebalanceInputError` naming the
        line and the key.
    """
    samples = []
    for where, entry in history.json_lines(text, path):
        if not isinstance(entry, dict) or set(entry) != {'time', 'demand'}:
            raise _fail(path, where, 'expected an object with the keys '
                        'demand, time')
        when = entry['time']
        if (isinstance(when, bool) or not isinstance(when, (int, float)) or
                not math.isfinite(when)):
            raise _fail(path, where + '.time', 'expected epoch seconds, '
                        'found %r' % (when,))
        if not isinstance(entry['demand'], list):
            raise _fail(path, where + '.demand', 'expected a list')
        used: dict[Key, int] = {}
        unmet: dict[Key, int] = {}
        for i, item in enumerate(entry['demand']):
            at = '%s.demand[%d]' % (where, i)
            if not isinstance(item, dict) or set(item) != _ENTRY_KEYS:
                raise _fail(path, at, 'expected an object with the keys %s'
                            % ', '.join(sorted(_ENTRY_KEYS)))
            if not isinstance(item['profile'], str) or not item['profile']:
                raise _fail(path, at + '.profile', 'expected a MIG profile '
                            'name')
            if not isinstance(item['scope'], str):
                raise _fail(path, at + '.scope', 'expected a scope string')
            for name in ('used', 'unmet'):
                if not _count(item[name]):
                    raise _fail(path, '%s.%s' % (at, name), 'expected an '
                                'integer >= 0, found %r' % (item[name],))
            key = (item['profile'], item['scope'])
            used[key] = used.get(key, 0) + item['used']
            unmet[key] = unmet.get(key, 0) + item['unmet']
        samples.append(Sample(float(when), used, unmet))
    return samples


def load(directory: str, now: float, days: int = defaults.FORECAST_DAYS
         ) -> list[Sample]:
    """The samples of the ``days`` before ``now``, oldest first.

    A missing directory or file is no samples.

    :raises: :class:`nova_mig.exception.RebalanceInputError`
    """
    found: list[Sample] = []
    for k in range(days, -1, -1):
        path = day_file(directory, now - k * 86400.0)
        if not os.path.exists(path):
            continue
        found.extend(s for s in parse(history.read_day(path), path)
                     if now - days * 86400.0 <= s.time <= now)
    return sorted(found, key=lambda s: s.time)


def document(sample: Sample) -> dict[str, typing.Any]:
    """A sample as its line in the day file holds it."""
    keys = sorted(set(sample.used) | set(sample.unmet))
    return {'time': sample.time, 'demand': [
        {'profile': p, 'scope': s, 'used': int(sample.used.get((p, s), 0)),
         'unmet': int(sample.unmet.get((p, s), 0))} for p, s in keys]}


def record(directory: str, sample: Sample) -> str:
    """Append ``sample`` to its day's file; returns the file's path."""
    return history.append(day_file(directory, sample.time),
                          document(sample))


def slices_of(profile: str) -> int:
    """Compute slices of a profile from its name (``3g.40gb`` -> 3)."""
    head = profile.split('g', 1)[0]
    return int(head) if head.isdigit() and int(head) > 0 else 1


def series(samples: Sequence[Sample], now: float,
           lifetimes: Mapping[str, float] | None = None
           ) -> tuple[float, dict[Key, list[float]]]:
    """Hourly demand in compute slices per key (see the module docstring).

    :returns: the start of the first hour (epoch seconds) and, per key,
        one value per hour from it up to the hour of ``now`` included.
    """
    if not samples:
        return now, {}
    start = math.floor(samples[0].time / HOUR) * HOUR
    hours = int((now - start) // HOUR) + 1
    keys = sorted({k for s in samples for k in set(s.used) | set(s.unmet)})
    sums = {k: [0.0] * hours for k in keys}
    seen = [0] * hours
    extra = {k: [0.0] * hours for k in keys}
    for sample in samples:
        h = int((sample.time - start) // HOUR)
        if not 0 <= h < hours:
            continue
        seen[h] += 1
        for key, n in sample.used.items():
            sums[key][h] += n
        for key, n in sample.unmet.items():
            life = (lifetimes or {}).get(key[0]) or DEFAULT_LIFETIME
            _spread(extra[key], (sample.time - start) / HOUR, life, n)
    result = {}
    for key in keys:
        values = []
        last = 0.0
        for h in range(hours):
            if seen[h]:
                last = sums[key][h] / seen[h]
            values.append(slices_of(key[0]) * (last + extra[key][h]))
        result[key] = values
    return start, result


def _spread(values: list[float], at: float, length: float, n: int) -> None:
    """Add ``n`` instances over ``[at, at + length)`` hours, per hour."""
    h = int(at)
    end = at + length
    while h < len(values) and h < end:
        overlap = min(end, h + 1) - max(at, h)
        if overlap > 0:
            values[h] += n * overlap
        h += 1


def holt_winters(values: Sequence[float], ahead: int,
                 params: Params = Params()) -> list[float]:
    """Forecast the ``ahead`` hours after ``values`` (never below 0)."""
    if not values or ahead <= 0:
        return []
    if len(values) < DAY:
        level = values[0]
        for x in values[1:]:
            level = params.alpha * x + (1 - params.alpha) * level
        return [max(0.0, level)] * ahead
    level = sum(values[:DAY]) / DAY
    season = [x - level for x in values[:DAY]]
    for t in range(DAY, len(values)):
        x = values[t]
        old = season[t % DAY]
        level = params.alpha * (x - old) + (1 - params.alpha) * level
        season[t % DAY] = params.gamma * (x - level) + (
            1 - params.gamma) * old
    n = len(values)
    result = []
    for k in range(1, ahead + 1):
        f = level + season[(n - 1 + k) % DAY]
        if n >= WEEK and params.weekly:
            f = (1 - params.weekly) * f + params.weekly * values[
                n - 1 + k - WEEK * math.ceil(k / WEEK)]
        result.append(max(0.0, f))
    return result


def horizon(now: float, period: float,
            max_per_gpu_day: int | None = defaults.MAX_PER_GPU_DAY,
            limit: int = defaults.FORECAST_HOURS) -> int:
    """Hours the forecast covers: until a GPU changed now may change again.

    With a daily budget, until the next UTC midnight, at most ``limit``
    hours; at least until the next run (``period`` seconds). Without a
    budget, until the next run.
    """
    run = max(1, math.ceil(period / HOUR))
    if max_per_gpu_day is None:
        return run
    midnight = (math.floor(now / 86400.0) + 1) * 86400.0
    return max(run, min(limit, math.ceil((midnight - now) / HOUR)))


def wanted(samples: Sequence[Sample], now: float, used: Mapping[Key, int],
           ahead: int, lifetimes: Mapping[str, float] | None = None,
           params: Params = Params(), free_slices: int | None = None
           ) -> dict[Key, int] | None:
    """Free instances wanted per key over the next ``ahead`` hours.

    The peak of the forecast, in instances, less ``used`` (those in use
    now). None without samples: the caller counts the demand as before.
    """
    start, by_key = series(samples, now, lifetimes)
    if not by_key:
        return None
    need: dict[Key, float] = {}
    for key, values in by_key.items():
        ahead_values = holt_winters(values, ahead, params)
        peak = max(ahead_values, default=0.0)
        more = peak / slices_of(key[0]) - used.get(key, 0)
        if more > 0:
            need[key] = more
    total = sum(slices_of(k[0]) * n for k, n in need.items())
    scale = 1.0
    if free_slices is not None and total > free_slices:
        scale = free_slices / total
    return {k: n for k, v in need.items()
            for n in [math.ceil(v * scale - 1e-6)] if n > 0}


def merge(rows: Iterable[demand.Demand], forecast: Mapping[Key, int]
          ) -> list[demand.Demand]:
    """Each (profile, scope) row wanting the larger of the two.

    A row of ``forecast`` larger than the counted one replaces it, with
    the source ``forecast``; targets and counted boots stay otherwise.
    """
    merged = {(d.profile, d.scope): d for d in rows}
    for (profile, scope), n in forecast.items():
        old = merged.get((profile, scope))
        if old is None or n > old.wanted:
            merged[(profile, scope)] = demand.Demand(
                profile, n, scope, 'forecast')
    return [merged[k] for k in sorted(merged)]


def in_use(profiles: Iterable[str]) -> dict[Key, int]:
    """Cloud-wide key -> instances, from the profiles of instances in use."""
    counts = collections.Counter(profiles)
    return {(p, demand.CLOUD): n for p, n in sorted(counts.items())}


def plan_demand(directory: str, now: float, boots: demand.UnmetBoots,
                rows: Sequence[demand.Demand], used: Iterable[str],
                free: Iterable[str], period: float | None = None,
                max_per_gpu_day: int | None = defaults.MAX_PER_GPU_DAY
                ) -> list[demand.Demand]:
    """What ``rebalance plan --history`` asks the planner for.

    Records this run's sample in ``directory`` (``used``: the profile of
    each GPU instance in use on the planned hosts; the NoValidHost boots
    of ``boots`` created since the previous sample), forecasts the hours
    until the next allowed re-partition from the samples of
    :data:`defaults.FORECAST_DAYS` days, and merges it into ``rows`` (the
    boots counted once and the targets). The forecast's rows are scaled
    down together when they want more compute slices than the free GPU
    instances (``free``: the profile of each) have, so the plan shapes
    the free slices like the coming demand.

    :raises: :class:`nova_mig.exception.RebalanceInputError` for a bad
        sample line or a sample file that cannot be written.
    """
    if period is None:
        period = float(demand.parse_window(defaults.RUN_PERIOD))
    samples = load(directory, now)
    last = samples[-1].time if samples else now - period
    in_use_now = in_use(used)
    unmet = collections.Counter((p, scope) for t, p, scope in boots.created
                                if last < t <= now)
    sample = Sample(now, in_use_now, dict(unmet))
    try:
        record(directory, sample)
    except OSError as e:
        raise _fail(day_file(directory, now), 'sample',
                    'cannot be written (%s)' % (e.strerror or e))
    ahead = horizon(now, period, max_per_gpu_day)
    found = wanted(samples + [sample], now, in_use_now, ahead,
                   boots.lifetimes, free_slices=sum(map(slices_of, free)))
    return merge(rows, found or {})
