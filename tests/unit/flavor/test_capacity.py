# SPDX-License-Identifier: Apache-2.0

"""Tests of cloud-wide MIG capacity read from Placement."""

from nova_mig import exception
from nova_mig.flavor import slice_capacity
from nova_mig import naming
from tests.unit.flavor import base as flavor_base

RC = flavor_base.RC


class CapacityTestCase(flavor_base.PlacementTestCase):

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
        rows = slice_capacity.provider_slices(self.client, self.scheme)
        self.assertEqual(
            [('cn1', 'cn1_gpu0', 3, 2, 1), ('cn1', 'cn1_gpu1', 4, 4, 0),
             ('cn2', 'cn2_gpu0', 2, 0, 2)],
            [(r.host, r.provider, r.capacity, r.used, r.free)
             for r in rows])
        totals = slice_capacity.by_profile(rows)
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
        rows = slice_capacity.provider_slices(self.client, self.scheme)
        self.assertEqual([('one', '1g.10gb', 'VGPU', 3, 1)],
                         [(r.provider, r.profile, r.resource_class,
                           r.capacity, r.used) for r in rows])

    def test_requests_and_microversions(self):
        cn = self.api.add('cn')
        gpu = self.api.add('gpu', parent=cn, inventory={RC: {'total': 1}})
        slice_capacity.provider_slices(self.client, self.scheme)
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
        self.assertEqual(['2g.20gb'], slice_capacity.offered_profiles(
            self.client, self.scheme))

    def test_check_profile_names_known_profiles(self):
        self.api.classes |= {RC, 'CUSTOM_MIG_2G_20GB', 'CUSTOM_OTHER'}
        slice_capacity.check_profile(self.client, self.scheme, '1g.10gb')
        e = self.assertRaises(exception.ProfileNotOffered,
                              slice_capacity.check_profile, self.client,
                              self.scheme, '3g.40gb')
        self.assertIn('Known profiles: 1g.10gb, 2g.20gb.', str(e))
        self.assertIn('resource class CUSTOM_MIG_3G_40GB', str(e))
        self.assertRaises(exception.NotMigProfile,
                          slice_capacity.check_profile,
                          self.client, self.scheme, 'huge')

    def test_check_profile_vgpu_class_needs_the_trait(self):
        self.api.classes.add(RC)
        scheme = naming.Scheme(vgpu_class=True)
        e = self.assertRaises(exception.ProfileNotOffered,
                              slice_capacity.check_profile, self.client,
                              scheme,
                              '1g.10gb')
        self.assertIn('trait %s' % RC, str(e))
        self.api.traits.add(RC)
        slice_capacity.check_profile(self.client, scheme, '1g.10gb')
