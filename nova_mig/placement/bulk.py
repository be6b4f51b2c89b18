# SPDX-License-Identifier: Apache-2.0

"""Every provider's capacity, usage and traits in a few Placement requests.

Placement has no call listing inventories or usages of many providers:
``GET /resource_providers`` (with ``resources=``, ``required=`` or
``in_tree=``) names providers only, ``GET /usages`` sums per project. The
one answer carrying them in bulk is ``GET /allocation_candidates``: from
microversion 1.29 its ``provider_summaries`` hold, for *every* provider of
every tree that has a candidate, the capacity (``(total - reserved) *
allocation_ratio``) and usage of each of its resource classes (1.27) and
its traits (1.17). So :func:`read` asks, one request per resource class of
interest, ``GET /allocation_candidates?resources=<class>:1``: every tree
with one free unit of some GPU class comes back whole, full GPUs included.

A tree with no free unit of any of those classes (a host whose every slice
is in use) is no candidate. For those, the classes nearly every compute
node has free are asked next (:data:`ROOT_CLASSES`, only while trees are
missing); a tree missing still after that is read provider by provider
(inventories, then usages and traits of those with a class of interest).

Requests: 2 + one per class of interest, up to 4 more when a tree has
nothing free at all, and 1 to 3 per provider of a tree that has nothing
free of those either. Placement older than :data:`MV_SUMMARIES` returns
``None``: the caller reads provider by provider. A Placement whose
``[placement]max_allocation_candidates`` cuts the candidates short leaves
the trees beyond it to the next classes and to the provider-by-provider
read: the same numbers, more requests.
"""

import collections.abc
import dataclasses
import logging
import urllib.parse

from nova_mig import exception
from nova_mig.placement import api_client
from nova_mig.placement import shapes

LOG = logging.getLogger(__name__)

#: Nested provider summaries (whole trees, with parent and root), every
#: resource class of a provider (1.27), traits (1.17).
MV_SUMMARIES = '1.29'
MV_ROOT = '1.0'
MV_USAGES = '1.9'
#: Classes a compute node root provider nearly always has free: asked for
#: when a tree has no free unit of any class of interest.
ROOT_CLASSES = ('MEMORY_MB', 'VCPU', 'PCPU', 'DISK_GB')


@dataclasses.dataclass(frozen=True)
class Provider:
    """One resource provider as the bulk read saw it."""

    uuid: str
    name: str
    root_uuid: str
    #: resource class -> (capacity, used); a provider read one by one
    #: (its tree covered by no bulk request) has them only when it has a
    #: class of interest.
    resources: dict[str, tuple[int, int]]
    traits: frozenset[str]


@dataclasses.dataclass
class Reading:
    """What :func:`read` found, and what it cost."""

    #: uuid -> provider, every provider of the cloud.
    providers: dict[str, Provider]
    #: Requests made.
    requests: int = 0
    #: ``GET /allocation_candidates`` requests made.
    bulk_requests: int = 0
    #: Trees no bulk request covered, read provider by provider.
    trees_one_by_one: int = 0


def max_microversion(client: api_client.PlacementClient) -> tuple[int, int]:
    """The newest microversion Placement serves (``GET /``).

    :raises: :class:`~nova_mig.exception.PlacementError` when the answer
        names none.
    """
    body = client.json('GET', '/', MV_ROOT)
    versions = body['versions']
    return max(parse_version(v['max_version']) for v in versions)


def parse_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition('.')
    return int(major), int(minor)


def read(client: api_client.PlacementClient,
         classes: collections.abc.Iterable[str]) -> Reading | None:
    """Every provider's capacity and usage of every class, and its traits.

    :param classes: the resource classes of interest (the GPU classes);
        a tree with a free unit of one of them costs nothing more.
    :returns: ``None`` when Placement is older than :data:`MV_SUMMARIES`.
    """
    before = client.requests
    newest = max_microversion(client)
    if newest < parse_version(MV_SUMMARIES):
        LOG.warning('Placement at %s serves microversion %d.%d, older '
                    'than %s: reading it provider by provider.',
                    client.endpoint, newest[0], newest[1], MV_SUMMARIES)
        return None
    listed = client.providers()
    names = {p['uuid']: p['name'] for p in listed}
    roots = {p['uuid']: p.get('root_provider_uuid') or p['uuid']
             for p in listed}
    wanted = sorted(set(classes))
    summaries: dict[str, shapes.JsonObject] = {}
    covered: set[str] = set()
    reading = Reading(providers={})
    for rc in wanted + list(ROOT_CLASSES):
        if rc not in wanted and covered >= set(roots.values()):
            break
        found = _candidates(client, rc)
        reading.bulk_requests += 1
        for uuid, summary in found.items():
            summaries.setdefault(uuid, summary)
            covered.add(summary.get('root_provider_uuid') or uuid)
    for uuid, summary in summaries.items():
        if uuid not in names:
            continue        # created after the listing: next time
        reading.providers[uuid] = Provider(
            uuid=uuid, name=names[uuid], root_uuid=roots[uuid],
            resources={rc: (int(r['capacity']), int(r['used']))
                       for rc, r in summary['resources'].items()},
            traits=frozenset(summary.get('traits') or ()))
    missing = set(roots.values()) - covered
    reading.trees_one_by_one = len(missing)
    for uuid in sorted((u for u in names if roots[u] in missing),
                       key=lambda u: (names[u], u)):
        reading.providers[uuid] = _one(client, uuid, names[uuid],
                                       roots[uuid], set(wanted))
    reading.requests = client.requests - before
    return reading


def _candidates(client: api_client.PlacementClient,
                rc: str) -> dict[str, shapes.JsonObject]:
    """``provider_summaries`` of the trees with one free unit of ``rc``."""
    path = '/allocation_candidates?' + urllib.parse.urlencode(
        {'resources': '%s:1' % rc})
    try:
        body = client.json('GET', path, MV_SUMMARIES)
    except exception.PlacementError as e:
        if e.status != 400:
            raise
        # A class removed since it was listed (or a standard class this
        # Placement does not know): no provider has it.
        LOG.debug('No candidates for %s: %s', rc, e)
        return {}
    found: dict[str, shapes.JsonObject] = body['provider_summaries']
    return found


def _one(client: api_client.PlacementClient, uuid: str, name: str,
         root: str, wanted: set[str]) -> Provider:
    """One provider of a tree no bulk request covered."""
    inventories, _ = client.inventories(uuid)
    resources: dict[str, tuple[int, int]] = {}
    traits: set[str] = set()
    if wanted & set(inventories):
        usages = client.json(
            'GET', '/resource_providers/%s/usages' % uuid,
            MV_USAGES)['usages']
        traits, _ = client.provider_traits(uuid)
        for rc, inv in inventories.items():
            total = int(inv.get('total', 0))
            reserved = int(inv.get('reserved', 0))
            ratio = float(inv.get('allocation_ratio', 1.0))
            resources[rc] = (int((total - reserved) * ratio),
                             int(usages.get(rc, 0)))
    return Provider(uuid=uuid, name=name, root_uuid=root,
                    resources=resources, traits=frozenset(traits))
