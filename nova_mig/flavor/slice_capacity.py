# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide MIG capacity: total, used and free slices per profile.

Read from Placement with a
:class:`nova_mig.placement.api_client.PlacementClient` (or anything with its
``request``/``providers``/``inventories``/``provider_traits`` methods). A GPU
provider counts for a profile when it has an inventory of the profile's
resource class (``CUSTOM_MIG_1G_10GB``), or an inventory of ``VGPU`` and
exactly one MIG profile trait (deployments keeping Nova's ``VGPU`` class).

Requests: ``GET /resource_providers`` once, ``GET .../inventories`` per
provider, then ``GET .../usages`` (and ``.../traits`` for ``VGPU``
providers, or all with ``traits=True``) per GPU provider found.
:func:`nova_mig.rebalance.unmet_capacity.read_slices` reads the same
:class:`Slices` (without ``total`` and ``reserved``) in a few requests per
profile.
"""

import collections
from concurrent import futures
import dataclasses
import logging
import typing

from nova_mig import exception
from nova_mig.model import constants
from nova_mig import naming

LOG = logging.getLogger(__name__)

MV_USAGES = '1.9'
MV_TRAIT_LIST = '1.6'


class PlacementApi(typing.Protocol):
    """What the flavor library asks of a Placement client.

    :class:`nova_mig.placement.api_client.PlacementClient` has it all.
    """

    def request(self, method: str, path: str, microversion: str,
                body: dict[str, typing.Any] | None = None,
                ok: tuple[int, ...] = (200,)) -> tuple[int, typing.Any]:
        ...

    def providers(self) -> list[dict[str, typing.Any]]:
        ...

    def inventories(self, uuid: str
                    ) -> tuple[dict[str, dict[str, typing.Any]], int]:
        ...

    def provider_traits(self, uuid: str) -> tuple[set[str], int]:
        ...

    def resource_classes(self) -> set[str]:
        ...

    def existing_traits(self, names: set[str]) -> set[str]:
        ...

    def ensure_trait(self, name: str) -> bool:
        ...


@dataclasses.dataclass(kw_only=True)
class Slices:
    """One GPU provider's slices of one MIG profile: capacity and usage.

    What Placement's bulk read (``nova_mig.rebalance.unmet_capacity``) gives:
    ``(total - reserved) * allocation_ratio`` and the units in use.
    """

    host: str
    provider: str
    uuid: str
    profile: str
    resource_class: str
    capacity: int               # (total - reserved) * allocation_ratio
    used: int
    traits: list[str] = dataclasses.field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - self.used, 0)


@dataclasses.dataclass(kw_only=True)
class ProviderSlices(Slices):
    """:class:`Slices` read from the provider's inventory: with its parts."""

    total: int
    reserved: int


@dataclasses.dataclass
class ProfileCapacity:
    """A profile's slices over the whole cloud."""

    profile: str
    resource_class: str
    hosts: int
    providers: int
    capacity: int
    used: int

    @property
    def free(self) -> int:
        return max(self.capacity - self.used, 0)


def provider_slices(client: PlacementApi, scheme: naming.Scheme,
                    traits: bool = False,
                    workers: int = 1) -> list[ProviderSlices]:
    """Every GPU provider's MIG slices, sorted by host and provider.

    :param traits: read every GPU provider's traits (for ``--long``).
    :param workers: providers read at the same time (threads); a large
        cloud has thousands of GPU providers, each two or three requests.
    """
    providers = client.providers()
    by_uuid = {p['uuid']: p for p in providers}

    def read(rp: dict[str, typing.Any]) -> list[ProviderSlices]:
        inventories, _ = client.inventories(rp['uuid'])
        vgpu = inventories.get(constants.VGPU)
        if vgpu is None and not any(map(scheme.profile_of_class,
                                        inventories)):
            return []
        rp_traits: set[str] = set()
        if traits or vgpu is not None:
            rp_traits, _ = client.provider_traits(rp['uuid'])
        profiles = profile_classes(scheme, rp['name'], inventories,
                                   rp_traits)
        mig = {rc: (profile, inventories[rc])
               for rc, profile in profiles.items()}
        if not mig:
            return []
        usages = client.request(
            'GET', '/resource_providers/%s/usages' % rp['uuid'],
            MV_USAGES)[1]['usages']
        root = by_uuid.get(rp.get('root_provider_uuid') or rp['uuid'], rp)
        rows = []
        for rc, (profile, inv) in sorted(mig.items()):
            total = int(inv.get('total', 0))
            reserved = int(inv.get('reserved', 0))
            ratio = float(inv.get('allocation_ratio', 1.0))
            rows.append(ProviderSlices(
                host=root['name'], provider=rp['name'], uuid=rp['uuid'],
                profile=profile,
                resource_class=rc, total=total, reserved=reserved,
                capacity=int((total - reserved) * ratio),
                used=int(usages.get(rc, 0)), traits=sorted(rp_traits)))
        return rows

    ordered = sorted(providers, key=lambda p: p['name'])
    if workers > 1:
        with futures.ThreadPoolExecutor(workers) as pool:
            found = list(pool.map(read, ordered))
    else:
        found = [read(rp) for rp in ordered]
    rows = [row for group in found for row in group]
    return sorted(rows, key=lambda r: (r.host, r.provider, r.profile))


def profile_classes(scheme: naming.Scheme, name: str,
                    classes: typing.Collection[str],
                    traits: typing.Iterable[str]) -> dict[str, str]:
    """A GPU provider's resource classes of MIG profiles: class -> profile.

    A MIG resource class names its profile; ``VGPU`` counts for the one
    MIG profile trait the provider has (none or several: not counted,
    several with a warning naming the provider ``name``).
    """
    found = {rc: profile for rc in classes
             for profile in [scheme.profile_of_class(rc)] if profile}
    if constants.VGPU in classes:
        profiles = {p for p in map(scheme.profile_of_trait, traits) if p}
        if len(profiles) == 1:
            found[constants.VGPU] = profiles.pop()
        elif profiles:
            LOG.warning('Provider %s has VGPU inventory and several MIG '
                        'profile traits (%s); not counted.', name,
                        ', '.join(sorted(profiles)))
    return found


def by_profile(rows: list[ProviderSlices]) -> list[ProfileCapacity]:
    """Sum provider rows per profile (and resource class), by profile."""
    groups: dict[tuple[str, str], list[ProviderSlices]] = (
        collections.defaultdict(list))
    for row in rows:
        groups[(row.profile, row.resource_class)].append(row)
    return [ProfileCapacity(
        profile=profile, resource_class=rc,
        hosts=len({r.host for r in group}), providers=len(group),
        capacity=sum(r.capacity for r in group),
        used=sum(r.used for r in group))
        for (profile, rc), group in sorted(groups.items())]


def offered_profiles(client: PlacementApi,
                     scheme: naming.Scheme) -> list[str]:
    """Profiles some GPU provider of the cloud has an inventory of."""
    return sorted({r.profile for r in provider_slices(client, scheme)
                   if r.total > 0})


def known_profiles(client: PlacementApi, scheme: naming.Scheme) -> set[str]:
    """Profiles whose resource class (or, VGPU class kept, trait) exists.

    One request; no provider is read.
    """
    if scheme.vgpu_class:
        known = map(scheme.profile_of_trait, custom_traits(client))
    else:
        known = map(scheme.profile_of_class, client.resource_classes())
    return {p for p in known if p}


def custom_traits(client: PlacementApi) -> list[str]:
    """Every ``CUSTOM_`` trait Placement knows."""
    body = client.request('GET', '/traits?name=startswith:CUSTOM_',
                          MV_TRAIT_LIST)[1]
    return sorted(body['traits'])


def check_profile(client: PlacementApi, scheme: naming.Scheme,
                  profile: str) -> None:
    """Refuse a profile Placement knows neither class nor trait of.

    :raises: :class:`nova_mig.exception.NotMigProfile` for a malformed
        name, :class:`nova_mig.exception.ProfileNotOffered` naming the
        known profiles otherwise.
    """
    if not constants.is_profile(profile):
        raise exception.NotMigProfile(profile=profile)
    known = known_profiles(client, scheme)
    if profile not in known:
        name = ('trait %s' % scheme.profile_trait(profile)
                if scheme.vgpu_class
                else 'resource class %s' % scheme.resource_class(profile))
        raise exception.ProfileNotOffered(
            profile=profile, name=name,
            known=', '.join(sorted(known)) or 'none')
