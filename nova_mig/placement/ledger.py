# SPDX-License-Identifier: Apache-2.0

"""The record of what nova-mig created and set in Placement.

It lives in ``<[host]state_dir>/<[placement_sync]state_file>`` as JSON:

* ``created_traits`` / ``created_classes``: names nova-mig created (PUT
  answered 201); nothing else is ever a candidate for removal.
* ``root``: name and UUID of the compute node provider, so a sync can list
  the provider tree in one request.
* ``providers``: per provider UUID, its name, the traits nova-mig added
  (``owned``), the traits it wanted last time (``desired``), all its
  traits (``traits``) and the generation seen after the last check. An
  unchanged generation proves the provider's traits are unchanged, which
  lets a no-op sync skip reading them.
"""

import logging
import os
import typing

from oslo_config import cfg

from nova_mig import bounded_input
from nova_mig import fileutils

LOG = logging.getLogger(__name__)

VERSION = 1


class _Unreadable(Exception):

    @classmethod
    def of(cls, where: str, why: str) -> Exception:
        return cls(bounded_input.reason(where, why))


def _shape_problem(data: object) -> str | None:
    """Why ``data`` is not a sync state of this version; None when it is."""
    if not isinstance(data, dict):
        return 'expected a JSON object'
    if data.get('version') != VERSION:
        return 'version: expected %d, found %r' % (VERSION,
                                                   data.get('version'))
    for key in ('created_traits', 'created_classes'):
        value = data.get(key, [])
        if not (isinstance(value, list) and
                all(isinstance(v, str) for v in value)):
            return '%s: expected a list of names' % key
    if not isinstance(data.get('root'), (dict, type(None))):
        return 'root: expected an object or null'
    providers = data.get('providers', {})
    if not (isinstance(providers, dict) and
            all(isinstance(v, dict) for v in providers.values())):
        return 'providers: expected an object of objects'
    return None


class RootRecord(typing.TypedDict):
    """The compute node's root provider, as last found."""

    name: str
    uuid: str


class ProviderRecord(typing.TypedDict):
    """A provider as nova-mig left it at ``generation``."""

    name: str
    generation: int
    desired: list[str]
    owned: list[str]
    traits: list[str]


class SyncState:
    """The state file's content, loaded and saved atomically."""

    def __init__(self, path: str,
                 data: dict[str, typing.Any] | None = None) -> None:
        self.path = path
        data = data or {}
        self.created_traits: set[str] = set(data.get('created_traits', ()))
        self.created_classes: set[str] = set(data.get('created_classes', ()))
        self.root: RootRecord | None = data.get('root')
        self.providers: dict[str, ProviderRecord] = data.get(
            'providers', {})

    @classmethod
    def path_for(cls, conf: cfg.ConfigOpts) -> str:
        state_dir: str = conf.host.state_dir
        state_file: str = conf.placement_sync.state_file
        return os.path.join(state_dir, state_file)

    @classmethod
    def load(cls, path: str) -> 'SyncState':
        """Read the file; a missing or unreadable one starts empty.

        A file that is not JSON of the expected shape is moved aside to
        ``<path>.bad`` with a warning naming it, so the next save does not
        overwrite what an operator may want to look at.
        """
        try:
            found, data = bounded_input.read_json(path, _Unreadable.of)
        except _Unreadable as e:
            return cls._set_aside(path, 'not readable JSON: %s' % e)
        if not found:
            return cls(path)
        problem = _shape_problem(data)
        if problem:
            return cls._set_aside(path, problem)
        return cls(path, data)

    @classmethod
    def _set_aside(cls, path: str, reason: str) -> 'SyncState':
        backup = path + '.bad'
        try:
            os.replace(path, backup)
        except OSError as e:
            LOG.warning('%s: %s; starting with an empty Placement sync '
                        'state (cannot move it aside: %s)', path, reason,
                        e.strerror)
        else:
            LOG.warning('%s: %s; moved it aside to %s and started with an '
                        'empty Placement sync state', path, reason, backup)
        return cls(path)

    def as_dict(self) -> dict[str, typing.Any]:
        return {
            'version': VERSION,
            'created_traits': sorted(self.created_traits),
            'created_classes': sorted(self.created_classes),
            'root': self.root,
            'providers': self.providers,
        }

    def save(self) -> None:
        """Write the file atomically (temporary file and rename)."""
        fileutils.write_json(self.path, self.as_dict())

    # -- per provider -------------------------------------------------------
    def owned(self, uuid: str) -> set[str]:
        entry = self.providers.get(uuid)
        return set(entry.get('owned', [])) if entry else set()

    def unchanged(self, uuid: str, generation: int,
                  desired: frozenset[str]) -> bool:
        """True when the provider is as nova-mig left it, wanting the same."""
        entry = self.providers.get(uuid)
        return bool(entry and entry.get('generation') == generation and
                    set(entry.get('desired', ())) == set(desired))

    def record(self, uuid: str, name: str, generation: int,
               desired: frozenset[str], owned: set[str],
               traits: set[str]) -> None:
        """Remember a provider as checked at ``generation``."""
        entry: ProviderRecord = {
            'name': name, 'generation': generation,
            'desired': sorted(desired), 'owned': sorted(owned),
            'traits': sorted(traits)}
        self.providers[uuid] = entry

    def forget(self, uuid: str) -> None:
        self.providers.pop(uuid, None)
