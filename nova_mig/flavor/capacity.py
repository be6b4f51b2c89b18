"""Cloud-wide MIG capacity: total, used and free slices per profile.

Read from Placement with a :class:`nova_mig.placement.client.PlacementClient`
(or anything with its ``request``/``providers``/``inventories``/
``provider_traits`` methods). A GPU provider counts for a profile when it
has an inventory of the profile's resource class (``CUSTOM_MIG_1G_10GB``),
or an inventory of ``VGPU`` and exactly one MIG profile trait (deployments
keeping Nova's ``VGPU`` class).

Requests: ``GET /resource_providers`` once, ``GET .../inventories`` per
provider, then ``GET .../usages`` (and ``.../traits`` for ``VGPU``
providers, or all with ``traits=True``) per GPU provider found.
"""

import collections
import dataclasses

from oslo_log import log as logging

from nova_mig import exception
from nova_mig.flavor import names

LOG = logging.getLogger(__name__)

MV_USAGES = '1.9'
MV_TRAIT_LIST = '1.6'


@dataclasses.dataclass
class ProviderSlices:
    """One GPU provider's slices of one MIG profile."""

    host: str
    provider: str
    uuid: str
    profile: str
    resource_class: str
    total: int
    reserved: int
    capacity: int               # (total - reserved) * allocation_ratio
    used: int
    traits: list[str] = dataclasses.field(default_factory=list)

    @property
    def free(self) -> int:
        return max(self.capacity - self.used, 0)


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


def provider_slices(client, scheme: names.Scheme,
                    traits: bool = False) -> list[ProviderSlices]:
    """Every GPU provider's MIG slices, sorted by host and provider.

    :param traits: read every GPU provider's traits (for ``--long``).
    """
    providers = client.providers()
    by_uuid = {p['uuid']: p for p in providers}
    rows = []
    for rp in sorted(providers, key=lambda p: p['name']):
        inventories, _ = client.inventories(rp['uuid'])
        mig = {rc: inv for rc, inv in inventories.items()
               if scheme.profile_of_class(rc)}
        vgpu = inventories.get(names.VGPU)
        if not mig and vgpu is None:
            continue
        rp_traits: set[str] = set()
        if traits or vgpu is not None:
            rp_traits, _ = client.provider_traits(rp['uuid'])
        if vgpu is not None:
            profiles = {scheme.profile_of_trait(t) for t in rp_traits} - {
                None}
            if len(profiles) == 1:
                mig[names.VGPU] = dict(vgpu, profile=profiles.pop())
            elif profiles:
                LOG.warning('Provider %s has VGPU inventory and several MIG '
                            'profile traits (%s); not counted.', rp['name'],
                            ', '.join(sorted(profiles)))
        if not mig:
            continue
        usages = client.request(
            'GET', '/resource_providers/%s/usages' % rp['uuid'],
            MV_USAGES)[1]['usages']
        root = by_uuid.get(rp.get('root_provider_uuid') or rp['uuid'], rp)
        for rc, inv in sorted(mig.items()):
            total = int(inv.get('total', 0))
            reserved = int(inv.get('reserved', 0))
            ratio = float(inv.get('allocation_ratio', 1.0))
            rows.append(ProviderSlices(
                host=root['name'], provider=rp['name'], uuid=rp['uuid'],
                profile=inv.get('profile') or scheme.profile_of_class(rc),
                resource_class=rc, total=total, reserved=reserved,
                capacity=int((total - reserved) * ratio),
                used=int(usages.get(rc, 0)), traits=sorted(rp_traits)))
    return sorted(rows, key=lambda r: (r.host, r.provider, r.profile))


def by_profile(rows: list[ProviderSlices]) -> list[ProfileCapacity]:
    """Sum provider rows per profile (and resource class), by profile."""
    groups = collections.defaultdict(list)
    for row in rows:
        groups[(row.profile, row.resource_class)].append(row)
    return [ProfileCapacity(
        profile=profile, resource_class=rc,
        hosts=len({r.host for r in group}), providers=len(group),
        capacity=sum(r.capacity for r in group),
        used=sum(r.used for r in group))
        for (profile, rc), group in sorted(groups.items())]


def offered_profiles(client, scheme: names.Scheme) -> list[str]:
    """Profiles some GPU provider of the cloud has an inventory of."""
    return sorted({r.profile for r in provider_slices(client, scheme)
                   if r.total > 0})


def known_profiles(client, scheme: names.Scheme) -> set[str]:
    """Profiles whose resource class (or, VGPU class kept, trait) exists.

    One request; no provider is read.
    """
    if scheme.vgpu_class:
        known = {scheme.profile_of_trait(t) for t in custom_traits(client)}
    else:
        known = {scheme.profile_of_class(rc)
                 for rc in client.resource_classes()}
    known.discard(None)
    return known


def custom_traits(client) -> list[str]:
    """Every ``CUSTOM_`` trait Placement knows."""
    body = client.request('GET', '/traits?name=startswith:CUSTOM_',
                          MV_TRAIT_LIST)[1]
    return sorted(body['traits'])


def check_profile(client, scheme: names.Scheme, profile: str) -> None:
    """Refuse a profile Placement knows neither class nor trait of.

    :raises: :class:`nova_mig.exception.NotMigProfile` for a malformed
        name, :class:`nova_mig.exception.ProfileNotOffered` naming the
        known profiles otherwise.
    """
    if not names.is_profile(profile):
        raise exception.NotMigProfile(profile=profile)
    known = known_profiles(client, scheme)
    if profile not in known:
        name = ('trait %s' % scheme.profile_trait(profile)
                if scheme.vgpu_class
                else 'resource class %s' % scheme.resource_class(profile))
        raise exception.ProfileNotOffered(
            profile=profile, name=name,
            known=', '.join(sorted(known)) or 'none')
