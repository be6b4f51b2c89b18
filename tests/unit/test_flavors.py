"""Unit tests of the flavor library: naming, capacity, traits, flavors."""

import dataclasses

from nova_mig import exception
from nova_mig.flavor import capacity
from nova_mig.flavor import manage
from nova_mig.flavor import names
from nova_mig.flavor import traits
from nova_mig.placement import client as client_mod
from tests import base
from tests.unit.osc import fakes

RC = 'CUSTOM_MIG_1G_10GB'


class SchemeTestCase(base.TestCase):

    def test_defaults_follow_the_naming_options(self):
        scheme = names.Scheme()
        self.assertEqual(RC, scheme.resource_class('1g.10gb'))
        self.assertEqual(RC, scheme.profile_trait('1g.10gb'))
        self.assertEqual('mig.1g.10gb', scheme.flavor_name('1g.10gb'))

    def test_from_conf_reads_naming_group(self):
        self.flags(group='naming', mig_resource_class='NM_{profile}')
        scheme = names.Scheme.from_conf(self.conf)
        self.assertEqual('CUSTOM_NM_2G_20GB',
                         scheme.resource_class('2g.20gb'))
        self.assertEqual('2g.20gb',
                         scheme.profile_of_class('CUSTOM_NM_2G_20GB'))
        self.assertIsNone(scheme.profile_of_class('CUSTOM_MIG_2G_20GB'))

    def test_reverse_round_trips_every_suffix(self):
        scheme = names.Scheme(rc_template='GPU_{profile}_SLICE')
        for profile in ('1g.10gb', '1g.10gb+me', '1g.10gb+me.all',
                        '7g.141gb', '1g.24gb+gfx'):
            rc = scheme.resource_class(profile)
            self.assertEqual(profile, scheme.profile_of_class(rc), rc)

    def test_reverse_rejects_foreign_names(self):
        scheme = names.Scheme()
        for name in ('CUSTOM_MIG_FOO', 'VGPU', 'CUSTOM_VGPU_A100D_20C',
                     'CUSTOM_MIG_1G_10GB_XYZ', 'CUSTOM_MIG_0G_10GB'):
            self.assertIsNone(scheme.profile_of_class(name), name)

    def test_extra_specs_per_mode(self):
        self.assertEqual(
            {'resources:%s' % RC: '1', 'trait:CUSTOM_GPU_A': 'required',
             names.MANAGED_KEY: 'true'},
            names.Scheme().extra_specs('1g.10gb', ('CUSTOM_GPU_A',)))
        self.assertEqual(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'required',
             names.MANAGED_KEY: 'true'},
            names.Scheme(vgpu_class=True).extra_specs('1g.10gb'))

    def test_profile_of_specs_reads_both_forms_and_groups(self):
        scheme = names.Scheme()
        self.assertEqual('1g.10gb', scheme.profile_of_specs(
            {'resources1:%s' % RC: '1'}))
        self.assertEqual('1g.10gb', scheme.profile_of_specs(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'required'}))
        # A forbidden profile trait does not ask for the profile.
        self.assertIsNone(scheme.profile_of_specs(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'forbidden'}))
        self.assertIsNone(scheme.profile_of_specs({'hw:cpu_policy': 'x'}))

    def test_is_profile(self):
        self.assertTrue(names.is_profile('3g.40gb'))
        self.assertTrue(names.is_profile('1g.10gb+me'))
        for bad in ('big', '1g.10GB', '0g.10gb', '1g.10gb+xx', ''):
            self.assertFalse(names.is_profile(bad), bad)


class PlacementTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.api = fakes.FakePlacementAdapter()
        self.client = client_mod.PlacementClient(self.api, 'fake')
        self.scheme = names.Scheme()


