# SPDX-License-Identifier: Apache-2.0

"""What the cloud asks for: unmet boots and the operator's targets.

Two sources, both per MIG profile (the profile a flavor's resource class or
trait names, see :class:`nova_mig.naming.Scheme`):

* **Unmet demand** over a window: servers in ``ERROR`` (or deleted since)
  whose fault says that no valid host was found, read from the Compute API
  at microversion 2.47 or later, where each server embeds its flavor with
  the extra specs.
* **Targets**, an optional YAML file (its schema and reader:
  :mod:`nova_mig.documents.targets_file`): a minimum of free slices per
  profile, cloud-wide or within one host aggregate or availability zone::

      version: 1
      targets:
        - {profile: 1g.10gb, min_free: 8}
        - {profile: 3g.40gb, min_free: 2, availability_zone: az1}
        - {profile: 7g.80gb, min_free: 1, aggregate: training}
"""

import collections
import dataclasses
import datetime
import logging
import re
import typing

from nova_mig.documents import targets_file
from nova_mig import exception
from nova_mig import naming

LOG = logging.getLogger(__name__)

#: The first Compute API microversion embedding the flavor in a server.
MV_EMBEDDED_FLAVOR = '2.47'
#: Statuses of the servers whose fault is read: failed boots, and those
#: deleted since (with ``changes-since`` Nova lists them, fault included).
FAILED_STATUSES = ('ERROR', 'DELETED')
#: Substring of the fault of a boot the scheduler could not place.
NO_VALID_HOST = 'no valid host'
_WINDOW_RE = re.compile(r'^\s*(?P<n>\d+)\s*(?P<unit>[smhdw]?)\s*$')
_UNITS = {'': 1, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
#: Scope of the demand that applies to the whole cloud.
CLOUD = ''


def parse_window(text: str) -> int:
    """``24h`` -> 86400 seconds (units s, m, h, d, w; none is seconds).

    :raises: ValueError naming the accepted forms.
    """
    match = _WINDOW_RE.match(str(text))
    if not match or int(match['n']) <= 0:
        raise ValueError('%r is not a duration such as 30m, 24h or 7d'
                         % (text,))
    return int(match['n']) * _UNITS[match['unit']]


def aggregate_scope(name: str) -> str:
    return 'aggregate:%s' % name


def zone_scope(name: str) -> str:
    return 'az:%s' % name


def trait_scope(trait: str) -> str:
    """The scope of the GPUs whose provider has ``trait`` (a GPU model)."""
    return 'trait:%s' % trait


@dataclasses.dataclass(frozen=True)
class Demand:
    """Free slices of ``profile`` wanted within ``scope``."""

    profile: str
    wanted: int
    #: :data:`CLOUD`, or ``aggregate:<name>`` / ``az:<name>``.
    scope: str = CLOUD
    #: Where it comes from: ``unmet`` boots, ``target`` file.
    source: str = 'target'


@dataclasses.dataclass
class UnmetBoots:
    """Boots that failed with NoValidHost within the window."""

    by_profile: dict[str, int]
    #: Failed boots of flavors asking for no MIG profile (not planned for).
    other: int = 0
    servers: list[str] = dataclasses.field(default_factory=list)
    #: Failed boots older than their profile's last grow (not counted).
    stale: int = 0
    #: Of ``by_profile``, the boots whose flavor requires a GPU model
    #: trait: (profile, :func:`trait_scope`) -> boots.
    by_scope: dict[tuple[str, str], int] = dataclasses.field(
        default_factory=dict)


def _fail(path: str, where: str, reason: str) -> exception.RebalanceInputError:
    return exception.RebalanceInputError(path=path, where=where,
                                         reason=reason)


def parse_targets(document: typing.Any, path: str) -> list[Demand]:
    """Targets from a loaded YAML document.

    The document is checked by its schema
    (:mod:`nova_mig.documents.targets_file`).

    :raises: :class:`nova_mig.exception.RebalanceInputError` naming the key.
    """
    result = []
    for item in targets_file.check(document, path)['targets']:
        scope = CLOUD
        if item.get('aggregate') is not None:
            scope = aggregate_scope(str(item['aggregate']))
        elif item.get('availability_zone') is not None:
            scope = zone_scope(str(item['availability_zone']))
        result.append(Demand(item['profile'], item['min_free'], scope))
    return result


def load_targets(path: str) -> list[Demand]:
    """Read and check a targets file."""
    return parse_targets(targets_file.read(path), path)


def check_profiles(demands: typing.Iterable[Demand], known: set[str],
                   path: str) -> None:
    """Refuse a target of a profile no GPU of the fleet offers."""
    for demand in demands:
        if demand.source == 'target' and demand.profile not in known:
            raise _fail(path, 'profile %s' % demand.profile,
                        'no GPU of the planned hosts offers it (known: %s)'
                        % (', '.join(sorted(known)) or 'none'))


def is_no_valid_host(server: typing.Any) -> bool:
    fault = getattr(server, 'fault', None) or {}
    message = fault.get('message', '') if isinstance(fault, dict) else ''
    return NO_VALID_HOST in str(message).lower()


def _flavor_specs(server: typing.Any) -> dict[str, str]:
    flavor = getattr(server, 'flavor', None)
    if flavor is None:
        return {}
    if isinstance(flavor, dict):
        return dict(flavor.get('extra_specs') or {})
    return dict(getattr(flavor, 'extra_specs', None) or {})


def _created(server: typing.Any) -> float | None:
    """Epoch seconds of the server's creation, or None when unknown."""
    text = getattr(server, 'created_at', None)
    if not isinstance(text, str):
        return None
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _model_trait(specs: dict[str, str], scheme: naming.Scheme
                 ) -> str | None:
    """The GPU model trait a flavor requires, or None."""
    prefix = 'trait:' + scheme.model_trait_prefix()
    found = sorted(k[len('trait:'):] for k, v in specs.items()
                   if k.startswith(prefix) and str(v).lower() == 'required')
    return found[0] if len(found) == 1 else None


def unmet_boots(compute: typing.Any, scheme: naming.Scheme,
                since: datetime.datetime,
                grown: dict[str, float] | None = None) -> UnmetBoots:
    """Count the NoValidHost boots since ``since`` per MIG profile.

    Each failed boot is counted once: with ``grown`` (profile -> epoch
    seconds of the last re-partition that added capacity of it, from
    :mod:`nova_mig.rebalance.history`), a boot created before that time
    asked for capacity that has been added since, and is left out (a boot
    whose creation time is unknown is counted).

    :param compute: the openstacksdk compute proxy (admin: all projects).
    :raises: :class:`nova_mig.exception.CloudUnreachable` when the
        Compute API cannot be read.
    """
    counts: collections.Counter = collections.Counter()
    scoped: collections.Counter = collections.Counter()
    other = stale = 0
    servers = []
    try:
        # openstacksdk negotiates the highest microversion both sides
        # know (2.47+ on any supported Nova), so flavors come embedded.
        # A failed boot its owner deleted since is DELETED, fault kept.
        found: dict[typing.Any, typing.Any] = {}
        for status in FAILED_STATUSES:
            for server in compute.servers(details=True, all_projects=True,
                                          status=status,
                                          changes_since=since.isoformat()):
                found.setdefault(getattr(server, 'id', id(server)), server)
    except exception.NovaMigException:
        raise
    except Exception as e:
        raise exception.CloudUnreachable(
            service='Compute', action='GET /servers/detail',
            reason=exception.url_reason(e))
    for server in found.values():
        if not is_no_valid_host(server):
            continue
        profile = scheme.profile_of_specs(_flavor_specs(server))
        if profile is None:
            other += 1
            continue
        created = _created(server)
        if (grown and profile in grown and created is not None and
                created < grown[profile]):
            stale += 1
            continue
        counts[profile] += 1
        servers.append(getattr(server, 'id', ''))
        model = _model_trait(_flavor_specs(server), scheme)
        if model:
            scoped[(profile, trait_scope(model))] += 1
    LOG.debug('NoValidHost boots since %s: %s (%d without a MIG profile, '
              '%d before their profile grew)', since.isoformat(),
              dict(counts), other, stale)
    return UnmetBoots(dict(counts), other, servers, stale, dict(scoped))


def host_scopes(compute: typing.Any) -> dict[str, set[str]]:
    """Host name -> its ``aggregate:<name>`` and ``az:<name>`` scopes."""
    scopes: dict[str, set[str]] = collections.defaultdict(set)
    try:
        aggregates = list(compute.aggregates())
    except Exception as e:
        raise exception.CloudUnreachable(
            service='Compute', action='GET /os-aggregates',
            reason=exception.url_reason(e))
    for agg in aggregates:
        for host in getattr(agg, 'hosts', None) or ():
            scopes[host].add(aggregate_scope(agg.name))
            zone = getattr(agg, 'availability_zone', None)
            if zone:
                scopes[host].add(zone_scope(zone))
    return dict(scopes)


def combine(unmet: dict[str, int], targets: list[Demand],
            scoped: dict[tuple[str, str], int] | None = None
            ) -> list[Demand]:
    """One demand row per (profile, scope).

    Cloud-wide, the free slices wanted are the larger of the unmet boots
    and the target; scoped targets are rows of their own. ``scoped``
    boots (those of flavors requiring a GPU model, a part of ``unmet``)
    are rows of their GPU model's scope, taken out of the cloud-wide row.
    """
    rows: dict[tuple[str, str], Demand] = {}
    remaining = collections.Counter(unmet)
    for (profile, scope), count in sorted((scoped or {}).items()):
        rows[(profile, scope)] = Demand(profile, count, scope, 'unmet')
        remaining[profile] -= count
    for profile, count in sorted(remaining.items()):
        if count > 0:
            rows[(profile, CLOUD)] = Demand(profile, count, CLOUD, 'unmet')
    for target in targets:
        key = (target.profile, target.scope)
        old = rows.get(key)
        if old is None or target.wanted > old.wanted:
            rows[key] = target
    return [rows[k] for k in sorted(rows)]
