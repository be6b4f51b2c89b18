# SPDX-License-Identifier: Apache-2.0

"""Put the host's custom resource classes and GPU traits into Placement.

:func:`sync` is the whole of ``nova-mig sync``. Its request pattern, per
host, is:

1. ``GET /resource_providers?in_tree=<root>``: every provider of the
   compute node with its generation (plus one ``?name=`` lookup the first
   time, while the root UUID is not in the state file yet);
2. ``GET /resource_classes``: are the custom classes there;
3. only for providers whose generation moved since nova-mig last looked
   (or whose wanted traits changed): ``GET /traits?name=in:...``, one
   ``GET /resource_providers?in_tree=&required=a,b,!c`` per group of
   providers wanting the same traits, and ``GET`` + ``PUT`` of the traits
   of those that still differ.

A sync with nothing to do therefore makes two requests and no write. A
trait write carries the generation just read; a 409
``placement.concurrent_update`` is retried (with tenacity) after
re-reading, with a doubling delay, ``[placement_sync]max_attempts`` times
in all.
"""

import collections
import dataclasses
import logging
import time
import typing

from oslo_config import cfg
import tenacity

from nova_mig import exception
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.placement import ledger
from nova_mig.placement import shapes

LOG = logging.getLogger(__name__)

Sleep = typing.Callable[[float], None]


@dataclasses.dataclass
class ProviderChange:
    """What a sync did (or, dry, would do) to one provider's traits."""

    name: str
    uuid: str | None
    resource_class: str | None
    status: str                 # unchanged | changed | would change | missing
    added: list[str] = dataclasses.field(default_factory=list)
    removed: list[str] = dataclasses.field(default_factory=list)
    kept: list[str] = dataclasses.field(default_factory=list)
    attempts: int = 0


@dataclasses.dataclass
class SyncResult:
    """Everything ``nova-mig sync`` reports."""

    hostname: str
    root_uuid: str
    dry_run: bool
    classes_created: list[str]
    traits_created: list[str]
    providers: list[ProviderChange]
    requests: int = 0
    writes: int = 0
    conflicts: int = 0

    @property
    def missing(self) -> list[str]:
        return [p.name for p in self.providers if p.status == 'missing']

    def as_dict(self) -> dict[str, typing.Any]:
        return dataclasses.asdict(self) | {'missing': self.missing}


def find_tree(client: api_client.PlacementClient, hostname: str,
              state: ledger.SyncState
              ) -> tuple[str, dict[str, shapes.JsonObject]]:
    """Root UUID and name -> provider of the compute node's tree.

    One request when the state file knows the root, three otherwise.

    :raises: :class:`nova_mig.exception.PlacementProviderNotFound`
    """
    root = state.root
    if root and root.get('name') == hostname:
        providers = client.providers(in_tree=root['uuid'])
        if any(p['uuid'] == root['uuid'] and p['name'] == hostname
               for p in providers):
            return root['uuid'], {p['name']: p for p in providers}
    roots = client.providers(name=hostname)
    if not roots:
        raise exception.PlacementProviderNotFound(name=hostname)
    uuid = roots[0]['root_provider_uuid']
    state.root = {'name': hostname, 'uuid': uuid}
    providers = client.providers(in_tree=uuid)
    return uuid, {p['name']: p for p in providers}


