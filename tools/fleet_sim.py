"""Fleet simulation: does demand-driven re-partitioning serve more requests?

Not a test: a seeded discrete-event simulation driving the real planner
(:func:`nova_mig.rebalance.plan.build`). A fleet of hosts with A100 80GB
PCIe and H100 SXM5 80GB GPUs (their MIG profile tables and placements from
the simulator's catalog) receives a trace of vGPU requests; each request
asks for one GPU instance of a profile, lives for a while and leaves. The
scheduler is first-fit by class, as Placement with one resource class per
profile does: the first GPU (host order) with a free GPU instance of the
profile takes it, or the boot fails with NoValidHost (it is not retried).

The trace (all drawn from one seeded generator):

* arrivals: a Poisson process whose rate keeps the offered load, in
  compute slices, at ``--load`` of the fleet's slices (7 per GPU);
* lifetimes: exponential, mean 2 h (1g), 3 h (2g), 4 h (3g, 4g), 6 h (7g);
* the profile mix drifts with the time of day: the day mix (mostly small
  inference slices) and the night mix (mostly large training slices) are
  blended with weight ``(1 + cos(2 pi (h - 14) / 24)) / 2`` for the day mix
  (all day at 14:00, all night at 02:00), see :data:`DAY_MIX`,
  :data:`NIGHT_MIX`.

Strategies compared on the same trace:

(a) fixed: every GPU keeps the geometry operators set today,
    ``etc/nova-mig/layouts/a100-balanced.yaml``'s 3g.40gb + 2g.20gb +
    2 x 1g.10gb;
(b) best fixed in hindsight: the fixed fleet geometry serving the most
    requests over the whole trace, among candidates built by the planner
    itself on an empty fleet for the 50th, 75th, 90th and 100th
    percentiles of each profile's concurrent demand (measured on the trace
    with unlimited capacity) and the uniform geometries (7 x 1g.10gb,
    2 x 3g.40gb, 7g.80gb, the balanced one);
(c) rebalance every ``--period`` hours, starting from (a): the planner
    gets every GPU (GPU instances running a request are fixed, idle ones
    free) and, as demand, the NoValidHost boots per profile of the last
    period; the GPUs it changes lose their idle GPU instances at once and
    get the new ones ``--reconfig-minutes`` later (drain, re-partition,
    nova-compute restart), their running requests untouched.

With ``--placement``, the last rebalance is planned once more through the
command's path, against a real Placement process seeded with the fleet's
providers as that rebalance saw them (``tools/bench_rebalance.py``), and
the time to read Placement and plan is printed.

Printed for each: requests served (and the share of all requests), mean
compute-slice utilisation (slices of running requests over all slices,
time-averaged), GPU reconfigurations; then the ratios of served requests
c/a and c/b, and the planner's time per call.

    python tools/fleet_sim.py --hosts 200 --gpus-per-host 4 --days 7
"""

