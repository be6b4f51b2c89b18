# SPDX-License-Identifier: Apache-2.0

"""Valid MIG geometries, against NVIDIA's A100, H100 and A30 tables."""

from nova_mig.rebalance import geometry
from tests import base
from tests.unit.rebalance import fakes


def _multisets(found):
    return [geometry.counts(slots) for slots in found]


class CompletionsTestCase(base.TestCase):

    def test_a30_has_exactly_the_four_guide_geometries(self):
        found = _multisets(geometry.completions(fakes.table(fakes.A30)))
        self.assertCountEqual(
            [{'1g.6gb': 4}, {'1g.6gb': 2, '2g.12gb': 1}, {'2g.12gb': 2},
             {'4g.24gb': 1}], found)

    def test_a100_geometries_are_valid_maximal_and_distinct(self):
        table = fakes.table(fakes.A100_80)
        found = geometry.completions(table)
        multisets = _multisets(found)
        self.assertEqual(len(multisets),
                         len({tuple(sorted(m.items())) for m in multisets}))
        for slots in found:
            self.assertTrue(geometry.is_valid(table, slots), slots)
            for profile in table.profiles:
                if geometry.is_variant(profile.name):
                    continue
                for pl in profile.placements:
                    extra = geometry.Slot(pl.start, pl.size, profile.name)
                    self.assertFalse(
                        geometry.is_valid(table, slots + (extra,)),
                        'not maximal: %s + %s' % (slots, extra))
        for wanted in ({'7g.80gb': 1}, {'3g.40gb': 2},
                       {'4g.40gb': 1, '3g.40gb': 1}, {'1g.10gb': 7},
                       {'2g.20gb': 3, '1g.10gb': 1}, {'1g.20gb': 4}):
            self.assertIn(wanted, multisets)
        self.assertFalse(any(geometry.is_variant(p) for m in multisets
                             for p in m))

    def test_h100_offers_the_a100_80gb_geometries(self):
        a100 = _multisets(geometry.completions(fakes.table(fakes.A100_80)))
        h100 = _multisets(geometry.completions(fakes.table(fakes.H100_80)))
        self.assertCountEqual(a100, h100)

    def test_fixed_instances_keep_their_slices(self):
        table = fakes.table(fakes.A100_80)
        fixed = (geometry.Slot(0, 4, '3g.40gb'),)
        found = geometry.completions(table, fixed)
        self.assertIn({'3g.40gb': 1}, _multisets(found))
        for slots in found:
            self.assertTrue(all(s.start >= 4 for s in slots), slots)
            self.assertTrue(geometry.is_valid(table, fixed + slots))
            self.assertNotIn('4g.40gb', geometry.counts(slots))

    def test_one_media_extension_profile_at_most(self):
        table = fakes.table(fakes.A100_80)
        found = geometry.completions(table,
                                     allowed={'1g.10gb', '1g.10gb+me'})
        self.assertIn({'1g.10gb': 6, '1g.10gb+me': 1}, _multisets(found))
        self.assertTrue(all(geometry.counts(s).get('1g.10gb+me', 0) <= 1
                            for s in found))

    def test_is_valid_refuses_what_the_card_refuses(self):
        table = fakes.table(fakes.A100_80)
        slot = geometry.Slot
        self.assertFalse(geometry.is_valid(
            table, [slot(0, 4, '3g.40gb'), slot(2, 2, '2g.20gb')]))
        self.assertFalse(geometry.is_valid(table, [slot(1, 4, '3g.40gb')]))
        self.assertFalse(geometry.is_valid(table, [slot(0, 1, '9g.1gb')]))
        self.assertFalse(geometry.is_valid(
            table, [slot(i, 2, '1g.20gb') for i in (0, 2, 4, 6)] +
            [slot(7, 1, '1g.10gb')]))

    def test_arrangement_prefers_existing_instances(self):
        table = fakes.table(fakes.A100_80)
        prefer = (geometry.Slot(4, 2, '2g.20gb'),)
        slots = geometry.arrangement(table, (), {'2g.20gb': 1,
                                                 '4g.40gb': 1,
                                                 '1g.10gb': 1}, prefer)
        self.assertIn(prefer[0], slots)
        self.assertRaises(ValueError, geometry.arrangement, table, (),
                          {'7g.80gb': 2})
