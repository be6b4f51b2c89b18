"""Fleet simulation: does rebalancing beat the best fixed fleet?

Not a test: a seeded discrete-event simulation driving the real planner
(:func:`nova_mig.rebalance.plan.build`). A fleet of hosts with A100 80GB
PCIe and H100 SXM5 80GB GPUs (their MIG profile tables and placements from
the simulator's catalog) receives a trace of vGPU requests; each request
asks for one GPU instance of a profile (and, in the ``scarce`` trace,
sometimes of one GPU model, as a flavor with a model trait does), lives for
a while and leaves. The scheduler is first-fit, as Placement with one
resource class per profile does: the first GPU (host order) with a free
GPU instance of the profile (and model) takes it, or the boot fails with
NoValidHost (it is not retried).

Traces (``--traces``), each drawn from one seeded generator whose offered
load, in compute slices, is ``--load`` of the fleet's slices; lifetimes
exponential, mean 2 h (1g), 3 h (2g), 4 h (3g, 4g), 6 h (7g):

* ``drifting``: the profile mix drifts with the time of day, the day mix
  (small inference slices) at 14:00, the night mix (large training slices)
  at 02:00, blended with weight ``(1 + cos(2 pi (h - 14) / 24)) / 2``;
* ``stationary``: the average of the two mixes, all day;
* ``scarce``: ``drifting`` on a fleet where one host in
  :data:`SCARCE_EVERY` has H100 GPUs, and :data:`NEEDS_MODEL` of the large
  requests need one.

Strategies, on the same trace (the second of two generated weeks):

(a) best fixed fleet in hindsight: mixed per-GPU geometries built by the
    planner's own integer program on an empty fleet for a demand vector
    (each profile's concurrent requests on the whole trace, with unlimited
    capacity: mean, 50th, 75th, 90th percentile, scaled to the fleet's
    slices), then a local search scaling each profile's share up and down
    while the simulated result improves; the uniform fleets and (b) are
    candidates too. The best is searched per metric (requests, and
    slice-hours), each ratio is against its own best;
(b) a fixed fleet sized on the previous week of the same generator (its
    mean concurrent demand per profile, through the same planner);
(c) rebalancing with the product's shipped defaults
    (:mod:`nova_mig.rebalance.defaults`), starting from (b): every
    ``RUN_PERIOD`` the planner gets every GPU (GPU instances running a
    request are fixed, idle ones free), the demand the product reads
    (NoValidHost boots per profile over ``WINDOW``, counted as ``DEMAND``
    says; those of a request needing a GPU model within that model's
    scope) and the per-GPU budget ``MAX_PER_GPU_DAY``; a changed GPU loses
    its idle GPU instances at once and gets the new ones
    ``--reconfig-minutes`` later.

Printed per trace and strategy: requests served, slice-hours served (both
as a share of those offered), re-partitions per GPU per day (mean, max),
then the ratios (c)/(a) and (c)/(b). ``--json`` prints it all as JSON.

    nice python tools/fleet_sim.py --hosts 100 --gpus-per-host 4 --days 7
"""

import argparse
import collections
import dataclasses
import heapq
import json
import math
import random
import sys
import time