class CapacityTestCase(PlacementTestCase):

    def test_totals_apply_reserved_and_allocation_ratio(self):
        cn1 = self.api.add('cn1', inventory={'VCPU': {'total': 8}})
        self.api.add('cn1_gpu0', parent=cn1,
                     inventory={RC: {'total': 4, 'reserved': 1}},
                     usages={RC: 2})
        self.api.add('cn1_gpu1', parent=cn1,
                     inventory={RC: {'total': 2, 'allocation_ratio': 2.0}},
                     usages={RC: 4})
        cn2 = self.api.add('cn2')
        self.api.add('cn2_gpu0', parent=cn2,
                     inventory={'CUSTOM_MIG_3G_40GB': {'total': 2}})
        rows = capacity.provider_slices(self.client, self.scheme)
        self.assertEqual(
            [('cn1', 'cn1_gpu0', 3, 2, 1), ('cn1', 'cn1_gpu1', 4, 4, 0),
             ('cn2', 'cn2_gpu0', 2, 0, 2)],
            [(r.host, r.provider, r.capacity, r.used, r.free)
             for r in rows])
        totals = capacity.by_profile(rows)
        self.assertEqual(
            [('1g.10gb', 1, 2, 7, 6, 1), ('3g.40gb', 1, 1, 2, 0, 2)],
            [(p.profile, p.hosts, p.providers, p.capacity, p.used, p.free)
             for p in totals])

    def test_vgpu_provider_counts_with_one_profile_trait_only(self):
        cn = self.api.add('cn')
        self.api.add('one', parent=cn, inventory={'VGPU': {'total': 3}},
                     usages={'VGPU': 1}, traits={RC, 'CUSTOM_GPU_X'})
        self.api.add('two', parent=cn, inventory={'VGPU': {'total': 3}},
                     traits={RC, 'CUSTOM_MIG_2G_20GB'})
        self.api.add('timesliced', parent=cn,
                     inventory={'VGPU': {'total': 8}})
        rows = capacity.provider_slices(self.client, self.scheme)
        self.assertEqual([('one', '1g.10gb', 'VGPU', 3, 1)],
                         [(r.provider, r.profile, r.resource_class,
                           r.capacity, r.used) for r in rows])

    def test_requests_and_microversions(self):
        cn = self.api.add('cn')
        gpu = self.api.add('gpu', parent=cn, inventory={RC: {'total': 1}})
        capacity.provider_slices(self.client, self.scheme)
        # Providers are read in name order: "cn" before "gpu".
        self.assertEqual(
            [('GET', '/resource_providers', '1.14'),
             ('GET', '/resource_providers/%s/inventories' % cn, '1.23'),
             ('GET', '/resource_providers/%s/inventories' % gpu, '1.23'),
             ('GET', '/resource_providers/%s/usages' % gpu, '1.9')],
            self.api.seen)

    def test_offered_needs_inventory(self):
        cn = self.api.add('cn')
        self.api.add('gpu', parent=cn, inventory={RC: {'total': 0}})
        self.api.add('gpu2', parent=cn,
                     inventory={'CUSTOM_MIG_2G_20GB': {'total': 1}})
        self.assertEqual(['2g.20gb'], capacity.offered_profiles(
            self.client, self.scheme))

    def test_check_profile_names_known_profiles(self):
        self.api.classes |= {RC, 'CUSTOM_MIG_2G_20GB', 'CUSTOM_OTHER'}
        capacity.check_profile(self.client, self.scheme, '1g.10gb')
        e = self.assertRaises(exception.ProfileNotOffered,
                              capacity.check_profile, self.client,
                              self.scheme, '3g.40gb')
        self.assertIn('Known profiles: 1g.10gb, 2g.20gb.', str(e))
        self.assertIn('resource class CUSTOM_MIG_3G_40GB', str(e))
        self.assertRaises(exception.NotMigProfile, capacity.check_profile,
                          self.client, self.scheme, 'huge')

    def test_check_profile_vgpu_class_needs_the_trait(self):
        self.api.classes.add(RC)
        scheme = names.Scheme(vgpu_class=True)
        e = self.assertRaises(exception.ProfileNotOffered,
                              capacity.check_profile, self.client, scheme,
                              '1g.10gb')
        self.assertIn('trait %s' % RC, str(e))
        self.api.traits.add(RC)
        capacity.check_profile(self.client, scheme, '1g.10gb')


