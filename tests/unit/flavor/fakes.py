# SPDX-License-Identifier: Apache-2.0

"""In-memory Placement API and compute proxy for the flavor and OSC tests."""

import json
import urllib.parse
import uuid as uuid_mod

from openstack import exceptions as sdk_exc
import requests

from nova_mig.placement import api_client


def response(status: int, body=None) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.reason = {200: 'OK', 204: 'No Content', 201: 'Created',
                   403: 'Forbidden', 404: 'Not Found'}.get(status, '')
    resp._content = json.dumps(body).encode() if body is not None else b''
    return resp


class FakePlacementAdapter:
    """Answers PlacementClient's requests from dictionaries.

    ``seen`` records (method, path, microversion) of every request;
    ``status`` forces every answer to one HTTP status (403 tests).
    """

    def __init__(self):
        self.rps: dict[str, dict] = {}
        self.traits: set[str] = {'HW_CPU_X86_AVX2'}
        self.classes: set[str] = {'VCPU', 'MEMORY_MB', 'VGPU'}
        self.seen: list[tuple[str, str, str]] = []
        self.status: int | None = None
        #: The newest microversion ``GET /`` names.
        self.max_version = '1.39'

    def add(self, name, parent=None, inventory=None, usages=None,
            traits=()) -> str:
        uuid = str(uuid_mod.uuid4())
        root = self.rps[parent]['root_provider_uuid'] if parent else uuid
        self.rps[uuid] = {
            'uuid': uuid, 'name': name, 'root_provider_uuid': root,
            'parent_provider_uuid': parent, 'generation': 1,
            'inventory': {rc: dict({'reserved': 0, 'allocation_ratio': 1.0},
                                   **inv)
                          for rc, inv in (inventory or {}).items()},
            'usages': dict(usages or {}), 'traits': set(traits)}
        self.classes |= set(self.rps[uuid]['inventory'])
        self.traits |= set(traits)
        return uuid

    def request(self, path, method, microversion=None, raise_exc=True,
                json=None, **kwargs):
        self.seen.append((method, path, microversion))
        if self.status:
            return response(self.status, {'errors': [
                {'status': self.status, 'title': 'Forbidden'}]})
        parsed = urllib.parse.urlparse(path)
        query = urllib.parse.parse_qs(parsed.query)
        parts = parsed.path.strip('/').split('/')
        if parts == ['resource_providers']:
            rows = list(self.rps.values())
            if 'required' in query:
                need = set(query['required'][0].split(','))
                rows = [r for r in rows if need <= r['traits']]
            return response(200, {'resource_providers': [
                {k: r[k] for k in ('uuid', 'name', 'generation',
                                   'root_provider_uuid',
                                   'parent_provider_uuid')}
                for r in rows]})
        if parts[0] == 'resource_providers' and len(parts) == 3:
            rp = self.rps[parts[1]]
            gen = {'resource_provider_generation': rp['generation']}
            if parts[2] == 'inventories':
                return response(200, dict(gen, inventories=rp['inventory']))
            if parts[2] == 'usages':
                return response(200, dict(gen, usages=rp['usages']))
            if parts[2] == 'traits':
                return response(200, dict(gen, traits=sorted(rp['traits'])))
        if parts == ['traits'] and method == 'GET':
            name = query.get('name', [''])[0]
            if name.startswith('in:'):
                rows = set(name[3:].split(',')) & self.traits
            else:
                rows = {t for t in self.traits
                        if t.startswith(name.split(':', 1)[1])}
            return response(200, {'traits': sorted(rows)})
        if parts[0] == 'traits' and method == 'PUT':
            new = parts[1] not in self.traits
            self.traits.add(parts[1])
            return response(201 if new else 204)
        if parsed.path == '/':
            return response(200, {'versions': [{
                'id': 'v1.0', 'min_version': '1.0',
                'max_version': self.max_version}]})
        if parts == ['allocation_candidates']:
            return self.candidates(query['resources'][0])
        if parts == ['resource_classes']:
            return response(200, {'resource_classes': [
                {'name': c} for c in sorted(self.classes)]})
        raise AssertionError('unexpected %s %s' % (method, path))

    def capacity(self, rp: dict, rc: str) -> int:
        inv = rp['inventory'][rc]
        return int((inv['total'] - inv['reserved']) * inv['allocation_ratio'])

    def candidates(self, resources: str):
        """Placement 1.29's answer to ``?resources=RC:N``: whole trees."""
        rc, amount = resources.split(':')
        if rc not in self.classes:
            return response(400, {'errors': [
                {'status': 400, 'title': 'Bad Request'}]})
        fits = [rp for rp in self.rps.values() if rc in rp['inventory'] and
                self.capacity(rp, rc) - rp['usages'].get(rc, 0) >=
                int(amount)]
        roots = {rp['root_provider_uuid'] for rp in fits}
        return response(200, {
            'allocation_requests': [
                {'allocations': {rp['uuid']: {'resources': {rc: 1}}}}
                for rp in fits],
            'provider_summaries': {
                rp['uuid']: {
                    'resources': {
                        c: {'capacity': self.capacity(rp, c),
                            'used': rp['usages'].get(c, 0)}
                        for c in rp['inventory']},
                    'traits': sorted(rp['traits']),
                    'parent_provider_uuid': rp['parent_provider_uuid'],
                    'root_provider_uuid': rp['root_provider_uuid']}
                for rp in self.rps.values()
                if rp['root_provider_uuid'] in roots}})


