# SPDX-License-Identifier: Apache-2.0

"""``openstack mig`` against real Keystone, Placement and Nova API."""

import io
import json
import os
import random
import subprocess
import sys
import uuid

import fixtures
from keystoneauth1 import adapter as ks_adapter

from nova_mig.placement import api_client
from tests import base
from tests.integration import services as services_mod

MV_ALLOCATIONS = '1.28'


def unique_profile(slices: int = 2) -> str:
    """A profile no other test of the process uses: own class and trait."""
    return '%dg.%dgb' % (slices, random.randint(100, 99999))


def rc_of(profile: str) -> str:
    return 'CUSTOM_MIG_' + profile.upper().replace('.', '_').replace(
        '+', '_')


class OscTestCase(base.TimedTestCase):
    """Runs ``openstack`` in-process with the services' ``OS_*``."""

    def setUp(self):
        super().setUp()
        self.services = self.useFixture(
            services_mod.ServicesFixture()).services
        for name in [k for k in os.environ if k.startswith('OS_')]:
            self.useFixture(fixtures.EnvironmentVariable(name))
        for name, value in self.services.env().items():
            self.useFixture(fixtures.EnvironmentVariable(name, value))
        self.placement = api_client.PlacementClient(
            ks_adapter.Adapter(self.services.session(),
                               service_type='placement',
                               interface='public',
                               region_name=services_mod.REGION), 'it')
        self.compute = ks_adapter.Adapter(
            self.services.session(), service_type='compute',
            interface='public', region_name=services_mod.REGION)

    # -- helpers ------------------------------------------------------------
    def openstack(self, *argv: str, demo: bool = False,
                  expect: int = 0) -> str:
        """Run ``openstack ARGV``; return stdout, check the exit code."""
        from openstackclient import shell
        out, err = io.StringIO(), io.StringIO()
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', err))
        if demo:
            argv = ('--os-username', 'demo', '--os-password',
                    services_mod.DEMO_PASSWORD, '--os-project-name',
                    'demo') + argv
        rc = shell.OpenStackShell().run(list(argv))
        self.last_stderr = err.getvalue()
        self.assertEqual(expect, rc, 'openstack %s: stdout %s stderr %s'
                         % (' '.join(argv), out.getvalue(),
                            self.last_stderr))
        return out.getvalue()

    def openstack_json(self, *argv: str):
        return json.loads(self.openstack(*(argv + ('-f', 'json'))))

    def provider(self, name: str, parent: str | None = None,
                 inventory: dict | None = None,
                 traits: set | None = None) -> str:
        rp = self.placement.create_provider(name, parent=parent)
        generation = rp['generation']
        if inventory:
            for rc in inventory:
                if rc.startswith('CUSTOM_'):
                    self.placement.ensure_resource_class(rc)
            generation = self.placement.set_inventories(
                rp['uuid'], inventory, generation)
        if traits:
            for trait in traits:
                self.placement.ensure_trait(trait)
            self.placement.set_provider_traits(rp['uuid'], traits,
                                               generation)
        return rp['uuid']

    def allocate(self, rp: str, rc: str, amount: int) -> None:
        self.placement.request(
            'PUT', '/allocations/%s' % uuid.uuid4(), MV_ALLOCATIONS,
            {'allocations': {rp: {'resources': {rc: amount}}},
             'project_id': str(uuid.uuid4()), 'user_id': str(uuid.uuid4()),
             'consumer_generation': None}, ok=(204,))

    def gpu_host(self, profile: str, totals: list[int],
                 reserved: int = 0, traits=()) -> tuple[str, list[str]]:
        """A compute node with one GPU provider per total."""
        host = 'cn-%s' % uuid.uuid4().hex[:8]
        root = self.provider(host, inventory={
            'VCPU': {'total': 8}, 'MEMORY_MB': {'total': 16384}})
        gpus = [self.provider(
            '%s_pci_0000_41_00_%d' % (host, i), parent=root,
            inventory={rc_of(profile): {'total': total,
                                        'reserved': reserved,
                                        'max_unit': total}},
            traits=set(traits)) for i, total in enumerate(totals)]
        return host, gpus

    def nova_flavor(self, name: str) -> dict:
        """The flavor as Nova shows it, extra specs included."""
        flavors = self.compute.get(
            '/flavors/detail?is_public=None',
            microversion='2.61').json()['flavors']
        same = [f for f in flavors if f['name'] == name]
        self.assertEqual(1, len(same), 'flavors named %s' % name)
        return same[0]


