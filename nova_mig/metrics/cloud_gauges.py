# SPDX-License-Identifier: Apache-2.0

"""The cloud-wide metrics: MIG capacity and usage in Placement, and demand.

:func:`registry` turns the per host, GPU model and profile lines of
``openstack mig capacity list --long`` and the NoValidHost boots per
profile into a ``prometheus_client`` registry; nothing here reads the
cloud. Sum over ``host`` for the cloud, over ``model`` for a profile.
"""

import dataclasses

from prometheus_client import core


@dataclasses.dataclass(frozen=True)
class Slices:
    """One profile on one GPU model of one host, as Placement counts it."""

    host: str
    model: str
    profile: str
    resource_class: str
    providers: int
    total: int
    used: int


class _Collector:

    def __init__(self, lines: list[Slices], unmet: dict[str, int] | None,
                 window: str,
                 repartitions: dict[tuple[str, str], int] | None) -> None:
        self.lines = lines
        self.unmet = unmet
        self.window = window
        self.repartitions = repartitions

    def describe(self) -> list[core.Metric]:
        return []

    def collect(self) -> list[core.GaugeMetricFamily]:
        labels = ('host', 'model', 'profile', 'resource_class')

        def family(name: str, text: str) -> core.GaugeMetricFamily:
            return core.GaugeMetricFamily(name, text, labels=labels)
        total = family('nova_mig_placement_slices',
                       'MIG slices Placement offers: (total - reserved) * '
                       'allocation_ratio of the GPU providers.')
        used = family('nova_mig_placement_slices_used',
                      'MIG slices allocated to instances in Placement.')
        free = family('nova_mig_placement_slices_free',
                      'MIG slices still free in Placement.')
        providers = family('nova_mig_placement_providers',
                           'GPU resource providers (one per vGPU parent: an '
                           'SR-IOV VF, or a GPU in vendor-specific VFIO '
                           'mode).')
        for line in self.lines:
            key = (line.host, line.model, line.profile, line.resource_class)
            total.add_metric(key, line.total)
            used.add_metric(key, line.used)
            free.add_metric(key, max(line.total - line.used, 0))
            providers.add_metric(key, line.providers)
        out = [total, used, free, providers]
        if self.unmet is not None:
            unmet = core.GaugeMetricFamily(
                'nova_mig_unmet_boots',
                'Boots that failed with NoValidHost over the window, per '
                'MIG profile the flavor asked for.',
                labels=('profile', 'window'))
            for profile in sorted(self.unmet):
                unmet.add_metric((profile, self.window), self.unmet[profile])
            out.append(unmet)
        if self.repartitions is not None:
            done = core.GaugeMetricFamily(
                'nova_mig_rebalance_repartitions',
                'Re-partitions of a GPU by rebalancing over the window, as '
                'the rebalance history records them.',
                labels=('host', 'gpu', 'window'))
            for (host, gpu), count in sorted(self.repartitions.items()):
                done.add_metric((host, gpu, self.window), count)
            out.append(done)
        return out


def registry(lines: list[Slices], unmet: dict[str, int] | None = None,
             window: str = '24h',
             repartitions: dict[tuple[str, str], int] | None = None
             ) -> core.CollectorRegistry:
    """A registry of the cloud's capacity, demand and re-partitions.

    ``unmet`` (demand) and ``repartitions`` (per host and GPU) are left
    out when None.
    """
    reg = core.CollectorRegistry(auto_describe=False)
    reg.register(_Collector(lines, unmet, window, repartitions))
    return reg
