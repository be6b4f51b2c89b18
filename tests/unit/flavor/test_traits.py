# SPDX-License-Identifier: Apache-2.0

"""Tests of the GPU traits nova-mig lists and creates in Placement."""

from nova_mig import exception
from nova_mig.flavor import gpu_traits
from tests.unit.flavor import base as flavor_base

RC = flavor_base.RC


class TraitsTestCase(flavor_base.PlacementTestCase):

    def test_list_keeps_gpu_traits_and_counts(self):
        cn = self.api.add('cn')
        self.api.add('gpu', parent=cn, traits={RC, 'CUSTOM_GPU_A100'})
        self.api.traits |= {'CUSTOM_FOO', 'CUSTOM_VGPU_MODE_MDEV',
                            'CUSTOM_CUDA_COMPUTE_CAPABILITY_V9_0'}
        rows = gpu_traits.list_traits(self.client, self.scheme, count=True)
        self.assertEqual(
            [('CUSTOM_CUDA_COMPUTE_CAPABILITY_V9_0', gpu_traits.CAPABILITY,
              None, 0),
             ('CUSTOM_GPU_A100', gpu_traits.MODEL, None, 1),
             (RC, gpu_traits.PROFILE, '1g.10gb', 1),
             ('CUSTOM_VGPU_MODE_MDEV', gpu_traits.MODE, None, 0)],
            [(r.name, r.kind, r.profile, r.providers) for r in rows])

    def test_sync_creates_only_missing_and_dry_run_creates_none(self):
        self.api.traits.add(RC)
        dry = gpu_traits.sync_traits(self.client, self.scheme,
                                     ['1g.10gb', '2g.20gb'], dry_run=True)
        self.assertEqual(['exists', 'would create'],
                         [r.status for r in dry])
        self.assertNotIn('CUSTOM_MIG_2G_20GB', self.api.traits)
        rows = gpu_traits.sync_traits(self.client, self.scheme,
                                      ['1g.10gb', '2g.20gb'])
        self.assertEqual(['exists', 'created'], [r.status for r in rows])
        self.assertIn('CUSTOM_MIG_2G_20GB', self.api.traits)
        puts = [s for s in self.api.seen if s[0] == 'PUT']
        self.assertEqual([('PUT', '/traits/CUSTOM_MIG_2G_20GB', '1.6')],
                         puts)

    def test_check_traits_names_missing_and_known(self):
        self.api.traits |= {'CUSTOM_GPU_A100'}
        gpu_traits.check_traits(self.client, self.scheme, ['CUSTOM_GPU_A100'])
        e = self.assertRaises(exception.UnknownTraits, gpu_traits.check_traits,
                              self.client, self.scheme, ['CUSTOM_GPU_H100'])
        self.assertIn('no trait CUSTOM_GPU_H100', str(e))
        self.assertIn('Known GPU traits: CUSTOM_GPU_A100', str(e))