from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import geometry
from nova_mig.rebalance import plan
from nova_mig.simulator import catalog

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
UNIFORM = ({'1g.10gb': 7}, {'3g.40gb': 2}, {'7g.80gb': 1},
           {'3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2})
STATS = ('mean', 0.5, 0.75, 0.9)


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


@dataclasses.dataclass
class Gi:
    slot: geometry.Slot
    busy: bool = False
    ready_at: float = 0.0


class Gpu:

    def __init__(self, index: int, host: str, model: str,
                 table: geometry.ProfileTable, local: int):
        self.index = index
        self.host = host
        self.pci_address = '0000:%02x:00.0' % (0x41 + local)
        self.model = model
        self.table = table
        self.gis: dict[int, Gi] = {}
        self.version = 0
        self.changes: collections.Counter = collections.Counter()

    def state(self, now: float) -> fleet.GpuState:
        fixed = tuple(sorted(g.slot for g in self.gis.values()
                             if g.busy or g.ready_at > now))
        free = tuple(sorted(g.slot for g in self.gis.values()
                            if not g.busy and g.ready_at <= now))
        return fleet.GpuState(
            host=self.host, pci_address=self.pci_address, model=self.model,
            table=self.table, fixed=fixed, free=free,
            changes_today=self.changes[int(now // 24)],
            scopes=frozenset({demand.trait_scope(self.model)}))


@dataclasses.dataclass(frozen=True)
class Policy:
    """How the product rebalances: its shipped defaults unless told."""

    period: float = hours_of(defaults.RUN_PERIOD)
    window: float = hours_of(defaults.WINDOW)
    max_per_gpu_day: int | None = defaults.MAX_PER_GPU_DAY
    #: ``window``: every NoValidHost boot of the window; ``once``: only
    #: those since the profile's capacity last grew.
    demand: str = defaults.DEMAND


def empty_fleet(kind: str, hosts: int, per_host: int) -> list[Gpu]:
    cat = catalog.default_catalog()
    gpus: list[Gpu] = []
    for h, key in enumerate(model_keys(kind, hosts)):
        model = cat.get(key)
        table = geometry.ProfileTable(model.profiles)
        for i in range(per_host):
            gpus.append(Gpu(len(gpus), 'host%04d' % h, model.nvml_name,
                            table, i))
    return gpus


class Simulation:

    def __init__(self, args: argparse.Namespace, kind: str,
                 layout: list[dict[str, int]], policy: Policy | None):
        self.args = args
        self.policy = policy
        self.gpus = empty_fleet(kind, args.hosts, args.gpus_per_host)
        for gpu, counts in zip(self.gpus, layout):
            slots = geometry.arrangement(gpu.table, (), counts)
            gpu.gis = {s.start: Gi(s) for s in slots}
        self.free: dict[tuple, list] = collections.defaultdict(list)
        for gpu in self.gpus:
            self.index(gpu)
        self.served = 0
        #: (time, profile, demand scope) of each NoValidHost boot.
        self.failed: list[tuple[float, str, str]] = []
        self.reconfigs = 0
        self.busy_slices = 0
        self.slice_hours = 0.0
        self.last = 0.0
        self.plan_seconds: list[float] = []
        #: Profile -> when a plan last grew its capacity.
        self.grown: dict[str, float] = {}
        self.moved_in_use = 0
        #: Every request so far, served or not, in arrival order.
        self.seen: list[Request] = []

    def index(self, gpu: Gpu) -> None:
        gpu.version += 1
        for gi in gpu.gis.values():
            if not gi.busy:
                self.push(gpu, gi)

    def push(self, gpu: Gpu, gi: Gi) -> None:
        heapq.heappush(self.free[(gi.slot.profile, gpu.model)],
                       (gpu.index, gi.slot.start, gpu.version, gi.ready_at))

    def head(self, key: tuple, now: float, deferred: list) -> tuple | None:
        heap = self.free.get(key) or []
        while heap:
            item = heapq.heappop(heap)
            idx, start, version, ready = item
            gpu = self.gpus[idx]
            gi = gpu.gis.get(start)
            if (version != gpu.version or gi is None or gi.busy or
                    gi.slot.profile != key[0]):
                continue
            if ready > now:
                deferred.append((key, item))
                continue
            return item
        return None

    def place(self, now: float, req: Request) -> tuple | None:
        models = ([req.model] if req.model else
                  sorted({m for p, m in self.free if p == req.profile}))
        deferred: list = []
        heads = []
        for model in models:
            item = self.head((req.profile, model), now, deferred)
            if item is not None:
                heads.append(((req.profile, model), item))
        heads.sort(key=lambda h: h[1])
        for key, item in heads[1:] + deferred:
            heapq.heappush(self.free[key], item)
        if not heads:
            return None
        gpu = self.gpus[heads[0][1][0]]
        return gpu, gpu.gis[heads[0][1][1]]

    def run(self, trace: list[Request], hours: float) -> dict:
        events: list = []
        for n, req in enumerate(trace):
            events.append((req.arrival, 1, n, req))
        if self.policy is not None:
            t = self.policy.period
            while t < hours:
                events.append((t, 0, -1, None))
                t += self.policy.period
        heapq.heapify(events)
        while events:
            now, kind, n, item = heapq.heappop(events)
            self.slice_hours += self.busy_slices * (now - self.last)
            self.last = now
            if kind == 0:
                self.replan(now)
            elif kind == 1:
                self.seen.append(item)
                found = self.place(now, item)
                if found is None:
                    self.failed.append((now, item.profile, (
                        demand.trait_scope(item.model) if item.model
                        else demand.CLOUD)))
                    continue
                gpu, gi = found
                gi.busy = True
                self.served += 1
                self.busy_slices += slices_of(item.profile)
                end = now + item.lifetime
                if end < hours:
                    heapq.heappush(events, (end, 2, n, (gpu, gi, item)))
            else:
                gpu, gi, req = item
                gi.busy = False
                self.busy_slices -= slices_of(req.profile)
                if gpu.gis.get(gi.slot.start) is gi:
                    self.push(gpu, gi)
        self.slice_hours += self.busy_slices * (hours - self.last)
        per_day = [gpu.changes[d] for gpu in self.gpus
                   for d in range(int(math.ceil(hours / 24)))]
        return {'served': self.served, 'failed': len(self.failed),
                'slice_hours': self.slice_hours,
                'reconfigurations': self.reconfigs,
                'moved_in_use': self.moved_in_use,
                'per_gpu_day_mean': sum(per_day) / max(len(per_day), 1),
                'per_gpu_day_max': max(per_day, default=0)}

    def replan(self, now: float) -> None:
        assert self.policy is not None
        since = now - self.policy.window
        if self.policy.demand in ('once', 'hybrid'):
            unmet = collections.Counter(
                (p, scope) for t, p, scope in self.failed
                if t >= max(since, self.grown.get(p, since)))
        else:
            unmet = collections.Counter((p, scope)
                                        for t, p, scope in self.failed
                                        if t >= since)
        if self.policy.demand == 'forecast':
            unmet = self.forecast(now)
        elif self.policy.demand == 'hybrid':
            unmet = self.forecast(now) | unmet
        if not unmet:
            return
        hosts: dict[str, list] = collections.defaultdict(list)
        for gpu in self.gpus:
            hosts[gpu.host].append(gpu.state(now))
        states = [fleet.HostState(name, '', 'mdev', gpus)
                  for name, gpus in sorted(hosts.items())]
        demands = [demand.Demand(p, n, scope, source='unmet')
                   for (p, scope), n in sorted(unmet.items())]
        started = time.monotonic()
        result = plan.build(states, demands, time_limit=defaults.TIME_LIMIT,
                            max_per_gpu_day=self.policy.max_per_gpu_day)
        self.plan_seconds.append(time.monotonic() - started)
        for row in result.rows:
            if row.free_after > row.free_before:
                self.grown[row.profile] = now
        by_key = {(g.host, g.pci_address): g for g in self.gpus}
        for change in result.changes:
            self.reconfigure(by_key[(change.host, change.pci_address)],
                             change.slots, now)

    def forecast(self, now: float) -> collections.Counter:
        """Free instances wanted per profile for the next period.

        The most requests of each profile running at once, 24 h before
        the coming period (served or not; a failed one counted for the
        mean lifetime of the profile's served ones), less those running
        now.
        """
        horizon = self.policy.period + self.args.reconfig_minutes / 60.0
        points = [now - 24 + horizon * k / 4 for k in range(5)]
        peak: collections.Counter = collections.Counter()
        earliest = points[0] - 48
        for point in points:
            running: collections.Counter = collections.Counter()
            for req in reversed(self.seen):
                if req.arrival < earliest:
                    break
                if req.arrival <= point < req.arrival + req.lifetime:
                    running[req.profile] += 1
            for profile, n in running.items():
                peak[profile] = max(peak[profile], n)
        busy = collections.Counter(
            gi.slot.profile for gpu in self.gpus for gi in gpu.gis.values()
            if gi.busy)
        return collections.Counter({(p, demand.CLOUD): n - busy[p]
                                    for p, n in peak.items()
                                    if n > busy[p]})

    def reconfigure(self, gpu: Gpu, slots, now: float) -> None:
        ready = now + self.args.reconfig_minutes / 60.0
        keep = {s.start: gi for s in slots
                for gi in [gpu.gis.get(s.start)] if gi and gi.slot == s}
        # Invariant: a GPU instance running a request is never moved.
        self.moved_in_use += sum(1 for gi in gpu.gis.values()
                                 if gi.busy and keep.get(gi.slot.start)
                                 is not gi)
        gpu.gis = {s.start: keep.get(s.start) or Gi(s, ready_at=ready)
                   for s in slots}
        self.reconfigs += 1
        gpu.changes[int(now // 24)] += 1
        self.index(gpu)


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


def demand_vector(samples: dict, stat, fleet_slices: int) -> dict:
    """One statistic of each key's concurrency, scaled to the fleet."""
    vector = {}
    for key, values in samples.items():
        ordered = sorted(values)
        vector[key] = (sum(values) / len(values) if stat == 'mean' else
                       ordered[min(len(ordered) - 1,
                                   int(stat * len(ordered)))])
    total = sum(slices_of(k[0]) * v for k, v in vector.items())
    return {k: v * fleet_slices / total for k, v in vector.items()
            } if total else vector


def fixed_layout(args, kind: str, vector: dict) -> list[dict[str, int]]:
    """Per GPU, the geometry the planner gives an empty fleet for ``vector``.

    A model-bound demand is scoped to the hosts of that model; GPUs the
    plan leaves empty get 7 x 1g.10gb.
    """
    gpus = empty_fleet(kind, args.hosts, args.gpus_per_host)
    hosts: dict[str, list] = collections.defaultdict(list)
    for gpu in gpus:
        hosts[gpu.host].append(gpu)
    states = [fleet.HostState(
        name, '', 'mdev', [g.state(0) for g in members],
        scopes=frozenset({'model:' + members[0].model}))
        for name, members in sorted(hosts.items())]
    wanted = [demand.Demand(p, int(round(n)), 'model:' + m if m else '')
              for (p, m), n in sorted(vector.items()) if round(n) > 0]
    result = plan.build(states, wanted, time_limit=defaults.TIME_LIMIT)
    after = {(c.host, c.pci_address): c.after for c in result.changes}
    return [dict(collections.Counter(
        after.get((g.host, g.pci_address), ['1g.10gb'] * 7)))
        for g in gpus]


class Search:
    """Best fixed fleet in hindsight, per metric, over mixed fleets."""

    METRICS = ('served', 'slice_hours')

    def __init__(self, args, kind: str, trace: list[Request], hours: float):
        self.args, self.kind, self.trace, self.hours = args, kind, trace, hours
        self.seen: dict[tuple, dict] = {}
        self.best: dict[str, tuple[dict, list]] = {}

    def evaluate(self, layout: list[dict[str, int]]) -> dict:
        key = tuple(tuple(sorted(c.items())) for c in layout)
        if key not in self.seen:
            result = Simulation(self.args, self.kind, layout, None).run(
                self.trace, self.hours)
            self.seen[key] = result
            for metric in self.METRICS:
                old = self.best.get(metric)
                if old is None or result[metric] > old[0][metric]:
                    self.best[metric] = (result, layout)
        return self.seen[key]

    def run(self, seeds: list[list[dict[str, int]]]) -> None:
        fleet_slices = len(seeds[0]) * 7
        samples = concurrency(self.trace, self.hours)
        vectors = [demand_vector(samples, s, fleet_slices) for s in STATS]
        for layout in seeds:
            self.evaluate(layout)
        scored = []
        for vector in vectors:
            result = self.evaluate(fixed_layout(self.args, self.kind,
                                                vector))
            scored.append((result, vector))
        for metric in self.METRICS:
            vector = max(scored, key=lambda s: s[0][metric])[1]
            self.climb(metric, dict(vector))

    def climb(self, metric: str, vector: dict) -> None:
        """Scale one key's demand while the metric improves."""
        score = self.evaluate(fixed_layout(self.args, self.kind,
                                           vector))[metric]
        budget = self.args.search
        improved = True
        while improved and budget > 0:
            improved = False
            for key in sorted(vector):
                for factor in (1.3, 0.75):
                    if budget <= 0:
                        break
                    trial = dict(vector)
                    trial[key] *= factor
                    budget -= 1
                    result = self.evaluate(fixed_layout(
                        self.args, self.kind, trial))
                    if result[metric] > score:
                        vector, score, improved = trial, result[metric], True
                        break


def describe(layout: list[dict[str, int]], gpus: list[Gpu]) -> str:
    """Each model's geometries, with how many GPUs have them."""
    found: dict[str, collections.Counter] = collections.defaultdict(
        collections.Counter)
    for gpu, counts in zip(gpus, layout):
        found[gpu.model][' + '.join('%dx %s' % (n, p) for p, n in
                                    sorted(counts.items()))] += 1
    return '; '.join('%s: %s' % (m, ', '.join(
        '%d GPU(s) %s' % (n, g) for g, n in c.most_common()))
        for m, c in sorted(found.items()))


def measure(args, kind: str) -> dict:
    """Every strategy on one trace; see the module docstring."""
    hours = args.days * 24
    gpus = empty_fleet(kind, args.hosts, args.gpus_per_host)
    slices = len(gpus) * 7
    scarce = catalog.default_catalog().get(MODELS[1]).nvml_name
    both = make_trace(kind, args.seed, 2 * hours, slices, args.load, scarce)
    history = [r for r in both if r.arrival < hours]
    trace = [dataclasses.replace(r, arrival=r.arrival - hours)
             for r in both if r.arrival >= hours]
    offered = {'requests': len(trace), 'slice_hours': sum(
        slices_of(r.profile) * min(r.lifetime, hours - r.arrival)
        for r in trace)}
    last_week = fixed_layout(args, kind, demand_vector(
        concurrency(history, hours), 'mean', slices))
    search = Search(args, kind, trace, hours)
    uniform = [[dict(c) for _ in gpus] for c in UNIFORM]
    search.run([last_week] + uniform)
    started = time.monotonic()
    sim = Simulation(args, kind, last_week, Policy(
        period=args.period if args.period else hours_of(defaults.RUN_PERIOD),
        window=args.window if args.window else hours_of(defaults.WINDOW),
        max_per_gpu_day=(None if args.max_per_gpu_day < 0
                         else args.max_per_gpu_day),
        demand=args.demand))
    rebalanced = sim.run(trace, hours)
    rebalanced['seconds'] = time.monotonic() - started
    rebalanced['planner_calls'] = len(sim.plan_seconds)
    rebalanced['planner_max_seconds'] = max(sim.plan_seconds, default=0.0)
    variants = {}
    for text in args.variant or ():
        fields = dict(item.split('=') for item in text.split(','))
        policy = dataclasses.replace(sim.policy, **{
            k: (v if k == 'demand' else
                None if v == 'none' else
                int(v) if k == 'max_per_gpu_day' else float(v))
            for k, v in fields.items()})
        variants['v ' + text] = Simulation(
            args, kind, last_week, policy).run(trace, hours)
    best = {m: search.best[m][0] for m in Search.METRICS}
    ratio = {'c/a requests': rebalanced['served'] / best['served']['served'],
             'c/a slice_hours': (rebalanced['slice_hours'] /
                                 best['slice_hours']['slice_hours'])}
    prev = search.seen[tuple(tuple(sorted(c.items())) for c in last_week)]
    ratio['c/b requests'] = rebalanced['served'] / prev['served']
    ratio['c/b slice_hours'] = rebalanced['slice_hours'] / prev['slice_hours']
    return {
        'trace': kind, 'seed': args.seed, 'gpus': len(gpus),
        'hours': hours, 'offered': offered,
        'strategies': {
            'a_best_fixed_requests': best['served'],
            'a_best_fixed_slice_hours': best['slice_hours'],
            'b_fixed_last_week': prev,
            'c_rebalance_shipped': rebalanced, **variants},
        'fixed_fleets_searched': len(search.seen),
        'best_fixed_geometry': describe(search.best['served'][1], gpus),
        'ratios': ratio,
        'policy': dataclasses.asdict(sim.policy) if sim.policy else None}


def report(result: dict, out) -> None:
    offered = result['offered']
    out.write('trace %s (seed %d): %d GPUs, %d requests, %.0f slice-hours '
              'offered over %.0f h; %d fixed fleets searched\n' % (
                  result['trace'], result['seed'], result['gpus'],
                  offered['requests'], offered['slice_hours'],
                  result['hours'], result['fixed_fleets_searched']))
    out.write('  %-34s %9s %7s %12s %7s %9s\n' % (
        'strategy', 'requests', 'share', 'slice-hours', 'share',
        'rep/GPU/d'))
    for name, r in result['strategies'].items():
        out.write('  %-34s %9d %6.1f%% %12.0f %6.1f%% %4.2f/%-4d\n' % (
            name, r['served'], 100.0 * r['served'] / offered['requests'],
            r['slice_hours'], 100.0 * r['slice_hours'] /
            offered['slice_hours'], r['per_gpu_day_mean'],
            r['per_gpu_day_max']))
    out.write('  ratios: %s\n' % ', '.join(
        '%s %.3f' % item for item in result['ratios'].items()))
    out.write('  best fixed (requests): %s\n' % result['best_fixed_geometry'])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=100)
    parser.add_argument('--gpus-per-host', type=int, default=4)
    parser.add_argument('--days', type=float, default=7)
    parser.add_argument('--load', type=float, default=0.9,
                        help='offered load, share of the fleet\'s slices')
    parser.add_argument('--traces', default=','.join(TRACES),
                        help='comma-separated, of: %s' % ', '.join(TRACES))
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--period', type=float, default=0.0,
                        help='hours between two rebalances (default: the '
                             'shipped RUN_PERIOD)')
    parser.add_argument('--window', type=float, default=0.0,
                        help='hours of NoValidHost boots counted (default: '
                             'the shipped WINDOW)')
    parser.add_argument('--max-per-gpu-day', type=int,
                        default=defaults.MAX_PER_GPU_DAY,
                        help='re-partitions per GPU per day (-1: no limit)')
    parser.add_argument('--demand', default=defaults.DEMAND,
                        choices=('window', 'once', 'forecast', 'hybrid'),
                        help='how failed boots are counted (default: the '
                             'shipped DEMAND)')
    parser.add_argument('--variant', action='append',
                        help='also rebalance with these policy fields, '
                             'e.g. window=1,demand=once (repeatable)')
    parser.add_argument('--reconfig-minutes', type=float, default=15.0)
    parser.add_argument('--search', type=int, default=24,
                        help='fixed fleets tried per local search')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args(argv)
    kinds = [k for k in args.traces.split(',') if k]
    unknown = sorted(set(kinds) - set(TRACES))
    if unknown:
        parser.error('--traces: unknown %s' % ', '.join(unknown))
    results = []
    for kind in kinds:
        results.append(measure(args, kind))
        if not args.json:
            report(results[-1], sys.stdout)
            sys.stdout.flush()
    if args.json:
        json.dump(results, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
