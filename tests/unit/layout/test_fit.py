# SPDX-License-Identifier: Apache-2.0

"""Tests of the MIG placement search."""

from nova_mig.layout import fit
from nova_mig.model import gpu_records
from tests import base as test_base
from tests.unit.layout import fakes


def wanted(card, *names, **starts):
    return [fit.Wanted(card.profile_by_name(n), starts.get(str(i)))
            for i, n in enumerate(names)]


class TestFit(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.card = fakes.gpu()

    def starts(self, placements):
        return [(p.start, p.size) for p in placements]

    def test_larger_profiles_first_whatever_the_file_order(self):
        # The 3g takes 4:4 and the 2g 0:2 before the 1g are placed.
        result = fit.fit(self.card, wanted(
            self.card, '1g.10gb', '1g.10gb', '2g.20gb', '3g.40gb'))
        self.assertEqual([(2, 1), (3, 1), (0, 2), (4, 4)],
                         self.starts(result))

    def test_keeps_existing_instances(self):
        existing = (fakes.gi(self.card, 1, '1g.10gb', 6),
                    fakes.gi(self.card, 2, '3g.40gb', 0))
        result = fit.fit(self.card, wanted(self.card, '3g.40gb', '1g.10gb'),
                         existing)
        self.assertEqual([(0, 4), (6, 1)], self.starts(result))

    def test_seven_small_instances(self):
        result = fit.fit(self.card, wanted(self.card, *['1g.10gb'] * 7))
        self.assertEqual(list(range(7)), [p.start for p in result])

    def test_explicit_placement_respected(self):
        result = fit.fit(self.card, wanted(self.card, '1g.20gb', '3g.40gb',
                                           **{'1': 4}))
        self.assertEqual([(0, 2), (4, 4)], self.starts(result))

    def test_explicit_placement_forces_a_search(self):
        # 1g.20gb pinned at 2:2 leaves room for one 3g.40gb only.
        error = self.assertRaises(fit.NoFit, fit.fit, self.card, wanted(
            self.card, '3g.40gb', '3g.40gb', '1g.20gb', **{'2': 2}))
        self.assertEqual('3g.40gb', error.profile)
        self.assertIn('its placements: 0:4, 4:4', error.reason)

    def test_media_extension_limit(self):
        a30 = fakes.gpu('A30-24GB')
        error = self.assertRaises(fit.NoFit, fit.fit, a30, wanted(
            a30, '1g.6gb+me', '2g.12gb+me'))
        self.assertIn('at most one "+me" GPU instance per GPU, the layout '
                      'asks for 2 (1g.6gb+me, 2g.12gb+me)', error.reason)

    def test_compute_slice_budget(self):
        error = self.assertRaises(fit.NoFit, fit.fit, self.card, wanted(
            self.card, '4g.40gb', '3g.40gb', '1g.10gb'))
        self.assertEqual('needs 8 compute slices, the card has 7',
                         error.reason)

    def test_placements_come_from_the_gpu(self):
        # A card reporting other placements is searched with them.
        profile = gpu_records.GpuInstanceProfile(
            id=99, name='2g.x', slice_count=2, memory_mb=1,
            instance_count=2, multiprocessor_count=1,
            placements=(gpu_records.Placement(1, 2), gpu_records.Placement(5,
                                                                           2)))
        whole = gpu_records.GpuInstanceProfile(
            id=98, name='4g.x', slice_count=4, memory_mb=1,
            instance_count=1, multiprocessor_count=1,
            placements=(gpu_records.Placement(0, 8),))
        card = gpu_records.Gpu(0, '0000:41:00.0', 'GPU-x', 'X', 0, 0, (9, 0),
                               1, 1, profiles=(profile, whole))
        result = fit.fit(card, [fit.Wanted(profile)] * 2)
        self.assertEqual([(1, 2), (5, 2)], self.starts(result))
