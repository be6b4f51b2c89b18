# SPDX-License-Identifier: Apache-2.0

"""Plan a rebalance of the cloud in one call: read, join, count, solve.

:func:`plan_cloud` is what ``openstack mig rebalance plan`` runs: it reads
the hosts' discover documents (:mod:`nova_mig.rebalance.fleet`), joins
them with Placement's usages, applies the re-partition history
(:mod:`nova_mig.rebalance.history`), counts the demand (failed boots and
targets, :mod:`nova_mig.rebalance.demand`), builds the plan
(:mod:`nova_mig.rebalance.fleet_plan`) and writes its layout files. The command
parses its options into a :class:`Request` and renders the
:class:`~nova_mig.rebalance.fleet_plan.Plan`.
"""

import dataclasses
import time

from nova_mig import naming
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import forecast
from nova_mig.rebalance import history
from nova_mig.rebalance import survey

#: The plan's own file beside the layout files.
PLAN_FILE = fleet_plan.PLAN_FILE


@dataclasses.dataclass(frozen=True)
class Request:
    """What to plan for, as the command's options give it."""

    #: Directory of the hosts' discover documents (``*.json``).
    hosts_dir: str
    #: Seconds: older documents are left out, failed boots counted.
    window: float
    scheme: naming.Scheme = dataclasses.field(
        default_factory=naming.Scheme)
    #: YAML file of minimum free slices per profile and scope.
    targets: str | None = None
    #: Directory of the re-partition history the playbook keeps.
    history_dir: str | None = None
    #: Count devices nova-mig did not create, unused, as free.
    include_foreign: bool = False
    #: Count the failed boots (False: the Compute API is read only for
    #: the scopes of scoped targets).
    unmet: bool = True
    max_gpus: int | None = None
    max_per_gpu_day: int = defaults.MAX_PER_GPU_DAY
    time_limit: float = defaults.TIME_LIMIT
    #: Write the layout files and ``plan.json`` here.
    output_dir: str | None = None
    #: With ``history_dir``: record a demand sample there and plan for
    #: the forecast of the coming hours too (:mod:`forecast`).
    forecast: bool = defaults.DEMAND == 'forecast'


@dataclasses.dataclass(frozen=True)
class Outcome:
    plan: fleet_plan.Plan
    #: Seconds spent planning and writing (not reading the cloud).
    seconds: float


def _hosts(cloud: survey.Cloud, request: Request,
           targets: list[demand.Demand]
           ) -> tuple[list[fleet.HostState], list[fleet.LeftOut]]:
    """The hosts to plan, those Placement agrees with; the others."""
    hosts, left = fleet.load_hosts(request.hosts_dir, request.window)
    if request.include_foreign:
        fleet.release_foreign(hosts)
    if targets:
        demand.check_profiles(targets, fleet_plan.known_profiles(hosts),
                              request.targets or '')
    rows = survey.provider_rows(cloud, request.scheme)
    hosts, disagreeing = fleet.join_placement(hosts, rows)
    return hosts, left + disagreeing


def _set_scopes(cloud: survey.Cloud, scheme: naming.Scheme,
                hosts: list[fleet.HostState],
                targets: list[demand.Demand]) -> None:
    """Set the hosts' and GPUs' scopes.

    A host's aggregates and zones are read only for scoped targets; a
    GPU's scope is its model (for boots whose flavor requires one).
    """
    if any(t.scope for t in targets):
        scopes = demand.host_scopes(cloud.compute)
        for host in hosts:
            host.scopes = frozenset(
                scopes.get(host.name) or
                scopes.get(host.name.split('.')[0]) or ())
    for host in hosts:
        for gpu in host.gpus:
            gpu.scopes = frozenset({demand.trait_scope(
                scheme.model_trait(gpu.model))})


def plan_cloud(cloud: survey.Cloud, request: Request) -> Outcome:
    """Plan new geometries for the cloud's demand; change nothing on it.

    Hosts whose document is missing, older than the window or disagrees
    with Placement are left out, with the reason (``plan.left_out``).
    With ``request.output_dir`` the layout files and ``plan.json`` are
    written there.

    :raises: :class:`nova_mig.exception.RebalanceExtraMissing` without
        SciPy (the "rebalance" extra), before anything is read;
        :class:`nova_mig.exception.RebalanceInputError` for a bad input
        file; :class:`nova_mig.exception.CloudUnreachable` (and the other
        Placement and Compute API errors) when the cloud cannot be read.
    """
    fleet_plan.require_solver()
    targets = (demand.load_targets(request.targets)
               if request.targets else [])
    hosts, left = _hosts(cloud, request, targets)
    past = (history.load(request.history_dir, window=request.window)
            if request.history_dir else history.History())
    history.apply(hosts, past.today)
    _set_scopes(cloud, request.scheme, hosts, targets)
    boots = survey.unmet_boots(cloud, request.scheme, request.window,
                               past.grown, count=request.unmet)
    wanted = demand.combine(boots.by_profile, targets, boots.by_scope)
    if request.history_dir and request.forecast:
        gpus = [g for h in hosts for g in h.gpus]
        wanted = forecast.plan_demand(
            request.history_dir, time.time(), boots, wanted,
            used=[s.profile for g in gpus for s in g.fixed],
            free=[s.profile for g in gpus for s in g.free],
            max_per_gpu_day=request.max_per_gpu_day)
    started = time.monotonic()
    result = fleet_plan.build(hosts, wanted, left_out=left,
                              max_gpus=request.max_gpus,
                              time_limit=request.time_limit,
                              max_per_gpu_day=request.max_per_gpu_day)
    if request.output_dir:
        fleet_plan.write_layouts(result, hosts, request.output_dir)
    return Outcome(result, time.monotonic() - started)
