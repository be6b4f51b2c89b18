# SPDX-License-Identifier: Apache-2.0

"""An in-memory Placement standing in for PlacementClient in unit tests."""

import collections
import uuid as uuid_mod

from nova_mig import exception


class FakePlacement:
    """The subset of PlacementClient that sync and verify use.

    ``conflicts`` maps a provider UUID to how many trait PUTs on it fail
    with a generation conflict before one succeeds.
    """

    def __init__(self):
        self.rps: dict[str, dict] = {}
        self.traits = {'HW_CPU_X86_AVX2', 'COMPUTE_VOLUME_EXTEND',
                       'HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_5'}
        self.classes = {'VCPU', 'MEMORY_MB', 'DISK_GB', 'VGPU'}
        self.calls: collections.Counter = collections.Counter()
        self.writes = 0
        self.conflicts: dict[str, int] = {}
        self.log: list[tuple] = []

    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    def _call(self, method: str, *what) -> None:
        self.calls[method] += 1
        self.log.append((method,) + what)
        if method != 'GET':
            self.writes += 1

    # -- set-up helpers (not counted) -------------------------------------
    def add(self, name: str, parent: str | None = None,
            inventory: dict[str, int] | None = None,
            traits: set[str] = frozenset()) -> str:
        uuid = str(uuid_mod.uuid4())
        root = self.rps[parent]['root'] if parent else uuid
        self.rps[uuid] = {'uuid': uuid, 'name': name, 'generation': 0,
                          'root': root, 'traits': set(traits),
                          'inventory': dict(inventory or {})}
        self.traits |= set(traits)
        return uuid

    def bump(self, uuid: str, add: str | None = None) -> None:
        """Another writer changes the provider."""
        rp = self.rps[uuid]
        rp['generation'] += 1
        if add:
            self.traits.add(add)
            rp['traits'].add(add)

    def _row(self, rp: dict) -> dict:
        return {'uuid': rp['uuid'], 'name': rp['name'],
                'generation': rp['generation'],
                'root_provider_uuid': rp['root']}

    # -- PlacementClient's interface --------------------------------------
    def providers(self, name=None, in_tree=None, required=None):
        self._call('GET', 'providers', name, in_tree, required)
        rows = list(self.rps.values())
        if name is not None:
            rows = [r for r in rows if r['name'] == name]
        if in_tree is not None:
            rows = [r for r in rows if r['root'] == in_tree]
        for trait in required or ():
            if trait.startswith('!'):
                rows = [r for r in rows if trait[1:] not in r['traits']]
            else:
                rows = [r for r in rows if trait in r['traits']]
        return [self._row(r) for r in rows]

    def provider_traits(self, uuid):
        self._call('GET', 'traits', uuid)
        rp = self.rps[uuid]
        return set(rp['traits']), rp['generation']

    def set_provider_traits(self, uuid, traits, generation):
        self._call('PUT', 'traits', uuid, frozenset(traits))
        rp = self.rps[uuid]
        if self.conflicts.get(uuid):
            self.conflicts[uuid] -= 1
            self.bump(uuid)
        if generation != rp['generation']:
            raise exception.PlacementGenerationConflict(
                method='PUT', path='/resource_providers/%s/traits' % uuid,
                status=409, title='Conflict', detail='',
                code='placement.concurrent_update')
        unknown = set(traits) - self.traits
        if unknown:
            raise exception.PlacementError(
                method='PUT', path='traits', status=400, title='Bad',
                detail='No such trait(s): %s' % unknown)
        rp['traits'] = set(traits)
        rp['generation'] += 1
        return rp['generation']

    def inventories(self, uuid):
        self._call('GET', 'inventories', uuid)
        rp = self.rps[uuid]
        return ({rc: {'total': n} for rc, n in rp['inventory'].items()},
                rp['generation'])

    def existing_traits(self, names):
        self._call('GET', 'traits?in', frozenset(names))
        return set(names) & self.traits

    def ensure_trait(self, name):
        self._call('PUT', 'trait', name)
        created = name not in self.traits
        self.traits.add(name)
        return created

    def resource_classes(self):
        self._call('GET', 'classes')
        return set(self.classes)

    def ensure_resource_class(self, name):
        self._call('PUT', 'class', name)
        created = name not in self.classes
        self.classes.add(name)
        return created
