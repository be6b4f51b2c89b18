# SPDX-License-Identifier: Apache-2.0

"""The cloud's MIG capacity and unmet demand, each view read in one call.

What ``openstack mig capacity list|show`` and ``openstack mig metrics``
show: the slices of Placement's GPU providers
(:func:`nova_mig.rebalance.unmet_capacity.read_slices`) summed per profile or
per host, the boots that failed with NoValidHost
(:func:`nova_mig.rebalance.demand.unmet_boots`) and the re-partitions the
rebalance history recorded. The commands parse their options, call one
function of this module and render what it returns.
"""

import collections
import datetime
import typing

from prometheus_client import core

from nova_mig.flavor import slice_capacity
from nova_mig.metrics import cloud_gauges
from nova_mig import naming
from nova_mig.placement import api_client
from nova_mig.rebalance import demand
from nova_mig.rebalance import history
from nova_mig.rebalance import unmet_capacity

#: Placement providers read at the same time.
READ_WORKERS = 8

#: What :func:`profile_lines` and :func:`host_lines` return.
ProfileLine = unmet_capacity.ProfileLine
HostLine = unmet_capacity.HostLine


class Cloud(typing.Protocol):
    """The services a survey reads; each is reached only when needed.

    :class:`nova_mig.osc.client.MigClient` is one: the Compute API is not
    asked for (nor required to exist) when no failed boot is counted.
    """

    @property
    def placement(self) -> api_client.PlacementClient:
        ...

    @property
    def compute(self) -> typing.Any:
        ...


def provider_rows(cloud: Cloud, scheme: naming.Scheme
                  ) -> list[slice_capacity.Slices]:
    """Every GPU provider's slices with its traits.

    In O(profiles) requests (:func:`nova_mig.rebalance.unmet_capacity.
    read_slices`); from a Placement too old for that, provider by
    provider, :data:`READ_WORKERS` at a time.
    """
    return unmet_capacity.read_slices(cloud.placement, scheme,
                                      workers=READ_WORKERS)


def unmet_boots(cloud: Cloud, scheme: naming.Scheme, window: float,
                grown: dict[str, float] | None = None,
                count: bool = True) -> demand.UnmetBoots:
    """The boots that failed with NoValidHost over the past ``window``.

    :param window: seconds back from now.
    :param grown: profile -> when its capacity last grew: older boots
        are not counted again (see :func:`demand.unmet_boots`).
    :param count: False: none, without asking the Compute API.
    """
    if not count:
        return demand.UnmetBoots({})
    since = (datetime.datetime.now(datetime.timezone.utc) -
             datetime.timedelta(seconds=window))
    return demand.unmet_boots(cloud.compute, scheme, since, grown)


def profile_lines(cloud: Cloud, scheme: naming.Scheme, window: float,
                  unmet: bool = True) -> list[ProfileLine]:
    """Per profile: models, hosts, providers, total, used, free, unmet.

    :param unmet: False: leave the Compute API alone (unmet counts 0).
    """
    rows = provider_rows(cloud, scheme)
    boots = unmet_boots(cloud, scheme, window, count=unmet)
    return unmet_capacity.by_profile(rows, scheme, boots.by_profile)


def host_lines(cloud: Cloud, scheme: naming.Scheme
               ) -> list[HostLine]:
    """Per host, GPU model and profile: providers, total, used, free."""
    return unmet_capacity.by_host(provider_rows(cloud, scheme),
                                  scheme)


def slices(rows: unmet_capacity.Rows,
           scheme: naming.Scheme) -> list[cloud_gauges.Slices]:
    """Placement's provider rows summed per host, model and profile."""
    groups: dict[tuple[str, str, str, str],
                 list[slice_capacity.Slices]] = (
        collections.defaultdict(list))
    for row in rows:
        groups[(row.host, unmet_capacity.model_of(row.traits, scheme),
                row.profile, row.resource_class)].append(row)
    return [cloud_gauges.Slices(host=host, model=model, profile=profile,
                                resource_class=rc,
                                providers=len({r.provider for r in group}),
                                total=sum(r.capacity for r in group),
                                used=sum(r.used for r in group))
            for (host, model, profile, rc), group in sorted(groups.items())]


def metrics(cloud: Cloud, scheme: naming.Scheme, window: str,
            seconds: float, unmet: bool = True,
            history_dir: str | None = None) -> core.CollectorRegistry:
    """The cloud's capacity, demand and re-partitions as a registry.

    :param window: the duration as given (a label of the demand metric);
        ``seconds`` is its value.
    :param unmet: False: no demand metric, the Compute API is not read.
    :param history_dir: the playbook's history: the re-partitions per
        GPU over the window (none without it).
    :raises: :class:`nova_mig.exception.RebalanceInputError` for a bad
        history line, before any service is asked.
    """
    done = (history.repartitions(history_dir, seconds)
            if history_dir else None)
    rows = provider_rows(cloud, scheme)
    by_profile: dict[str, int] | None = None
    if unmet:
        by_profile = unmet_boots(cloud, scheme, seconds).by_profile
        # A profile offered and never refused counts 0, not absent.
        for row in rows:
            by_profile.setdefault(row.profile, 0)
    return cloud_gauges.registry(slices(rows, scheme), by_profile, window,
                                 done)
