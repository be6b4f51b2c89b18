# SPDX-License-Identifier: Apache-2.0

"""The request traces of ``tools/fleet_sim.py``: seeded, per kind.

See ``tools/fleet_sim.py`` for what each trace is.
"""

import collections
import dataclasses
import math
import random

from nova_mig.rebalance import demand

MODELS = ('A100-PCIE-80GB', 'H100-SXM5-80GB')
PROFILES = ('1g.10gb', '1g.20gb', '2g.20gb', '3g.40gb', '4g.40gb',
            '7g.80gb')
DAY_MIX = {'1g.10gb': .40, '1g.20gb': .15, '2g.20gb': .20, '3g.40gb': .15,
           '4g.40gb': .05, '7g.80gb': .05}
NIGHT_MIX = {'1g.10gb': .10, '1g.20gb': .05, '2g.20gb': .10,
             '3g.40gb': .25, '4g.40gb': .15, '7g.80gb': .35}
MEAN_LIFETIME_H = {1: 2.0, 2: 3.0, 3: 4.0, 4: 4.0, 7: 6.0}
TRACES = ('drifting', 'stationary', 'scarce')
#: In the scarce trace, one host in this many has the scarce model.
SCARCE_EVERY = 8
#: In the scarce trace, the share of each profile's requests needing it.
NEEDS_MODEL = {'4g.40gb': .25, '7g.80gb': .25}


def slices_of(profile: str) -> int:
    return int(profile.split('g', 1)[0])


def hours_of(text: str) -> float:
    return demand.parse_window(text) / 3600.0


def mix_at(kind: str, hour: float) -> dict[str, float]:
    day = (1 + math.cos(2 * math.pi * ((hour % 24) - 14) / 24)) / 2
    if kind == 'stationary':
        day = 0.5
    return {p: day * DAY_MIX[p] + (1 - day) * NIGHT_MIX[p]
            for p in PROFILES}


@dataclasses.dataclass(frozen=True)
class Request:
    arrival: float              # hours
    profile: str
    lifetime: float
    #: The GPU model the flavor asks for (nvml name), or None.
    model: str | None = None

    @property
    def work(self) -> float:
        return slices_of(self.profile) * self.lifetime


def model_keys(kind: str, hosts: int) -> list[str]:
    """The catalog key of each host's GPU model."""
    if kind == 'scarce':
        return [MODELS[1] if h % SCARCE_EVERY == 0 else MODELS[0]
                for h in range(hosts)]
    return [MODELS[h % len(MODELS)] for h in range(hosts)]


def make_trace(kind: str, seed: int, hours: float, fleet_slices: int,
               load: float, scarce: str) -> list[Request]:
    rng = random.Random('%s/%d' % (kind, seed))
    trace = []
    t = 0.0
    while True:
        mix = mix_at(kind, t)
        mean_work = sum(w * slices_of(p) * MEAN_LIFETIME_H[slices_of(p)]
                        for p, w in mix.items())
        t += rng.expovariate(load * fleet_slices / mean_work)
        if t >= hours:
            return trace
        profile = rng.choices(PROFILES, weights=[mix[p] for p in PROFILES])[0]
        lifetime = rng.expovariate(1 / MEAN_LIFETIME_H[slices_of(profile)])
        needs = (kind == 'scarce' and
                 rng.random() < NEEDS_MODEL.get(profile, 0.0))
        trace.append(Request(t, profile, lifetime, scarce if needs else None))


def concurrency(trace: list[Request], hours: float
                ) -> dict[tuple[str, str], list[int]]:
    """(profile, model or '') -> concurrent requests each hour, no limit."""
    changes = []
    for req in trace:
        key = (req.profile, req.model or '')
        changes.append((req.arrival, key, 1))
        changes.append((min(req.arrival + req.lifetime, hours), key, -1))
    changes.sort()
    keys = sorted({c[1] for c in changes})
    samples: dict[tuple[str, str], list[int]] = {k: [] for k in keys}
    current: collections.Counter = collections.Counter()
    i = 0
    for hour in range(int(hours)):
        while i < len(changes) and changes[i][0] <= hour + 0.5:
            current[changes[i][1]] += changes[i][2]
            i += 1
        for k in keys:
            samples[k].append(current[k])
    return samples
