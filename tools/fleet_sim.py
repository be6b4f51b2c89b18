# SPDX-License-Identifier: Apache-2.0

"""Fleet simulation: does rebalancing beat the best fixed fleet?

Not a test: a seeded discrete-event simulation driving the real planner
(:func:`nova_mig.rebalance.fleet_plan.build`). A fleet of hosts with A100 80GB
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
    ``--reconfig-minutes`` later. With ``DEMAND`` ``forecast`` each run
    records the product's demand sample and merges the product's forecast
    (:mod:`nova_mig.rebalance.forecast`), the samples starting with last
    week's (each hour's running requests of the previous week, as if the
    product had run then and every boot had been served).

Printed per trace and strategy: requests served, slice-hours served (both
as a share of those offered), re-partitions per GPU per day (mean, max),
then the ratios (c)/(a) and (c)/(b). ``--json`` prints it all as JSON.

    nice python tools/fleet_sim.py --hosts 40 --gpus-per-host 4 --days 7 \
        --search 12

The traces are in ``tools/fleet_traces.py``, the simulated fleet and the
product's policy in ``tools/fleet_engine.py``.
"""

import argparse
import collections
import dataclasses
import json
import sys
import time

from fleet_engine import empty_fleet
from fleet_engine import Gpu
from fleet_engine import Policy
from fleet_engine import Simulation
from fleet_traces import concurrency
from fleet_traces import hours_of
from fleet_traces import make_trace
from fleet_traces import MODELS
from fleet_traces import Request
from fleet_traces import slices_of
from fleet_traces import TRACES
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import forecast
from nova_mig.simulator import gpu_catalog

UNIFORM = ({'1g.10gb': 7}, {'3g.40gb': 2}, {'7g.80gb': 1},
           {'3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2})
STATS = ('mean', 0.5, 0.75, 0.9)


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


def last_week_samples(history: list[Request], hours: float) -> list:
    """Hourly demand samples of last week, as if every boot was served.

    What the product's forecast would have recorded had it run last
    week: the requests running each hour (model-bound ones cloud-wide,
    as Placement's usages count them), at times before the trace.
    """
    samples = []
    by_profile: dict[str, list[int]] = collections.defaultdict(
        lambda: [0] * int(hours))
    for (profile, _), values in concurrency(history, hours).items():
        for h, n in enumerate(values):
            by_profile[profile][h] += n
    for h in range(int(hours)):
        samples.append(forecast.Sample((h - hours) * 3600.0, {
            (p, demand.CLOUD): v[h] for p, v in sorted(by_profile.items())}))
    return samples


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
    result = fleet_plan.build(states, wanted, time_limit=defaults.TIME_LIMIT)
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
    scarce = gpu_catalog.default_catalog().get(MODELS[1]).nvml_name
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
    samples = [] if args.cold_start else last_week_samples(history, hours)
    started = time.monotonic()
    sim = Simulation(args, kind, last_week, Policy(
        period=args.period if args.period else hours_of(defaults.RUN_PERIOD),
        window=args.window if args.window else hours_of(defaults.WINDOW),
        max_per_gpu_day=(None if args.max_per_gpu_day < 0
                         else args.max_per_gpu_day),
        demand=args.demand, ahead=args.ahead), samples)
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
            args, kind, last_week, policy, samples).run(trace, hours)
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
                        choices=('window', 'once', 'forecast'),
                        help='how failed boots are counted (default: the '
                             'shipped DEMAND)')
    parser.add_argument('--ahead', type=float, default=0.0,
                        help='hours the forecast covers (default: the '
                             'product\'s, until the next allowed '
                             're-partition)')
    parser.add_argument('--cold-start', action='store_true',
                        help='the forecast starts without last week\'s '
                             'samples (a fresh install)')
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