import argparse
import collections
import dataclasses
import heapq
import math
import random
import time

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
BALANCED = {'3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2}
UNIFORM = ({'1g.10gb': 7}, {'3g.40gb': 2}, {'7g.80gb': 1}, BALANCED)


def slices_of(profile: str) -> int:
    return int(profile.split('g', 1)[0])


def mix_at(hour: float) -> dict[str, float]:
    day = (1 + math.cos(2 * math.pi * ((hour % 24) - 14) / 24)) / 2
    return {p: day * DAY_MIX[p] + (1 - day) * NIGHT_MIX[p]
            for p in PROFILES}


@dataclasses.dataclass(frozen=True)
class Request:
    arrival: float              # hours
    profile: str
    lifetime: float


def make_trace(seed: int, hours: float, fleet_slices: int,
               load: float) -> list[Request]:
    rng = random.Random(seed)
    trace = []
    t = 0.0
    while True:
        mix = mix_at(t)
        mean_work = sum(w * slices_of(p) * MEAN_LIFETIME_H[slices_of(p)]
                        for p, w in mix.items())
        rate = load * fleet_slices / mean_work      # arrivals per hour
        t += rng.expovariate(rate)
        if t >= hours:
            return trace
        profile = rng.choices(PROFILES, weights=[mix[p] for p in PROFILES])[0]
        trace.append(Request(t, profile, rng.expovariate(
            1 / MEAN_LIFETIME_H[slices_of(profile)])))


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

    def state(self, now: float) -> fleet.GpuState:
        fixed = tuple(sorted(g.slot for g in self.gis.values()
                             if g.busy or g.ready_at > now))
        free = tuple(sorted(g.slot for g in self.gis.values()
                            if not g.busy and g.ready_at <= now))
        return fleet.GpuState(
            host=self.host, pci_address=self.pci_address, model=self.model,
            table=self.table, fixed=fixed, free=free)


class Simulation:

    def __init__(self, args: argparse.Namespace,
                 geometry_of: dict[str, dict[str, int]],
                 rebalance: bool):
        self.args = args
        self.rebalance = rebalance
        self.cat = catalog.default_catalog()
        self.gpus: list[Gpu] = []
        for h in range(args.hosts):
            key = MODELS[h % len(MODELS)]
            model = self.cat.get(key)
            table = geometry.ProfileTable(model.profiles)
            for i in range(args.gpus_per_host):
                gpu = Gpu(len(self.gpus), 'host%04d' % h, model.nvml_name,
                          table, i)
                slots = geometry.arrangement(table, (),
                                             geometry_of[model.nvml_name])
                gpu.gis = {s.start: Gi(s) for s in slots}
                self.gpus.append(gpu)
        self.free: dict[str, list] = collections.defaultdict(list)
        for gpu in self.gpus:
            self.index(gpu)
        self.served = 0
        self.failed: list[tuple[float, str]] = []
        self.reconfigs = 0
        self.busy_slices = 0
        self.slice_hours = 0.0
        self.last = 0.0
        self.plan_seconds: list[float] = []
        self.plan_passes: list[list[float]] = []
        self.last_call: tuple | None = None

    def index(self, gpu: Gpu) -> None:
        gpu.version += 1
        for gi in gpu.gis.values():
            if not gi.busy:
                heapq.heappush(self.free[gi.slot.profile],
                               (gpu.index, gi.slot.start, gpu.version,
                                gi.ready_at))

    def advance(self, now: float) -> None:
        self.slice_hours += self.busy_slices * (now - self.last)
        self.last = now

    def place(self, now: float, profile: str):
        heap = self.free[profile]
        deferred = []
        found = None
        while heap:
            idx, start, version, ready = heapq.heappop(heap)
            gpu = self.gpus[idx]
            gi = gpu.gis.get(start)
            if (version != gpu.version or gi is None or gi.busy or
                    gi.slot.profile != profile):
                continue
            if ready > now:
                deferred.append((idx, start, version, ready))
                continue
            found = (gpu, gi)
            break
        for item in deferred:
            heapq.heappush(heap, item)
        return found

    def run(self, trace: list[Request]) -> dict:
        events: list = []
        for n, req in enumerate(trace):
            heapq.heappush(events, (req.arrival, 1, n, req))
        hours = self.args.days * 24
        if self.rebalance:
            t = self.args.period
            while t < hours:
                heapq.heappush(events, (t, 0, -1, None))
                t += self.args.period
        while events:
            now, kind, n, item = heapq.heappop(events)
            self.advance(now)
            if kind == 0:
                self.replan(now)
            elif kind == 1:
                found = self.place(now, item.profile)
                if found is None:
                    self.failed.append((now, item.profile))
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
                heapq.heappush(self.free[gi.slot.profile],
                               (gpu.index, gi.slot.start, gpu.version,
                                gi.ready_at))
        self.advance(hours)
        total = len(self.gpus) * 7
        return {'served': self.served, 'failed': len(self.failed),
                'utilisation': self.slice_hours / (total * hours),
                'reconfigurations': self.reconfigs}

    def replan(self, now: float) -> None:
        window = now - self.args.period
        unmet = collections.Counter(p for t, p in self.failed if t >= window)
        if not unmet:
            return
        hosts: dict[str, list] = collections.defaultdict(list)
        for gpu in self.gpus:
            hosts[gpu.host].append(gpu.state(now))
        states = [fleet.HostState(name, '', 'mdev', gpus)
                  for name, gpus in sorted(hosts.items())]
        demands = [demand.Demand(p, n, source='unmet')
                   for p, n in sorted(unmet.items())]
        self.last_call = (states, demands)
        started = time.monotonic()
        result = plan.build(states, demands)
        self.plan_seconds.append(time.monotonic() - started)
        self.plan_passes.append(result.passes)
        by_key = {(g.host, g.pci_address): g for g in self.gpus}
        for change in result.changes:
            self.reconfigure(by_key[(change.host, change.pci_address)],
                             change.slots, now)

    def reconfigure(self, gpu: Gpu, slots, now: float) -> None:
        ready = now + self.args.reconfig_minutes / 60.0
        keep = {s.start: gi for s in slots
                for gi in [gpu.gis.get(s.start)] if gi and gi.slot == s}
        gis = {}
        for slot in slots:
            gis[slot.start] = keep.get(slot.start) or Gi(slot, ready_at=ready)
        gpu.gis = gis
        self.reconfigs += 1
        self.index(gpu)


def concurrency_quantiles(trace: list[Request], hours: float
                          ) -> dict[float, dict[str, int]]:
    """Per quantile: each profile's concurrent requests, infinite fleet."""
    changes = []
    for req in trace:
        changes.append((req.arrival, req.profile, 1))
        changes.append((min(req.arrival + req.lifetime, hours),
                        req.profile, -1))
    changes.sort()
    samples: dict[str, list[int]] = collections.defaultdict(list)
    current: collections.Counter = collections.Counter()
    i = 0
    for hour in range(int(hours)):
        while i < len(changes) and changes[i][0] <= hour:
            current[changes[i][1]] += changes[i][2]
            i += 1
        for p in PROFILES:
            samples[p].append(current[p])
    result = {}
    for q in (0.5, 0.75, 0.9, 1.0):
        result[q] = {p: sorted(v)[min(len(v) - 1, int(q * len(v)))]
                     for p, v in samples.items()}
    return result


def planned_geometry(args, wanted: dict[str, int]) -> dict[str, dict]:
    """Per model, the geometry the planner gives an empty fleet."""
    cat = catalog.default_catalog()
    hosts = []
    for h in range(args.hosts):
        model = cat.get(MODELS[h % len(MODELS)])
        table = geometry.ProfileTable(model.profiles)
        gpus = [fleet.GpuState('h%d' % h, '0000:%02x:00.0' % i,
                               model.nvml_name, table, (), ())
                for i in range(args.gpus_per_host)]
        hosts.append(fleet.HostState('h%d' % h, '', 'mdev', gpus))
    result = plan.build(hosts, [demand.Demand(p, n)
                                for p, n in wanted.items() if n])
    per_model: dict[str, collections.Counter] = collections.defaultdict(
        collections.Counter)
    for change in result.changes:
        per_model[change.model][tuple(sorted(change.after))] += 1
    # The fleet is fixed per model: the geometry most GPUs got.
    return {m: dict(collections.Counter(max(c, key=c.get)))
            for m, c in per_model.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=200)
    parser.add_argument('--gpus-per-host', type=int, default=4)
    parser.add_argument('--days', type=float, default=7)
    parser.add_argument('--load', type=float, default=0.9,
                        help='offered load, share of the fleet\'s slices')
    parser.add_argument('--period', type=float, default=1.0,
                        help='hours between two rebalances (T)')
    parser.add_argument('--reconfig-minutes', type=float, default=15.0)
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--placement', action='store_true',
                        help='also plan the last rebalance again against a '
                             'real Placement seeded with the fleet\'s '
                             'providers, and time it (slow to seed)')
    parser.add_argument('--workers', type=int, default=8,
                        help='Placement reads at the same time')
    args = parser.parse_args()
    hours = args.days * 24
    gpus = args.hosts * args.gpus_per_host
    trace = make_trace(args.seed, hours, gpus * 7, args.load)
    cat = catalog.default_catalog()
    names = [cat.get(m).nvml_name for m in MODELS]
    print('fleet: %d hosts, %d GPUs (%s), %d requests over %.0f h, '
          'seed %d, load %.2f' % (args.hosts, gpus, ' / '.join(names),
                                  len(trace), hours, args.seed, args.load))

    def uniform(counts):
        return {n: dict(counts) for n in names}

    fixed = Simulation(args, uniform(BALANCED), False).run(trace)
    candidates = [uniform(c) for c in UNIFORM]
    for q, wanted in concurrency_quantiles(trace, hours).items():
        geo = planned_geometry(args, wanted)
        if len(geo) == len(names):
            candidates.append(geo)
    best = None
    for geo in candidates:
        result = Simulation(args, geo, False).run(trace)
        if best is None or result['served'] > best[0]['served']:
            best = (result, geo)
    assert best is not None
    sim = Simulation(args, uniform(BALANCED), True)
    rebalanced = sim.run(trace)
    rows = [('(a) fixed balanced', fixed), ('(b) best fixed, hindsight',
                                            best[0]),
            ('(c) rebalance every %gh' % args.period, rebalanced)]
    print('%-28s %10s %8s %12s %9s' % ('strategy', 'served', 'share',
                                       'utilisation', 'reconfigs'))
    for name, r in rows:
        print('%-28s %10d %7.1f%% %11.1f%% %9d' % (
            name, r['served'], 100.0 * r['served'] / len(trace),
            100.0 * r['utilisation'], r['reconfigurations']))
    print('best fixed geometry: %s' % '; '.join(
        '%s: %s' % (m, ' + '.join('%dx %s' % (n, p) for p, n in
                                  sorted(g.items())))
        for m, g in sorted(best[1].items())))
    print('served ratio c/a = %.3f, c/b = %.3f' % (
        rebalanced['served'] / fixed['served'],
        rebalanced['served'] / best[0]['served']))
    if sim.plan_seconds:
        print('planner: %d calls, mean %.2f s, max %.2f s (%d GPUs)' % (
            len(sim.plan_seconds),
            sum(sim.plan_seconds) / len(sim.plan_seconds),
            max(sim.plan_seconds), gpus))
        print('  slowest solver passes (cover, touch, tie-break): %s' % (
            ', '.join('%.2f s' % max(p[i] for p in sim.plan_passes)
                      for i in range(3))))
    if args.placement and sim.last_call is not None:
        # The fleet as the last rebalance saw it, through the command's
        # path: tools/bench_rebalance.py seeds and reads Placement.
        import bench_rebalance
        bench_rebalance.with_placement(args, *sim.last_call)


if __name__ == '__main__':
    main()
