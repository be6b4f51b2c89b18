# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide MIG capacity with the unmet demand beside it.

Built from :func:`read_slices` rows (each GPU provider's capacity, usage
and GPU model traits, read from Placement in a few requests) and
:class:`nova_mig.rebalance.demand.UnmetBoots`.
"""

import collections
import dataclasses
import logging
import typing

from nova_mig.flavor import slice_capacity
from nova_mig.model import constants
from nova_mig import naming
from nova_mig.placement import api_client
from nova_mig.placement import bulk

LOG = logging.getLogger(__name__)

Rows = typing.Sequence[slice_capacity.Slices]


@dataclasses.dataclass
class ProfileLine:
    """One profile over the cloud."""

    profile: str
    resource_class: str
    models: list[str]
    hosts: int
    providers: int
    total: int
    used: int
    unmet: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


@dataclasses.dataclass
class HostLine:
    """One profile on one GPU model of one host."""

    host: str
    model: str
    profile: str
    providers: int
    total: int
    used: int

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)


def model_of(traits: typing.Iterable[str], scheme: naming.Scheme) -> str:
    """The GPU model a provider's traits name, without the trait prefix."""
    prefix = scheme.model_trait_prefix()
    models = sorted(t[len(prefix):] for t in traits
                    if prefix and t.startswith(prefix))
    return ','.join(models) or 'unknown'


def read_slices(client: api_client.PlacementClient, scheme: naming.Scheme,
                workers: int = 1) -> list[slice_capacity.Slices]:
    """Every GPU provider's MIG slices with its traits, by host and provider.

    Placement is read in O(profiles) requests
    (:func:`nova_mig.placement.bulk.read`): the resource classes, then one
    ``GET /allocation_candidates`` per MIG resource class (and ``VGPU``).
    The rows equal :func:`nova_mig.flavor.slice_capacity.provider_slices`'s
    with ``traits=True``, without inventory ``total`` and ``reserved``.

    :param workers: providers read at the same time where Placement is
        older than microversion 1.29 and is read provider by provider.
    """
    classes = {rc for rc in client.resource_classes()
               if scheme.profile_of_class(rc)} | {constants.VGPU}
    reading = bulk.read(client, classes)
    if reading is None:
        return list(slice_capacity.provider_slices(
            client, scheme, traits=True, workers=workers))
    providers = reading.providers
    rows = []
    for rp in providers.values():
        if not classes & set(rp.resources):
            continue
        root = providers.get(rp.root_uuid, rp)
        profiles = slice_capacity.profile_classes(
            scheme, rp.name, rp.resources, rp.traits)
        for rc, profile in sorted(profiles.items()):
            capacity, used = rp.resources[rc]
            rows.append(slice_capacity.Slices(
                host=root.name, provider=rp.name, uuid=rp.uuid,
                profile=profile, resource_class=rc, capacity=capacity,
                used=used, traits=sorted(rp.traits)))
    LOG.debug('Placement read in %d requests (%d bulk, %d trees one by '
              'one): %d GPU provider rows.', reading.requests,
              reading.bulk_requests, reading.trees_one_by_one, len(rows))
    return sorted(rows, key=lambda r: (r.host, r.provider, r.profile))


def by_profile(rows: Rows, scheme: naming.Scheme,
               unmet: dict[str, int]) -> list[ProfileLine]:
    """Per profile: models, hosts, GPU providers, total, used, unmet.

    A GPU provider is what Nova makes per vGPU parent: one per VF in mdev
    mode (one slice each), one per GPU in vendor-specific VFIO mode.

    :param rows: from :func:`read_slices`.
    :param unmet: profile -> NoValidHost boots in the window; profiles no
        provider offers get a line of their own.
    """
    groups: dict[str, list[slice_capacity.Slices]] = (
        collections.defaultdict(list))
    for row in rows:
        groups[row.profile].append(row)
    lines = []
    for profile in sorted(set(groups) | set(unmet)):
        group = groups.get(profile, [])
        lines.append(ProfileLine(
            profile=profile,
            resource_class=(group[0].resource_class if group
                            else scheme.resource_class(profile)),
            models=sorted({model_of(r.traits, scheme) for r in group}),
            hosts=len({r.host for r in group}),
            providers=len({r.provider for r in group}),
            total=sum(r.capacity for r in group),
            used=sum(r.used for r in group),
            unmet=unmet.get(profile, 0)))
    return lines


def by_host(rows: Rows, scheme: naming.Scheme) -> list[HostLine]:
    """Per host, GPU model and profile."""
    groups: dict[tuple[str, str, str], list[slice_capacity.Slices]] = (
        collections.defaultdict(list))
    for row in rows:
        groups[(row.host, model_of(row.traits, scheme),
                row.profile)].append(row)
    return [HostLine(host=host, model=model, profile=profile,
                     providers=len({r.provider for r in group}),
                     total=sum(r.capacity for r in group),
                     used=sum(r.used for r in group))
            for (host, model, profile), group in sorted(groups.items())]
