# SPDX-License-Identifier: Apache-2.0

"""The discrete-event fleet of ``tools/fleet_sim.py``.

GPUs with their GPU instances, a first-fit scheduler per profile (and GPU
model), and the product's rebalance policy replanning the fleet through
:func:`nova_mig.rebalance.fleet_plan.build`; see ``tools/fleet_sim.py``.
"""

import argparse
import collections
import dataclasses
import heapq
import math
import time

from fleet_traces import hours_of
from fleet_traces import model_keys
from fleet_traces import Request
from fleet_traces import slices_of
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import forecast
from nova_mig.rebalance import geometry
from nova_mig.simulator import gpu_catalog


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
    #: Hours the forecast covers; 0: the product's
    #: (:func:`nova_mig.rebalance.forecast.horizon`).
    ahead: float = 0.0


def empty_fleet(kind: str, hosts: int, per_host: int) -> list[Gpu]:
    cat = gpu_catalog.default_catalog()
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
                 layout: list[dict[str, int]], policy: Policy | None,
                 samples: list | None = None):
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
        #: The demand samples of the runs (the product's forecast input).
        self.samples: list[forecast.Sample] = list(samples or ())
        #: (end, profile, lifetime) of each served request that ended.
        self.ended: list[tuple[float, str, float]] = []

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
                self.ended.append((now, req.profile, req.lifetime))
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
        if self.policy.demand in ('once', 'forecast'):
            unmet = collections.Counter(
                (p, scope) for t, p, scope in self.failed
                if t >= max(since, self.grown.get(p, since)))
        else:
            unmet = collections.Counter((p, scope)
                                        for t, p, scope in self.failed
                                        if t >= since)
        demands = [demand.Demand(p, n, scope, source='unmet')
                   for (p, scope), n in sorted(unmet.items())]
        if self.policy.demand == 'forecast':
            demands = forecast.merge(demands, self.forecast(now))
        if not demands:
            return
        hosts: dict[str, list] = collections.defaultdict(list)
        for gpu in self.gpus:
            hosts[gpu.host].append(gpu.state(now))
        states = [fleet.HostState(name, '', 'mdev', gpus)
                  for name, gpus in sorted(hosts.items())]
        started = time.monotonic()
        result = fleet_plan.build(states, demands,
                                  time_limit=defaults.TIME_LIMIT,
                                  max_per_gpu_day=self.policy.max_per_gpu_day)
        self.plan_seconds.append(time.monotonic() - started)
        for row in result.rows:
            if row.free_after > row.free_before:
                self.grown[row.profile] = now
        by_key = {(g.host, g.pci_address): g for g in self.gpus}
        for change in result.changes:
            self.reconfigure(by_key[(change.host, change.pci_address)],
                             change.slots, now)

    def forecast(self, now: float) -> dict:
        """The product's forecast, from the samples the runs recorded.

        As ``rebalance plan --history`` does: this run's sample (GPU
        instances in use per profile, NoValidHost boots since the last
        run per profile and scope) is recorded, the lifetimes of the
        servers that ended within the window weigh the failed boots.
        """
        last = self.samples[-1].time / 3600.0 if self.samples else (
            now - self.policy.period)
        used = forecast.in_use(gi.slot.profile for gpu in self.gpus
                               for gi in gpu.gis.values() if gi.busy)
        self.samples.append(forecast.Sample(
            now * 3600.0, used, dict(collections.Counter(
                (p, scope) for t, p, scope in self.failed if t > last))))
        spans: dict[str, list[float]] = collections.defaultdict(list)
        for end, profile, life in reversed(self.ended):
            if end < now - self.policy.window:
                break
            spans[profile].append(life)
        lifetimes = {p: sum(v) / len(v) for p, v in spans.items()}
        ahead = int(self.policy.ahead) or forecast.horizon(
            now * 3600.0, self.policy.period * 3600.0,
            self.policy.max_per_gpu_day)
        days = defaults.FORECAST_DAYS
        recent = [s for s in self.samples
                  if s.time >= (now - 24 * days) * 3600.0]
        free = sum(slices_of(gi.slot.profile) for gpu in self.gpus
                   for gi in gpu.gis.values()
                   if not gi.busy and gi.ready_at <= now)
        return forecast.wanted(recent, now * 3600.0, used, ahead,
                               lifetimes, free_slices=free) or {}

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
