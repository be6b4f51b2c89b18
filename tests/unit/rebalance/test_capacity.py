# SPDX-License-Identifier: Apache-2.0

"""The capacity read in bulk (GET /allocation_candidates per class)."""

import logging

import fixtures

from nova_mig import exception
from nova_mig.flavor import slice_capacity
from nova_mig.placement import bulk
from nova_mig.rebalance import unmet_capacity
from tests.unit.flavor import base as flavor_base
from tests.unit.flavor import fakes

RC = flavor_base.RC
RC3 = 'CUSTOM_MIG_3G_40GB'
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'


def _key(row: slice_capacity.Slices) -> tuple:
    return (row.host, row.provider, row.uuid, row.profile,
            row.resource_class, row.capacity, row.used, tuple(row.traits))


class ReadSlicesTestCase(flavor_base.PlacementTestCase):

    def fleet(self) -> dict[str, str]:
        cn1 = self.api.add('cn1', inventory={'VCPU': {'total': 8}})
        cn2 = self.api.add('cn2', inventory={'VCPU': {'total': 8}},
                           usages={'VCPU': 8})
        return {
            'cn1': cn1, 'cn2': cn2,
            'gpu0': self.api.add(
                'cn1_gpu0', parent=cn1, traits={MODEL},
                inventory={RC: {'total': 4, 'reserved': 1}},
                usages={RC: 2}),
            'gpu1': self.api.add(
                'cn1_gpu1', parent=cn1,
                inventory={RC3: {'total': 2, 'allocation_ratio': 2.0}},
                usages={RC3: 4}),
            'vgpu': self.api.add(
                'cn1_vgpu', parent=cn1, traits={RC3, MODEL},
                inventory={'VGPU': {'total': 3}}, usages={'VGPU': 3}),
            # cn2: nothing free at all, read one by one.
            'gpu2': self.api.add(
                'cn2_gpu0', parent=cn2, traits={MODEL},
                inventory={RC3: {'total': 1}}, usages={RC3: 1}),
        }

    def test_rows_equal_the_per_provider_read(self):
        self.fleet()
        self.api.add('cpu', inventory={'VCPU': {'total': 8}})
        fast = unmet_capacity.read_slices(self.client, self.scheme)
        slow = slice_capacity.provider_slices(self.client, self.scheme,
                                              traits=True)
        self.assertEqual([_key(r) for r in slow], [_key(r) for r in fast])
        self.assertEqual(
            [('cn1', 'cn1_gpu0', '1g.10gb', 3, 2),
             ('cn1', 'cn1_gpu1', '3g.40gb', 4, 4),
             ('cn1', 'cn1_vgpu', '3g.40gb', 3, 3),
             ('cn2', 'cn2_gpu0', '3g.40gb', 1, 1)],
            [(r.host, r.provider, r.profile, r.capacity, r.used)
             for r in fast])

    def test_requests_per_class_then_root_classes_then_one_by_one(self):
        rps = self.fleet()
        unmet_capacity.read_slices(self.client, self.scheme)
        ac = '/allocation_candidates?resources=%s%%3A1'
        self.assertEqual(
            [('GET', '/resource_classes', '1.2'), ('GET', '/', '1.0'),
             ('GET', '/resource_providers', '1.14')] +
            [('GET', ac % rc, '1.29')
             for rc in (RC, RC3, 'VGPU') + bulk.ROOT_CLASSES] +
            [('GET', '/resource_providers/%s/inventories' % rps['cn2'],
              '1.23'),
             ('GET', '/resource_providers/%s/inventories' % rps['gpu2'],
              '1.23'),
             ('GET', '/resource_providers/%s/usages' % rps['gpu2'], '1.9'),
             ('GET', '/resource_providers/%s/traits' % rps['gpu2'],
              '1.23')],
            self.api.seen)

    def test_root_classes_only_while_a_tree_is_missing(self):
        cn = self.api.add('cn', inventory={'VCPU': {'total': 8}})
        gpu = self.api.add('gpu', parent=cn, inventory={RC: {'total': 1}},
                           usages={RC: 1})
        reading = bulk.read(self.client, {RC})
        # RC has nothing free, no provider has MEMORY_MB, VCPU covers the
        # tree: PCPU and DISK_GB are not asked, nothing read one by one.
        self.assertEqual(
            ['resources=%s%%3A1' % rc for rc in (RC, 'MEMORY_MB', 'VCPU')],
            [p.split('?')[1] for _, p, _ in self.api.seen
             if p.startswith('/allocation_candidates')])
        self.assertEqual((3, 0, 5), (reading.bulk_requests,
                                     reading.trees_one_by_one,
                                     reading.requests))
        self.assertEqual({RC: (1, 1)}, reading.providers[gpu].resources)
        self.assertEqual({'VCPU': (8, 0)}, reading.providers[cn].resources)

    def test_placement_before_1_29_is_read_provider_by_provider(self):
        self.fleet()
        self.api.max_version = '1.28'
        logs = self.useFixture(fixtures.FakeLogger(
            name=bulk.__name__, level=logging.INFO))
        rows = unmet_capacity.read_slices(self.client, self.scheme)
        self.assertEqual(4, len(rows))
        self.assertFalse([p for _, p, _ in self.api.seen
                          if p.startswith('/allocation_candidates')])
        self.assertEqual(
            'Placement at fake serves microversion 1.28, older than 1.29: '
            'reading it provider by provider.\n', logs.output)

    def test_answer_without_summaries_is_one_line(self):
        self.fleet()
        self.api.candidates = lambda resources: fakes.response(
            200, {'allocation_requests': [], 'provider_summaries': {
                'x': {'resources': {RC: {'capacity': '1', 'used': 0}}}}})
        e = self.assertRaises(exception.PlacementError,
                              unmet_capacity.read_slices, self.client,
                              self.scheme)
        self.assertIn('GET /allocation_candidates failed with HTTP 200: the '
                      'answer\'s "provider_summaries" is not a mapping',
                      str(e))

    def test_class_placement_does_not_know_is_skipped(self):
        self.fleet()
        reading = bulk.read(self.client, {RC, 'CUSTOM_GONE'})
        self.assertIn(('GET', '/allocation_candidates?resources='
                       'CUSTOM_GONE%3A1', '1.29'), self.api.seen)
        self.assertEqual(['cn1_gpu0'], [p.name for p in
                                        reading.providers.values()
                                        if RC in p.resources])