class TraitsTestCase(PlacementTestCase):

    def test_list_keeps_gpu_traits_and_counts(self):
        cn = self.api.add('cn')
        self.api.add('gpu', parent=cn, traits={RC, 'CUSTOM_GPU_A100'})
        self.api.traits |= {'CUSTOM_FOO', 'CUSTOM_VGPU_MODE_MDEV',
                            'CUSTOM_CUDA_COMPUTE_CAPABILITY_V9_0'}
        rows = traits.list_traits(self.client, self.scheme, count=True)
        self.assertEqual(
            [('CUSTOM_CUDA_COMPUTE_CAPABILITY_V9_0', traits.CAPABILITY,
              None, 0),
             ('CUSTOM_GPU_A100', traits.MODEL, None, 1),
             (RC, traits.PROFILE, '1g.10gb', 1),
             ('CUSTOM_VGPU_MODE_MDEV', traits.MODE, None, 0)],
            [(r.name, r.kind, r.profile, r.providers) for r in rows])

    def test_sync_creates_only_missing_and_dry_run_creates_none(self):
        self.api.traits.add(RC)
        dry = traits.sync_traits(self.client, self.scheme,
                                 ['1g.10gb', '2g.20gb'], dry_run=True)
        self.assertEqual(['exists', 'would create'],
                         [r.status for r in dry])
        self.assertNotIn('CUSTOM_MIG_2G_20GB', self.api.traits)
        rows = traits.sync_traits(self.client, self.scheme,
                                  ['1g.10gb', '2g.20gb'])
        self.assertEqual(['exists', 'created'], [r.status for r in rows])
        self.assertIn('CUSTOM_MIG_2G_20GB', self.api.traits)
        puts = [s for s in self.api.seen if s[0] == 'PUT']
        self.assertEqual([('PUT', '/traits/CUSTOM_MIG_2G_20GB', '1.6')],
                         puts)

    def test_check_traits_names_missing_and_known(self):
        self.api.traits |= {'CUSTOM_GPU_A100'}
        traits.check_traits(self.client, self.scheme, ['CUSTOM_GPU_A100'])
        e = self.assertRaises(exception.UnknownTraits, traits.check_traits,
                              self.client, self.scheme, ['CUSTOM_GPU_H100'])
        self.assertIn('no trait CUSTOM_GPU_H100', str(e))
        self.assertIn('Known GPU traits: CUSTOM_GPU_A100', str(e))


class FlavorTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.scheme = names.Scheme()
        self.spec = manage.FlavorSpec(profile='1g.10gb', name='mig.1g.10gb')

    def test_create_sets_specs_at_2_86(self):
        compute = fakes.FakeCompute()
        row = manage.ensure_flavor(compute, self.scheme, self.spec)
        self.assertEqual(manage.CREATED, row.status)
        flavor = compute.named('mig.1g.10gb')[0]
        self.assertEqual({'resources:%s' % RC: '1',
                          names.MANAGED_KEY: 'true'}, flavor.extra_specs)
        self.assertEqual((4, 8192, 20),
                         (flavor.vcpus, flavor.ram, flavor.disk))
        self.assertIn(('post_extra_specs', 'mig.1g.10gb', '2.86'),
                      compute.calls)

    def test_second_run_changes_nothing(self):
        compute = fakes.FakeCompute()
        manage.ensure_flavor(compute, self.scheme, self.spec)
        compute.calls.clear()
        row = manage.ensure_flavor(compute, self.scheme, self.spec)
        self.assertEqual(manage.UNCHANGED, row.status)
        self.assertEqual([('flavors', 'None')], compute.calls)
        self.assertEqual(1, len(compute.named('mig.1g.10gb')))

    def test_update_replaces_mig_keys_and_keeps_others(self):
        flavor = fakes.Flavor('mig.1g.10gb', extra_specs={
            'resources:VGPU': '1', 'trait:%s' % RC: 'required',
            'trait:CUSTOM_GPU_OLD': 'required', 'hw:cpu_policy': 'dedicated',
            names.MANAGED_KEY: 'true'})
        compute = fakes.FakeCompute(flavor)
        row = manage.ensure_flavor(compute, self.scheme, self.spec)
        self.assertEqual(manage.UPDATED, row.status)
        self.assertEqual({'resources:%s' % RC: '1',
                          'hw:cpu_policy': 'dedicated',
                          names.MANAGED_KEY: 'true'}, flavor.extra_specs)
        self.assertEqual(['resources:VGPU', 'trait:CUSTOM_GPU_OLD',
                          'trait:%s' % RC], row.removed_specs)

    def test_dry_run_changes_nothing(self):
        flavor = fakes.Flavor('mig.1g.10gb', extra_specs={
            names.MANAGED_KEY: 'true'})
        compute = fakes.FakeCompute(flavor)
        row = manage.ensure_flavor(compute, self.scheme, self.spec,
                                   dry_run=True)
        self.assertEqual('would update', row.status)
        self.assertEqual({names.MANAGED_KEY: 'true'}, flavor.extra_specs)
        row = manage.ensure_flavor(compute, self.scheme, dataclasses.replace(
            self.spec, name='new'), dry_run=True)
        self.assertEqual('would create', row.status)
        self.assertEqual([], compute.named('new'))

    def test_foreign_flavor_needs_force(self):
        flavor = fakes.Flavor('mig.1g.10gb', extra_specs={'a': 'b'})
        compute = fakes.FakeCompute(flavor)
        e = self.assertRaises(exception.FlavorNotManaged,
                              manage.ensure_flavor, compute, self.scheme,
                              self.spec)
        self.assertIn('mig.1g.10gb (%s)' % flavor.id, str(e))
        self.assertEqual({'a': 'b'}, flavor.extra_specs)
        row = manage.ensure_flavor(compute, self.scheme, self.spec,
                                   force=True)
        self.assertTrue(row.managed)
        self.assertEqual('true', flavor.extra_specs[names.MANAGED_KEY])

    def test_size_and_profile_mismatch(self):
        flavor = fakes.Flavor('mig.1g.10gb', vcpus=2, extra_specs={
            names.MANAGED_KEY: 'true',
            'resources:CUSTOM_MIG_2G_20GB': '1'})
        compute = fakes.FakeCompute(flavor)
        e = self.assertRaises(exception.FlavorSizeMismatch,
                              manage.ensure_flavor, compute, self.scheme,
                              dataclasses.replace(self.spec, vcpus=4))
        self.assertIn('vcpus=2, not vcpus=4', str(e))
        e = self.assertRaises(exception.FlavorProfileMismatch,
                              manage.ensure_flavor, compute, self.scheme,
                              self.spec)
        self.assertIn('2g.20gb, not 1g.10gb', str(e))

    def test_refused_specs_delete_the_new_flavor(self):
        compute = fakes.FakeCompute()
        compute.refuse['hw:bogus'] = 400
        spec = dataclasses.replace(self.spec, properties={'hw:bogus': '1'})
        e = self.assertRaises(exception.ComputeRequestFailed,
                              manage.ensure_flavor, compute, self.scheme,
                              spec)
        self.assertIn('HTTP 400', str(e))
        self.assertEqual([], compute.named('mig.1g.10gb'))

    def test_forbidden_says_admin_rights(self):
        compute = fakes.FakeCompute()
        compute.forbidden = True
        e = self.assertRaises(exception.AdminRequired, manage.ensure_flavor,
                              compute, self.scheme, self.spec)
        self.assertIn('Nova refused listing flavors', str(e))
        self.assertIn('admin rights are needed', str(e))

    def test_missing_extra_specs_are_fetched(self):
        compute = fakes.FakeCompute(fakes.Flavor('plain'))
        self.assertEqual([], manage.mig_flavors(compute, self.scheme))
        self.assertIn(('fetch_extra_specs', 'plain'), compute.calls)

    def test_sync_creates_refuses_and_reports_lost_profiles(self):
        foreign = fakes.Flavor('mig.2g.20gb', extra_specs={})
        lost = fakes.Flavor('mig.7g.80gb', extra_specs={
            names.MANAGED_KEY: 'true',
            'resources:CUSTOM_MIG_7G_80GB': '1'})
        compute = fakes.FakeCompute(foreign, lost)
        rows = manage.sync_flavors(compute, self.scheme,
                                   ['1g.10gb', '2g.20gb'])
        self.assertEqual(
            [('mig.1g.10gb', manage.CREATED),
             ('mig.2g.20gb', manage.REFUSED),
             ('mig.7g.80gb', manage.NOT_OFFERED)],
            [(r.name, r.status) for r in rows])
        self.assertIn('not created by nova-mig', rows[1].reason)
        self.assertEqual({}, foreign.extra_specs)
        self.assertIn(lost.id, compute.flavors_by_id)