class Syncer:
    """One sync run: a client, the options, the state file, a clock."""

    def __init__(self, conf: cfg.ConfigOpts,
                 client: api_client.PlacementClient,
                 state: ledger.SyncState | None = None,
                 sleep: Sleep = time.sleep) -> None:
        self.conf = conf
        self.client = client
        self.state = state or ledger.SyncState.load(
            ledger.SyncState.path_for(conf))
        self.sleep = sleep
        self.conflicts = 0

    # -- the provider tree ----------------------------------------------------
    def tree(self, hostname: str
             ) -> tuple[str, dict[str, shapes.JsonObject]]:
        return find_tree(self.client, hostname, self.state)

    # -- classes and traits -----------------------------------------------
    def ensure_classes(self, wanted: set[str], dry_run: bool) -> list[str]:
        if not wanted:
            return []
        missing = sorted(wanted - self.client.resource_classes())
        for name in missing:
            if not dry_run and self.client.ensure_resource_class(name):
                self.state.created_classes.add(name)
        return missing

    def ensure_traits(self, wanted: set[str], dry_run: bool) -> list[str]:
        if not wanted:
            return []
        missing = sorted(wanted - self.client.existing_traits(wanted))
        for name in missing:
            if not dry_run and self.client.ensure_trait(name):
                self.state.created_traits.add(name)
        return missing

    # -- provider traits ------------------------------------------------------
    def confirm_groups(self, root_uuid: str,
                       todo: dict[str, tuple[str, frozenset[str]]]
                       ) -> set[str]:
        """UUIDs whose traits are already right, checked a group at a time.

        Providers wanting the same traits (and having the same stale owned
        traits to lose) are checked with one filtered listing; a group of
        one is left to :meth:`apply`, which needs its GET anyway.
        """
        groups = collections.defaultdict(list)
        for uuid, (name, desired) in todo.items():
            stale = frozenset(self.state.owned(uuid) - desired)
            groups[(desired, stale)].append(uuid)
        confirmed = set()
        for (desired, stale), uuids in groups.items():
            if len(uuids) < 2 or not (desired or stale):
                continue
            required = sorted(desired) + ['!' + t for t in sorted(stale)]
            found = {p['uuid']: p for p in self.client.providers(
                in_tree=root_uuid, required=required)}
            for uuid in uuids:
                if uuid in found:
                    entry = self.state.providers.get(uuid)
                    traits = (set(entry.get('traits', desired)) if entry
                              else set(desired))
                    self.state.record(
                        uuid, todo[uuid][0],
                        found[uuid]['generation'], desired,
                        self.state.owned(uuid) & desired, traits | desired)
                    confirmed.add(uuid)
        return confirmed

    def retrying(self, name: str) -> tenacity.Retrying:
        """Retries of a trait write losing a race, per [placement_sync]."""
        opts = self.conf.placement_sync

        def log(retry_state: tenacity.RetryCallState) -> None:
            delay = (retry_state.next_action.sleep
                     if retry_state.next_action else 0.0)
            LOG.info('Provider %s changed under us (attempt %s); '
                     'retrying in %.2fs', name, retry_state.attempt_number,
                     delay)
        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(
                exception.PlacementGenerationConflict),
            stop=tenacity.stop_after_attempt(opts.max_attempts),
            wait=tenacity.wait_exponential(multiplier=opts.retry_delay,
                                           max=opts.max_retry_delay),
            sleep=self.sleep, before_sleep=log)

    def apply(self, uuid: str, name: str, desired: frozenset[str],
              resource_class: str | None, dry_run: bool) -> ProviderChange:
        """Make the provider carry ``desired``, keeping foreign traits.

        :raises: :class:`~nova_mig.exception.PlacementConflictRetriesExhausted`
            when every try lost a race with another writer.
        """
        try:
            for attempt in self.retrying(name):
                with attempt:
                    return self._apply_once(
                        uuid, name, desired, resource_class, dry_run,
                        attempt.retry_state.attempt_number)
        except tenacity.RetryError as e:
            raise exception.PlacementConflictRetriesExhausted(
                provider=name, attempts=e.last_attempt.attempt_number)
        raise AssertionError('unreachable')  # pragma: no cover

    def _apply_once(self, uuid: str, name: str, desired: frozenset[str],
                    resource_class: str | None, dry_run: bool,
                    attempt: int) -> ProviderChange:
        """One read and (when needed) write of the provider's traits."""
        owned = self.state.owned(uuid)
        current, generation = self.client.provider_traits(uuid)
        remove = (owned & current) - desired
        add = desired - current
        wanted = (current | desired) - remove
        change = ProviderChange(
            name=name, uuid=uuid, resource_class=resource_class,
            status='unchanged', added=sorted(add), removed=sorted(remove),
            kept=sorted(current - desired - owned), attempts=attempt)
        new_owned = ((owned & current) | add) - remove
        if wanted == current:
            self.state.record(uuid, name, generation, desired, new_owned,
                              current)
            return change
        if dry_run:
            change.status = 'would change'
            return change
        try:
            generation = self.client.set_provider_traits(uuid, wanted,
                                                         generation)
        except exception.PlacementGenerationConflict:
            self.conflicts += 1
            raise
        change.status = 'changed'
        self.state.record(uuid, name, generation, desired, new_owned, wanted)
        return change

    # -- the run --------------------------------------------------------------
    def run(self, config: type_plan.NovaConfig,
            dry_run: bool = False) -> SyncResult:
        hostname = host_offer.hypervisor_hostname(self.conf, config)
        expected = host_offer.providers(config, hostname)
        calls_before = self.client.requests
        writes_before = self.client.writes
        root_uuid, tree = self.tree(hostname)
        classes = self.ensure_classes(host_offer.custom_classes(expected),
                                      dry_run)

        changes: dict[str, ProviderChange] = {}
        todo: dict[str, tuple[str, frozenset[str]]] = {}
        classes_of: dict[str, str | None] = {}
        for name, exp in expected.items():
            rp = tree.get(name)
            if rp is None:
                changes[name] = ProviderChange(name, None,
                                               exp.resource_class, 'missing')
                continue
            classes_of[rp['uuid']] = exp.resource_class
            todo[rp['uuid']] = (name, exp.traits)
        # Providers nova-mig set traits on that are no longer configured
        # lose the traits nova-mig added, and only those.
        by_uuid = {p['uuid']: p for p in tree.values()}
        for uuid in list(self.state.providers):
            if uuid in todo:
                continue
            if uuid not in by_uuid:
                self.state.forget(uuid)
                continue
            todo[uuid] = (by_uuid[uuid]['name'], frozenset())

        for uuid, (name, desired) in list(todo.items()):
            if self.state.unchanged(uuid, by_uuid[uuid]['generation'],
                                    desired):
                entry = self.state.providers[uuid]
                changes[name] = ProviderChange(
                    name, uuid, classes_of.get(uuid), 'unchanged',
                    kept=sorted(set(entry.get('traits', ())) - desired -
                                set(entry.get('owned', ()))))
                del todo[uuid]

        traits = []
        if todo:
            traits = self.ensure_traits(
                {t for _, d in todo.values() for t in d
                 if t.startswith('CUSTOM_')}, dry_run)
            confirmable = todo if not (dry_run and traits) else {}
            for uuid in self.confirm_groups(root_uuid, confirmable):
                name, desired = todo.pop(uuid)
                entry = self.state.providers[uuid]
                changes[name] = ProviderChange(
                    name, uuid, classes_of.get(uuid), 'unchanged',
                    kept=sorted(set(entry.get('traits', ())) - desired))
        try:
            for uuid, (name, desired) in sorted(todo.items(),
                                                key=lambda i: i[1][0]):
                changes[name] = self.apply(uuid, name, desired,
                                           classes_of.get(uuid), dry_run)
        finally:
            if not dry_run:
                self.state.save()
        return SyncResult(
            hostname=hostname, root_uuid=root_uuid, dry_run=dry_run,
            classes_created=classes, traits_created=traits,
            providers=[changes[n] for n in sorted(changes)],
            requests=self.client.requests - calls_before,
            writes=self.client.writes - writes_before,
            conflicts=self.conflicts)


def sync(conf: cfg.ConfigOpts, config: type_plan.NovaConfig,
         client: api_client.PlacementClient, dry_run: bool = False,
         sleep: Sleep = time.sleep) -> SyncResult:
    """Sync one host's classes and GPU provider traits into Placement.

    :param conf: options: [placement_sync], [naming], [host]state_dir.
    :param config: the host's Nova configuration plan
        (:func:`nova_mig.novaconf.type_plan.build`).
    :param client: where Placement is.
    :param dry_run: read only; report what would change.
    :raises: :class:`nova_mig.exception.NovaMigException` subclasses:
        PlacementUnreachable, PlacementAuthError, PlacementError,
        PlacementProviderNotFound, PlacementConflictRetriesExhausted.
    """
    return Syncer(conf, client, sleep=sleep).run(config, dry_run=dry_run)