def placement_client() -> tuple[FakePlacementAdapter,
                                api_client.PlacementClient]:
    """A real PlacementClient talking to a fresh in-memory Placement."""
    api = FakePlacementAdapter()
    return api, api_client.PlacementClient(api, 'fake')


class Flavor:
    """What the code reads of an openstacksdk Flavor."""

    def __init__(self, name, vcpus=4, ram=8192, disk=20, extra_specs=None,
                 id=None, is_public=True, description=None):
        self.name = name
        self.id = id or str(uuid_mod.uuid4())
        self.vcpus, self.ram, self.disk = vcpus, ram, disk
        self.extra_specs = extra_specs
        self.is_public, self.description = is_public, description
        #: Projects given access (a private flavor's).
        self.projects: list[str] = []


class FakeCompute:
    """The compute proxy calls of nova_mig.flavor.manage, in memory.

    ``refuse`` maps an extra spec key to the HTTP status Nova answers a
    POST carrying it with; ``forbidden`` makes every call answer 403.
    """

    def __init__(self, *flavors):
        self.flavors_by_id = {f.id: f for f in flavors}
        self.calls: list[tuple] = []
        self.refuse: dict[str, int] = {}
        self.forbidden = False

    def _check(self, call):
        self.calls.append(call)
        if self.forbidden:
            raise sdk_exc.ForbiddenException(
                message='Policy does not allow', http_status=403)

    def named(self, name):
        return [f for f in self.flavors_by_id.values() if f.name == name]

    def flavors(self, details=True, is_public=None):
        self._check(('flavors', is_public))
        return iter(list(self.flavors_by_id.values()))

    def fetch_flavor_extra_specs(self, flavor):
        self._check(('fetch_extra_specs', flavor.name))
        flavor.extra_specs = {}
        return flavor

    def create_flavor(self, name, vcpus, ram, disk, is_public=True,
                      id=None, description=None, **unused):
        """Nova's answer to POST /flavors: what openstacksdk returns.

        ``unused`` takes what ``openstack flavor create`` passes too
        (ephemeral, swap), zero when not asked for.
        """
        self._check(('create_flavor', name))
        if id in self.flavors_by_id:
            raise sdk_exc.ConflictException(
                message='Flavor with ID %s already exists.' % id,
                http_status=409)
        flavor = Flavor(name, vcpus, ram, disk, extra_specs={}, id=id,
                        is_public=is_public, description=description)
        self.flavors_by_id[flavor.id] = flavor
        return flavor

    def flavor_add_tenant_access(self, flavor_id, project_id):
        self._check(('add_tenant_access', flavor_id, project_id))
        self.flavors_by_id[flavor_id].projects.append(project_id)

    def delete_flavor(self, flavor):
        self._check(('delete_flavor', flavor.name))
        del self.flavors_by_id[flavor.id]

    def post(self, url, json=None, microversion=None):
        flavor_id = url.split('/')[2]
        flavor = self.flavors_by_id[flavor_id]
        self._check(('post_extra_specs', flavor.name, microversion))
        for key in json['extra_specs']:
            if key in self.refuse:
                return response(self.refuse[key], {'badRequest': {
                    'code': 400, 'message': 'Validation failed; %s' % key}})
        flavor.extra_specs.update(json['extra_specs'])
        return response(200, json)

    def delete_flavor_extra_specs_property(self, flavor, key):
        self._check(('delete_extra_spec', flavor.name, key))
        del self.flavors_by_id[flavor.id].extra_specs[key]
