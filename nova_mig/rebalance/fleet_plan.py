# SPDX-License-Identifier: Apache-2.0

"""A rebalance plan: new geometries for the fleet, one layout file per host.

:func:`build` takes the hosts (:mod:`nova_mig.rebalance.fleet`) and the
demand (:mod:`nova_mig.rebalance.demand`), groups interchangeable GPUs,
lists each group's candidate geometries (:mod:`nova_mig.rebalance.geometry`:
the GPU instances in use stay where they are, the free slices around them
are re-partitioned), lets the solver (:mod:`nova_mig.rebalance.solver`)
choose, and maps the choice back to GPUs, filling as few hosts as it can.
Each touched host gets a layout file (the format of ``nova-mig layout``)
naming only its touched GPUs, by PCI address, with every GPU instance at
its placement and the vGPU devices of those kept pinned by UUID and type.
"""

import collections
import dataclasses
import os
import time
import typing

from nova_mig.documents import discover
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.layout import spec
from nova_mig.model import constants
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import geometry
from nova_mig.rebalance import solver

PLAN_FILE = 'plan.json'

#: Slots of one GPU: a geometry, or the part of one.
_Slots = tuple[geometry.Slot, ...]
#: GPUs grouped alike: profile table key, demand scopes, at budget.
_GroupKey = tuple[typing.Hashable, frozenset[str], bool]
#: Candidate geometries cached: profile table key, slots kept.
_CacheKey = tuple[typing.Hashable, _Slots]


@dataclasses.dataclass
class GpuChange:
    host: str
    pci_address: str
    model: str
    before: list[str]
    after: list[str]
    kept_in_use: int
    slots: tuple[geometry.Slot, ...]

    @property
    def grown(self) -> list[str]:
        """The profiles of which the GPU has more instances after."""
        more = collections.Counter(self.after) - collections.Counter(
            self.before)
        return sorted(more)


@dataclasses.dataclass
class ProfileRow:
    profile: str
    scope: str
    wanted: int
    free_before: int
    free_after: int

    @property
    def covered_before(self) -> int:
        return min(self.wanted, self.free_before)

    @property
    def covered_after(self) -> int:
        return min(self.wanted, self.free_after)


@dataclasses.dataclass
class Plan:
    rows: list[ProfileRow]
    changes: list[GpuChange]
    left_out: list[fleet.LeftOut]
    hosts_planned: int
    gpus_planned: int
    seconds: float
    optimal: bool
    layouts: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Seconds of each solver pass.
    passes: list[float] = dataclasses.field(default_factory=list)
    #: Re-partitions allowed per GPU per UTC day (None: no limit).
    max_per_gpu_day: int | None = None
    #: ``<host> <PCI address>`` of the GPUs that reached it: kept as is.
    at_budget: list[str] = dataclasses.field(default_factory=list)

    @property
    def hosts_touched(self) -> list[str]:
        return sorted({c.host for c in self.changes})

    def as_dict(self) -> dict[str, typing.Any]:
        return {
            'profiles': [dict(dataclasses.asdict(r),
                              covered_before=r.covered_before,
                              covered_after=r.covered_after)
                         for r in self.rows],
            'gpus_touched': len(self.changes),
            'hosts_touched': self.hosts_touched,
            'hosts_planned': self.hosts_planned,
            'gpus_planned': self.gpus_planned,
            'left_out': [dataclasses.asdict(h) for h in self.left_out],
            'changes': [{'host': c.host, 'gpu': c.pci_address,
                         'model': c.model, 'before': c.before,
                         'after': c.after, 'grown': c.grown,
                         'kept_in_use': c.kept_in_use}
                        for c in self.changes],
            'layouts': dict(self.layouts),
            'solver_seconds': round(self.seconds, 3),
            'solver_passes': [round(p, 3) for p in self.passes],
            'optimal': self.optimal,
            'max_per_gpu_day': self.max_per_gpu_day,
            'at_budget': list(self.at_budget),
        }


def known_profiles(hosts: list[fleet.HostState]) -> set[str]:
    """The profiles some GPU of the hosts offers."""
    return {n for h in hosts for g in h.gpus for n in g.table.names}


def _scopes(host: fleet.HostState, gpu: fleet.GpuState) -> frozenset[str]:
    """A GPU's scopes: its host's (aggregates, zones) and its own (model)."""
    return host.scopes | gpu.scopes


def _in_scope(scopes: frozenset[str], scope: str) -> bool:
    return not scope or scope in scopes


