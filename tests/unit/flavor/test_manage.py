# SPDX-License-Identifier: Apache-2.0

"""Tests of the flavors nova-mig creates, updates and lists."""

import dataclasses

from nova_mig import exception
from nova_mig.flavor import manage
from nova_mig import naming
from tests import base
from tests.unit.flavor import fakes

RC = 'CUSTOM_MIG_1G_10GB'


class FlavorTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.scheme = naming.Scheme()
        self.spec = manage.FlavorSpec(profile='1g.10gb', name='mig.1g.10gb')

    def test_create_sets_specs_at_2_86(self):
        compute = fakes.FakeCompute()
        row = manage.ensure_flavor(compute, self.scheme, self.spec)
        self.assertEqual(manage.CREATED, row.status)
        flavor = compute.named('mig.1g.10gb')[0]
        self.assertEqual({'resources:%s' % RC: '1',
                          naming.MANAGED_KEY: 'true'}, flavor.extra_specs)
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
            naming.MANAGED_KEY: 'true'})
        compute = fakes.FakeCompute(flavor)
        row = manage.ensure_flavor(compute, self.scheme, self.spec)
        self.assertEqual(manage.UPDATED, row.status)
        self.assertEqual({'resources:%s' % RC: '1',
                          'hw:cpu_policy': 'dedicated',
                          naming.MANAGED_KEY: 'true'}, flavor.extra_specs)
        self.assertEqual(['resources:VGPU', 'trait:CUSTOM_GPU_OLD',
                          'trait:%s' % RC], row.removed_specs)

    def test_dry_run_changes_nothing(self):
        flavor = fakes.Flavor('mig.1g.10gb', extra_specs={
            naming.MANAGED_KEY: 'true'})
        compute = fakes.FakeCompute(flavor)
        row = manage.ensure_flavor(compute, self.scheme, self.spec,
                                   dry_run=True)
        self.assertEqual('would update', row.status)
        self.assertEqual({naming.MANAGED_KEY: 'true'}, flavor.extra_specs)
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
        self.assertEqual('true', flavor.extra_specs[naming.MANAGED_KEY])

    def test_size_and_profile_mismatch(self):
        flavor = fakes.Flavor('mig.1g.10gb', vcpus=2, extra_specs={
            naming.MANAGED_KEY: 'true',
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
            naming.MANAGED_KEY: 'true',
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