class ProfileListTestCase(OscTestCase):

    def test_totals_used_and_free_match_the_providers(self):
        profile = unique_profile()
        rc = rc_of(profile)
        host1, (gpu_a, gpu_b) = self.gpu_host(profile, [3, 2])
        host2, (gpu_c,) = self.gpu_host(profile, [4], reserved=1,
                                        traits=['CUSTOM_GPU_IT_MODEL'])
        self.allocate(gpu_a, rc, 2)
        self.allocate(gpu_c, rc, 1)

        rows = [r for r in self.openstack_json('mig', 'profile', 'list')
                if r['Profile'] == profile]
        self.assertEqual([{'Profile': profile, 'Resource Class': rc,
                           'Hosts': 2, 'Providers': 3, 'Total': 3 + 2 + 3,
                           'Used': 3, 'Free': 5}], rows)

        long_rows = [r for r in self.openstack_json(
            'mig', 'profile', 'list', '--long') if r['Profile'] == profile]
        self.assertEqual(
            sorted([(host1, host1 + '_pci_0000_41_00_0', 3, 0, 2, 1, []),
                    (host1, host1 + '_pci_0000_41_00_1', 2, 0, 0, 2, []),
                    (host2, host2 + '_pci_0000_41_00_0', 3, 1, 1, 2,
                     ['CUSTOM_GPU_IT_MODEL'])]),
            [(r['Host'], r['Provider'], r['Total'], r['Reserved'],
              r['Used'], r['Free'], r['GPU Model']) for r in long_rows])

    def test_vgpu_providers_with_a_profile_trait_count(self):
        profile = unique_profile(3)
        trait = rc_of(profile)
        host = 'cn-%s' % uuid.uuid4().hex[:8]
        root = self.provider(host)
        gpu = self.provider(host + '_pci_0000_81_00_4', parent=root,
                            inventory={'VGPU': {'total': 2}},
                            traits={trait})
        self.allocate(gpu, 'VGPU', 1)
        rows = [r for r in self.openstack_json('mig', 'profile', 'list')
                if r['Profile'] == profile]
        self.assertEqual([('VGPU', 1, 2, 1, 1)],
                         [(r['Resource Class'], r['Providers'], r['Total'],
                           r['Used'], r['Free']) for r in rows])

    def test_non_admin_is_told_admin_rights_are_needed(self):
        self.openstack('mig', 'profile', 'list', demo=True, expect=1)
        self.assertIn('admin rights are needed', self.last_stderr)
        self.assertIn('Placement', self.last_stderr)