class _Builder:

    def __init__(self, hosts: list[fleet.HostState],
                 demands: list[demand.Demand],
                 deadline: float | None = None,
                 max_per_gpu_day: int | None = None):
        self.hosts = hosts
        #: When the search for candidate geometries stops.
        self.deadline = deadline
        #: False once a search stopped before it saw every geometry.
        self.complete = True
        self.demands = demands
        self.budget = max_per_gpu_day
        variants = {d.profile for d in demands if geometry.is_variant(
            d.profile)}
        self.variants = variants
        self.cache: dict[_CacheKey, list[_Slots]] = {}
        self.members: dict[_GroupKey, list[fleet.GpuState]] = \
            collections.defaultdict(list)
        for host in hosts:
            for gpu in host.gpus:
                self.members[(gpu.key, _scopes(host, gpu),
                              self.at_budget(gpu))].append(gpu)
        self.keys = sorted(self.members, key=repr)

    def at_budget(self, gpu: fleet.GpuState) -> bool:
        """True when the GPU may not be re-partitioned again today."""
        return self.budget is not None and gpu.changes_today >= self.budget

    def slices(self, profile: str) -> int:
        """Compute slices of a profile, from the first table knowing it."""
        for host in self.hosts:
            for gpu in host.gpus:
                found = gpu.table.get(profile)
                if found is not None:
                    return found.slice_count
        return 1

    def allowed(self, table: geometry.ProfileTable) -> set[str]:
        return {n for n in table.names
                if not geometry.is_variant(n) or n in self.variants}

    def completions(self, gpu: fleet.GpuState) -> list[_Slots]:
        key = (gpu.table.key, gpu.fixed)
        if key not in self.cache:
            found, complete = geometry.completions_by(
                gpu.table, gpu.fixed, self.allowed(gpu.table),
                deadline=self.deadline)
            self.cache[key] = found
            self.complete = self.complete and complete
        return self.cache[key]

    def groups(self) -> tuple[list[solver.Group], list[list[_Slots]]]:
        groups = []
        layouts = []
        for key in self.keys:
            gpus = self.members[key]
            gpu = gpus[0]
            current = geometry.counts(gpu.free)
            options = [solver.Option(free=current)]
            new: list[_Slots] = [()]
            for slots in ([] if key[2] else self.completions(gpu)):
                free = geometry.counts(slots)
                if free == current:
                    continue
                whole = tuple(sorted(s.profile
                                     for s in gpu.fixed + slots))
                options.append(solver.Option(free=free,
                                             geometry=(gpu.model, whole)))
                new.append(slots)
            groups.append(solver.Group(count=len(gpus), options=options,
                                       scopes=key[1]))
            layouts.append(new)
        return groups, layouts


def _free(gpus: typing.Iterable[tuple[frozenset[str], dict[str, int]]],
          profile: str, scope: str) -> int:
    return sum(free.get(profile, 0) for scopes, free in gpus
               if _in_scope(scopes, scope))


def require_solver() -> None:
    """Raise unless the solver's libraries (the ``rebalance`` extra) exist.

    :raises: :class:`nova_mig.exception.RebalanceExtraMissing`
    """
    solver.require()


def build(hosts: list[fleet.HostState], demands: list[demand.Demand],
          left_out: list[fleet.LeftOut] | None = None,
          max_gpus: int | None = None,
          time_limit: float = solver.DEFAULT_TIME_LIMIT,
          max_per_gpu_day: int | None = None) -> Plan:
    """Plan the fleet; see the module docstring.

    ``time_limit`` bounds each phase: the search for candidate geometries
    (a crafted profile table can have more than any time allows; the
    plan then uses those found and is not optimal), each solver pass, and
    the choice of where each chosen geometry's GPU instances go.

    :param max_per_gpu_day: re-partitions a GPU may have per UTC day; a
        GPU whose ``changes_today`` reached it keeps its geometry (listed
        in the plan's ``at_budget``). None: no limit.
    """
    started = time.monotonic()
    builder = _Builder(hosts, demands, deadline=started + time_limit,
                       max_per_gpu_day=max_per_gpu_day)
    groups, candidates = builder.groups()
    rows = [solver.Row(d.profile, d.wanted, d.scope,
                       weight=builder.slices(d.profile)) for d in demands]
    solution = solver.solve(groups, rows, max_gpus=max_gpus,
                            time_limit=time_limit)
    changes = []
    after: dict[tuple[str, str], dict[str, int]] = {}
    deadline = time.monotonic() + time_limit
    for k, key in enumerate(builder.keys):
        gpus = _fill_order(builder.members[key])
        position = 0
        for option, count in sorted(solution.chosen[k].items(),
                                    key=lambda item: (item[0] == 0, item)):
            for gpu in gpus[position:position + count]:
                if option == 0:
                    after[(gpu.host, gpu.pci_address)] = geometry.counts(
                        gpu.free)
                    continue
                wanted = groups[k].options[option].free
                try:
                    slots = geometry.arrangement(
                        gpu.table, gpu.fixed, wanted, prefer=gpu.free,
                        deadline=deadline)
                except ValueError:
                    # Out of time: the arrangement the candidate search
                    # found gives the same counts.
                    slots = candidates[k][option]
                after[(gpu.host, gpu.pci_address)] = geometry.counts(slots)
                changes.append(GpuChange(
                    host=gpu.host, pci_address=gpu.pci_address,
                    model=gpu.model,
                    before=[s.profile for s in sorted(gpu.fixed + gpu.free)],
                    after=[s.profile for s in sorted(gpu.fixed + slots)],
                    kept_in_use=len(gpu.fixed),
                    slots=tuple(sorted(gpu.fixed + slots))))
            position += count
    scopes = {(g.host, g.pci_address): _scopes(h, g)
              for h in hosts for g in h.gpus}
    before_free = [(scopes[(g.host, g.pci_address)], geometry.counts(g.free))
                   for h in hosts for g in h.gpus]
    after_free = [(scopes[key], free) for key, free in after.items()]
    profile_rows = [ProfileRow(
        profile=d.profile, scope=d.scope, wanted=d.wanted,
        free_before=_free(before_free, d.profile, d.scope),
        free_after=_free(after_free, d.profile, d.scope)) for d in demands]
    return Plan(rows=profile_rows,
                changes=sorted(changes, key=lambda c: (c.host,
                                                       c.pci_address)),
                left_out=list(left_out or ()), hosts_planned=len(hosts),
                gpus_planned=sum(len(h.gpus) for h in hosts),
                seconds=solution.seconds,
                optimal=solution.optimal and builder.complete,
                passes=list(solution.passes),
                max_per_gpu_day=max_per_gpu_day,
                at_budget=sorted('%s %s' % (g.host, g.pci_address)
                                 for h in hosts for g in h.gpus
                                 if builder.at_budget(g)))


