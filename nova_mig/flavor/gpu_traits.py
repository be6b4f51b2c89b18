# SPDX-License-Identifier: Apache-2.0

"""The GPU traits nova-mig names in Placement: list them, create them."""

import collections.abc
import dataclasses
import logging
import urllib.parse

from nova_mig import exception
from nova_mig.flavor import slice_capacity
from nova_mig import naming

LOG = logging.getLogger(__name__)

MV_REQUIRED = '1.18'
PROFILE = 'profile'
MODEL = 'model'
CAPABILITY = 'compute capability'
MODE = 'device mode'


@dataclasses.dataclass
class TraitRow:
    """One trait and, when counted, how many providers carry it."""

    name: str
    kind: str
    profile: str | None = None
    providers: int | None = None
    status: str | None = None


def _kinds(scheme: naming.Scheme) -> list[tuple[str, str]]:
    """(prefix, kind) of the non-profile GPU traits, longest first."""
    prefixes = [(scheme.model_trait_prefix(), MODEL),
                (scheme.capability_trait_prefix(), CAPABILITY),
                (scheme.mode_trait_prefix(), MODE)]
    return sorted(prefixes, key=lambda p: len(p[0]), reverse=True)


def classify(scheme: naming.Scheme,
             trait: str) -> tuple[str | None, str | None]:
    """(kind, profile) of a trait; kind None for a trait not nova-mig's."""
    profile = scheme.profile_of_trait(trait)
    if profile:
        return PROFILE, profile
    if trait.startswith('HW_GPU_'):
        return CAPABILITY, None
    for prefix, kind in _kinds(scheme):
        if prefix != 'CUSTOM_' and trait.startswith(prefix):
            return kind, None
    return None, None


def list_traits(client: slice_capacity.PlacementApi, scheme: naming.Scheme,
                count: bool = False) -> list[TraitRow]:
    """The MIG profile, GPU model, capability and mode traits in Placement.

    :param count: also count the providers carrying each trait (one
        request per trait).
    """
    rows = []
    for trait in slice_capacity.custom_traits(client):
        kind, profile = classify(scheme, trait)
        if kind is None:
            continue
        row = TraitRow(name=trait, kind=kind, profile=profile)
        if count:
            row.providers = providers_with(client, trait)
        rows.append(row)
    return rows


def providers_with(client: slice_capacity.PlacementApi, trait: str) -> int:
    path = '/resource_providers?' + urllib.parse.urlencode(
        {'required': trait})
    return len(client.request('GET', path, MV_REQUIRED)[1][
        'resource_providers'])


def sync_traits(client: slice_capacity.PlacementApi, scheme: naming.Scheme,
                profiles: list[str],
                dry_run: bool = False) -> list[TraitRow]:
    """Create the profile trait of each profile where Placement lacks it.

    :returns: one row per profile, status ``created``, ``exists`` or
        ``would create``.
    """
    wanted = {scheme.profile_trait(p): p for p in profiles}
    existing = client.existing_traits(set(wanted))
    rows = []
    for trait, profile in sorted(wanted.items()):
        if trait in existing:
            status = 'exists'
        elif dry_run:
            status = 'would create'
        else:
            client.ensure_trait(trait)
            LOG.info('Created trait %s for MIG profile %s', trait, profile)
            status = 'created'
        rows.append(TraitRow(name=trait, kind=PROFILE, profile=profile,
                             status=status))
    return rows


def check_traits(client: slice_capacity.PlacementApi, scheme: naming.Scheme,
                 wanted: collections.abc.Iterable[str]) -> None:
    """Refuse traits Placement does not know: no host could match them.

    :raises: :class:`nova_mig.exception.UnknownTraits` naming the GPU
        traits Placement has.
    """
    asked = set(wanted)
    if not asked:
        return
    missing = asked - client.existing_traits(asked)
    if missing:
        known = [r.name for r in list_traits(client, scheme)]
        raise exception.UnknownTraits(traits=', '.join(sorted(missing)),
                                      known=', '.join(known) or 'none')