class FlavorTestCase(OscTestCase):

    def test_create_is_accepted_by_nova_and_idempotent(self):
        profile = unique_profile()
        self.gpu_host(profile, [1])
        self.placement.ensure_trait('CUSTOM_GPU_NVIDIA_A100_80GB_PCIE')
        first = self.openstack_json(
            'mig', 'flavor', 'create', '--profile', profile, '--vcpus', '2',
            '--ram', '2048', '--model-trait', 'NVIDIA A100 80GB PCIe',
            '--property', 'hw:cpu_policy=dedicated')
        self.assertEqual('created', first['status'])
        specs = {'resources:%s' % rc_of(profile): '1',
                 'trait:CUSTOM_GPU_NVIDIA_A100_80GB_PCIE': 'required',
                 'hw:cpu_policy': 'dedicated', 'nova_mig:managed': 'true'}
        flavor = self.nova_flavor('mig.' + profile)
        self.assertEqual(specs, flavor['extra_specs'])
        self.assertEqual((2, 2048, 20),
                         (flavor['vcpus'], flavor['ram'], flavor['disk']))

        # create refuses an existing flavor; --or-update upserts it.
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       expect=1)
        self.assertIn('Flavor mig.%s (%s) exists; refusing to create it '
                      'again. Pass --or-update' % (profile, first['id']),
                      self.last_stderr)
        again = self.openstack_json('mig', 'flavor', 'create', '--profile',
                                    profile, '--model-trait',
                                    'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                                    '--property', 'hw:cpu_policy=dedicated',
                                    '--or-update')
        self.assertEqual(('unchanged', first['id']),
                         (again['status'], again['id']))
        # Without the model trait the flavor is updated, not duplicated.
        third = self.openstack_json('mig', 'flavor', 'create', '--profile',
                                    profile, '--or-update')
        self.assertEqual(('updated', first['id']),
                         (third['status'], third['id']))
        flavor = self.nova_flavor('mig.' + profile)
        self.assertNotIn('trait:CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                         flavor['extra_specs'])
        self.assertEqual('dedicated', flavor['extra_specs']['hw:cpu_policy'])

        listed = [r for r in self.openstack_json('mig', 'flavor', 'list')
                  if r['Name'] == 'mig.' + profile]
        self.assertEqual([(profile, {rc_of(profile): '1'}, True)],
                         [(r['Profile'], r['Resources'], r['Managed'])
                          for r in listed])

    def test_same_arguments_as_openstack_flavor_create(self):
        """The options shared with core's command make the same flavor."""
        profile = unique_profile()
        self.gpu_host(profile, [1])
        suffix = uuid.uuid4().hex[:8]
        shared = ('--ram', '2048', '--disk', '10', '--vcpus', '2',
                  '--private', '--project', 'demo', '--description',
                  'One slice', '--property', 'hw:cpu_policy=dedicated')
        self.openstack('--os-compute-api-version', '2.61', 'flavor',
                       'create', 'core-' + suffix, '--id', 'core-' + suffix,
                       *shared)
        self.openstack('--os-compute-api-version', '2.61', 'mig', 'flavor',
                       'create', 'mig-' + suffix, '--id', 'mig-' + suffix,
                       '--profile', profile, *shared)

        def made(name):
            flavor = self.nova_flavor(name)
            access = self.compute.get(
                '/flavors/%s/os-flavor-access' % flavor['id'],
                microversion='2.61').json()['flavor_access']
            return ((flavor['vcpus'], flavor['ram'], flavor['disk'],
                     flavor['os-flavor-access:is_public'],
                     flavor['description']),
                    [a['tenant_id'] for a in access],
                    flavor['extra_specs']['hw:cpu_policy'])
        core = made('core-' + suffix)
        self.assertEqual(((2, 2048, 10, False, 'One slice'), 1),
                         (core[0], len(core[1])))
        self.assertEqual(core, made('mig-' + suffix))
        self.assertEqual('mig-' + suffix, self.nova_flavor(
            'mig-' + suffix)['id'])

    def test_vgpu_class_flavor_is_accepted_by_nova(self):
        profile = unique_profile(3)
        self.placement.ensure_trait(rc_of(profile))
        row = self.openstack_json('mig', 'flavor', 'create',
                                  'vgpu-' + profile, '--profile', profile,
                                  '--vgpu-class')
        self.assertEqual('created', row['status'])
        self.assertEqual(
            {'resources:VGPU': '1', 'trait:%s' % rc_of(profile): 'required',
             'nova_mig:managed': 'true'},
            self.nova_flavor('vgpu-' + profile)['extra_specs'])
        listed = [r['Profile'] for r in self.openstack_json(
            'mig', 'flavor', 'list') if r['Name'] == 'vgpu-' + profile]
        self.assertEqual([profile], listed)

    def test_unknown_profile_names_the_known_ones(self):
        known = unique_profile()
        self.gpu_host(known, [1])
        self.openstack('mig', 'flavor', 'create', '--profile', '7g.1gb',
                       expect=1)
        self.assertIn('7g.1gb is not known', self.last_stderr)
        self.assertIn(known, self.last_stderr)
        self.openstack('mig', 'flavor', 'create', '--profile', 'big',
                       expect=1)
        self.assertIn("'big' is not a MIG profile name", self.last_stderr)

    def test_unknown_model_trait_is_refused(self):
        profile = unique_profile()
        self.gpu_host(profile, [1])
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       '--model-trait', 'CUSTOM_GPU_NO_SUCH_MODEL', expect=1)
        self.assertIn('no trait CUSTOM_GPU_NO_SUCH_MODEL', self.last_stderr)
        self.assertNotIn('mig.' + profile, self.openstack(
            'flavor', 'list', '--all', '-f', 'value', '-c', 'Name'))

    def test_nova_validation_failure_leaves_no_flavor(self):
        profile = unique_profile()
        self.gpu_host(profile, [1])
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       '--property', 'hw:cpu_policy=bogus', expect=1)
        self.assertIn('HTTP 400', self.last_stderr)
        self.assertIn('bogus', self.last_stderr)
        self.assertNotIn('mig.' + profile, self.openstack(
            'flavor', 'list', '--all', '-f', 'value', '-c', 'Name'))

    def test_flavor_not_created_by_nova_mig_needs_force(self):
        profile = unique_profile()
        self.gpu_host(profile, [1])
        name = 'mig.' + profile
        fid = self.openstack('flavor', 'create', '--vcpus', '1', '--ram',
                             '64', '--property', 'owner=ops', name, '-f',
                             'value', '-c', 'id').strip()
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       expect=1)
        self.assertIn('Flavor %s (%s) exists; refusing to create it again'
                      % (name, fid), self.last_stderr)
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       '--or-update', expect=1)
        self.assertIn('Flavor %s (%s) exists and was not created by '
                      'nova-mig' % (name, fid), self.last_stderr)
        self.assertEqual({'owner': 'ops'},
                         self.nova_flavor(name)['extra_specs'])
        row = self.openstack_json('mig', 'flavor', 'create', '--profile',
                                  profile, '--or-update', '--force')
        self.assertEqual(('updated', fid, True),
                         (row['status'], row['id'], row['managed']))
        self.assertEqual({'owner': 'ops', 'nova_mig:managed': 'true',
                          'resources:%s' % rc_of(profile): '1'},
                         self.nova_flavor(name)['extra_specs'])

    def test_non_admin_cannot_create(self):
        profile = unique_profile()
        self.gpu_host(profile, [1])
        self.openstack('mig', 'flavor', 'create', '--profile', profile,
                       demo=True, expect=1)
        self.assertIn('admin rights are needed', self.last_stderr)

    def test_sync_one_flavor_per_offered_profile(self):
        p1, p2 = unique_profile(1), unique_profile(4)
        _, (gpu1,) = self.gpu_host(p1, [2])
        self.gpu_host(p2, [1, 1])
        dry = self.openstack_json('mig', 'flavor', 'sync', '--dry-run')
        dry = {r['Profile']: r['Status'] for r in dry}
        self.assertEqual('would create', dry[p1])
        self.assertEqual('would create', dry[p2])
        names = self.openstack('flavor', 'list', '--all', '-f', 'value',
                               '-c', 'Name')
        self.assertNotIn('mig.' + p1, names)

        first = {r['Profile']: r for r in self.openstack_json(
            'mig', 'flavor', 'sync', '--profile', p1, '--profile', p2)}
        self.assertEqual({p1, p2}, set(first))
        self.assertEqual({'created'}, {r['Status'] for r in first.values()})
        second = {r['Profile']: r for r in self.openstack_json(
            'mig', 'flavor', 'sync', '--profile', p1, '--profile', p2)}
        self.assertEqual({'unchanged'},
                         {r['Status'] for r in second.values()})
        self.assertEqual({p: r['ID'] for p, r in first.items()},
                         {p: r['ID'] for p, r in second.items()})
        names = self.openstack('flavor', 'list', '--all', '-f', 'value',
                               '-c', 'Name').split()
        self.assertEqual(1, names.count('mig.' + p1))
        # p1's GPU goes: its flavor is reported, never deleted.
        generation = self.placement.inventories(gpu1)[1]
        self.placement.set_inventories(gpu1, {}, generation)
        after = {r['Profile']: r['Status'] for r in self.openstack_json(
            'mig', 'flavor', 'sync')}
        self.assertEqual(('not offered', 'unchanged'),
                         (after[p1], after[p2]))
        self.assertIn('mig.' + p1, self.openstack(
            'flavor', 'list', '--all', '-f', 'value', '-c', 'Name'))

    def test_sync_refuses_foreign_flavor_and_exits_1(self):
        p1, p2 = unique_profile(1), unique_profile(2)
        self.gpu_host(p1, [1])
        self.gpu_host(p2, [1])
        self.openstack('flavor', 'create', '--vcpus', '1', '--ram', '64',
                       'mig.' + p1)
        out = self.openstack('mig', 'flavor', 'sync', '--profile', p1,
                             '--profile', p2, '-f', 'json', expect=1)
        rows = {r['Profile'] or r['Name']: r['Status']
                for r in json.loads(out) if r['Status'] != 'not offered'}
        self.assertEqual({'mig.' + p1: 'refused', p2: 'created'}, rows)
        self.assertEqual({}, self.nova_flavor('mig.' + p1)['extra_specs'])
        self.assertIn('not created by nova-mig', self.last_stderr)