def _fill_order(gpus: list[fleet.GpuState]) -> list[fleet.GpuState]:
    """Hosts with more GPUs of the group first: fewer hosts touched."""
    per_host = collections.Counter(g.host for g in gpus)
    return sorted(gpus, key=lambda g: (-per_host[g.host], g.host,
                                       g.pci_address))


def _pinned(dev: fleet.PinnedDevice | None) -> spec.VgpuSpec | None:
    """The vGPU device to keep on a GPU instance kept, by type and UUID."""
    if not dev or not dev.get('type'):
        return None
    return spec.VgpuSpec(uuid=dev.get('uuid') or None,
                         type=str(dev['type']).split()[-1])


def host_layout(host: fleet.HostState,
                changes: list[GpuChange]) -> spec.Layout:
    """The layout of one host: its touched GPUs only.

    Written by :meth:`nova_mig.layout.spec.Layout.dump` (the layout
    file's one writer), it is the file ``nova-mig layout apply`` and
    ``nova-mig rebalance apply`` read.
    """
    gpus = {g.pci_address: g for g in host.gpus}
    mode = (host.device_mode if host.device_mode in spec.DEVICE_MODES
            else constants.MODE_AUTO)
    entries: list[spec.GpuSpec] = []
    for change in changes:
        gpu = gpus[change.pci_address]
        keep = set(gpu.fixed) | set(gpu.free)
        entries.append(spec.GpuSpec(
            selector=spec.Selector(pci_address=gpu.pci_address),
            where='gpus[%d]' % len(entries),
            comment='rebalance: %s %s, %d GPU instance(s) in use kept'
                    % (gpu.model, gpu.uuid, len(gpu.fixed)),
            mig=True, device_mode=mode,
            sriov_vfs=(spec.ALL_VFS if gpu.sriov_vfs is None
                       else gpu.sriov_vfs),
            gpu_instances=tuple(
                spec.GiSpec(slot.profile, slot.start, _pinned(
                    gpu.devices.get(slot.start) if slot in keep else None))
                for slot in change.slots)))
    return spec.Layout(
        gpus=tuple(entries),
        description='Rebalance of host %s by nova-mig' % host.name)


def _confined(directory: str, name: str) -> str:
    """``<directory>/<name>.yaml``, proved to lie in ``directory``."""
    path = os.path.join(directory, '%s.yaml' % name)
    inside = os.path.realpath(directory)
    if (not discover.is_hostname(name) or
            os.path.dirname(os.path.realpath(path)) != inside):
        raise exception.RebalanceInputError(
            path=directory, where='--output-dir',
            reason='refusing to write a layout for host %s: not a DNS '
                   'host name, or not a file of this directory'
                   % discover.shown(name))
    return path


def write_layouts(plan: Plan, hosts: list[fleet.HostState],
                  directory: str) -> dict[str, str]:
    """Write ``<host>.yaml`` per touched host and ``plan.json``.

    Every file lands in ``directory`` itself: a host name that is not a
    DNS host name (``../x``, ``/etc/x``, a line break) is refused, and
    the resolved path must lie in the resolved directory.

    :returns: host -> layout file path (also kept in ``plan.layouts``).
    :raises: :class:`nova_mig.exception.RebalanceInputError` for such a
        host name, before anything is written.
    """
    os.makedirs(directory, exist_ok=True)
    by_host = {h.name: h for h in hosts}
    grouped: dict[str, list[GpuChange]] = collections.defaultdict(list)
    for change in plan.changes:
        grouped[change.host].append(change)
    paths = {name: _confined(directory, name) for name in grouped}
    for name, changes in sorted(grouped.items()):
        text = host_layout(by_host[name], changes).dump()
        path = paths[name]
        fileutils.write_if_changed(
            path, '# nova-mig rebalance layout of host %s\n' % name + text)
        plan.layouts[name] = path
    fileutils.write_json(os.path.join(directory, PLAN_FILE), plan.as_dict())
    return dict(plan.layouts)