class TraitTestCase(OscTestCase):

    def test_sync_creates_missing_profile_traits_once(self):
        profile = unique_profile()
        self.gpu_host(profile, [2])
        trait = rc_of(profile)
        extra = unique_profile(7)
        dry = {r['Name']: r['Status'] for r in self.openstack_json(
            'mig', 'trait', 'sync', '--dry-run')}
        self.assertEqual('would create', dry[trait])
        self.assertEqual(set(), self.placement.existing_traits({trait}))
        first = {r['Name']: r['Status'] for r in self.openstack_json(
            'mig', 'trait', 'sync', '--profile', extra)}
        self.assertEqual('created', first[trait])
        self.assertEqual('created', first[rc_of(extra)])
        self.assertEqual({trait, rc_of(extra)},
                         self.placement.existing_traits(
                             {trait, rc_of(extra)}))
        second = {r['Name']: r['Status'] for r in self.openstack_json(
            'mig', 'trait', 'sync')}
        self.assertEqual('exists', second[trait])

    def test_list_classifies_and_counts(self):
        profile = unique_profile()
        model = 'CUSTOM_GPU_IT_%s' % uuid.uuid4().hex[:6].upper()
        self.gpu_host(profile, [1, 1], traits=[rc_of(profile), model])
        self.placement.ensure_trait('CUSTOM_NOT_A_GPU_TRAIT')
        rows = {r['Name']: r for r in self.openstack_json(
            'mig', 'trait', 'list', '--long')}
        self.assertEqual({'Name': rc_of(profile), 'Kind': 'profile',
                          'Profile': profile, 'Providers': 2},
                         rows[rc_of(profile)])
        self.assertEqual(('model', 2), (rows[model]['Kind'],
                                        rows[model]['Providers']))
        self.assertNotIn('CUSTOM_NOT_A_GPU_TRAIT', rows)

    def test_non_admin_is_refused(self):
        self.openstack('mig', 'trait', 'list', demo=True, expect=1)
        self.assertIn('admin rights are needed', self.last_stderr)


class CliTestCase(OscTestCase):
    """The real ``openstack`` executable with a clouds.yaml."""

    def test_clouds_yaml_and_json_output(self):
        profile = unique_profile()
        self.gpu_host(profile, [2])
        directory = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(directory, 'clouds.yaml')
        auth = self.services.auth()
        with open(path, 'w') as f:
            json.dump({'clouds': {'it': {
                'auth': auth, 'region_name': services_mod.REGION,
                'interface': 'public', 'identity_api_version': 3}}}, f)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env['OS_CLIENT_CONFIG_FILE'] = path
        exe = os.path.join(os.path.dirname(sys.executable), 'openstack')
        proc = subprocess.run(
            [exe, '--os-cloud', 'it', 'mig', 'flavor', 'create',
             '--profile', profile, '-f', 'json'],
            env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        row = json.loads(proc.stdout)
        self.assertEqual(('mig.' + profile, 'created'),
                         (row['name'], row['status']))
        proc = subprocess.run(
            [exe, '--os-cloud', 'it', 'mig', 'profile', 'list', '-f',
             'json'], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertIn({'Profile': profile, 'Resource Class': rc_of(profile),
                       'Hosts': 1, 'Providers': 1, 'Total': 2, 'Used': 0,
                       'Free': 2}, json.loads(proc.stdout))
