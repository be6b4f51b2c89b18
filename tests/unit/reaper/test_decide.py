# SPDX-License-Identifier: Apache-2.0

"""Tests of the pure keep/remove decision."""

import dataclasses

from nova_mig.model import constants
from nova_mig.reaper import decide
from tests import base

ORPHAN = decide.DeviceFacts(
    key='u1', kind=constants.MODE_MDEV, parent='0000:41:00.4',
    type_id='nvidia-1', type_name='NVIDIA A100D-1-10C', iommu_group=31,
    domains=(), holders=(), inflight_consumers=(), age=3600.0,
    age_source='ownership record', type_enabled=False, owned=True)
POLICY = decide.Policy(grace_period=600)


def facts(**kw) -> decide.DeviceFacts:
    return dataclasses.replace(ORPHAN, **kw)


class TestDecide(base.TestCase):

    def test_orphan_is_removed_with_every_reason(self):
        d = decide.decide_one(ORPHAN, POLICY)
        self.assertTrue(d.remove)
        self.assertEqual(len(decide.CHECKS), len(d.reasons))
        self.assertIn('no libvirt domain references it', d.reasons)
        self.assertIn('created by nova-mig', d.reasons)

    def assertKeeps(self, expected_reason, policy=POLICY, **kw):
        d = decide.decide_one(facts(**kw), policy)
        self.assertEqual(decide.KEEP, d.decision)
        self.assertTrue(any(expected_reason in r for r in d.reasons),
                        d.reasons)
        return d

    def test_any_domain_keeps_it(self):
        d = self.assertKeeps('used by domain instance-1 (shutoff)',
                             domains=('instance-1 (shutoff)',))
        # Only failed checks are listed for a kept device.
        self.assertEqual(1, len(d.reasons))

    def test_open_handle_keeps_it(self):
        self.assertKeeps('held open by pid 42, 43', holders=(42, 43))

    def test_unknown_handles_keep_it_unless_skipped(self):
        self.assertKeeps('open handles unknown: cannot read; nothing can be '
                         'proved free (--skip-handle-check overrides)',
                         holders=None, holders_note='cannot read')
        skip = dataclasses.replace(POLICY, skip_handle_check=True)
        d = decide.decide_one(facts(holders=None, holders_note='hidepid'),
                              skip)
        self.assertTrue(d.remove)
        self.assertIn('open handles not checked (--skip-handle-check): '
                      'hidepid', d.reasons)
        # The flag never lets a holder that is seen go.
        self.assertKeeps('held open by pid 7', skip, holders=(7,))

    def test_inflight_allocation_keeps_it(self):
        self.assertKeeps('being built or migrated: c-1',
                         inflight_consumers=('c-1',))

    def test_unknown_allocations_keep_it_unless_skipped(self):
        self.assertKeeps('--skip-placement-check', inflight_consumers=None,
                         placement_note='Placement not configured')
        d = decide.decide_one(
            facts(inflight_consumers=None, placement_note='skipped'),
            dataclasses.replace(POLICY, skip_placement_check=True))
        self.assertTrue(d.remove)
        self.assertIn('skipped', d.reasons)

    def test_young_device_kept(self):
        self.assertKeeps('younger than the grace period (599s < 600s)',
                         age=599.9)
        self.assertTrue(decide.decide_one(facts(age=600), POLICY).remove)

    def test_unknown_age_kept(self):
        self.assertKeeps('age unknown', age=None)

    def test_enabled_type_kept_unless_all_unassigned(self):
        self.assertKeeps('type nvidia-1 still enabled', type_enabled=True)
        policy = dataclasses.replace(POLICY, all_unassigned=True)
        self.assertTrue(decide.decide_one(facts(type_enabled=True),
                                          policy).remove)

    def test_unknown_types_kept(self):
        self.assertKeeps('enabled types unknown', type_enabled=None)

    def test_foreign_kept_unless_included(self):
        self.assertKeeps('not created by nova-mig', owned=False)
        policy = dataclasses.replace(POLICY, include_foreign=True)
        d = decide.decide_one(facts(owned=False), policy)
        self.assertTrue(d.remove)
        self.assertIn('foreign device (--include-foreign)', d.reasons)

    def test_flags_never_override_use(self):
        policy = decide.Policy(grace_period=0, all_unassigned=True,
                               include_foreign=True,
                               skip_placement_check=True)
        for kw in ({'domains': ('x (running)',)}, {'holders': (1,)},
                   {'holders': None}, {'inflight_consumers': ('c',)}):
            self.assertFalse(decide.decide_one(facts(**kw), policy).remove,
                             kw)

    def test_all_failures_listed_and_sorted(self):
        rows = decide.decide([facts(key='b', parent='p2'),
                              facts(key='a', parent='p2'),
                              facts(key='z', parent='p1', owned=False,
                                    age=1)], POLICY)
        self.assertEqual(['z', 'a', 'b'], [d.facts.key for d in rows])
        self.assertEqual(2, len(rows[0].reasons))
        row = rows[1].as_row()
        self.assertEqual('nvidia-1 (NVIDIA A100D-1-10C)', row['type'])
        self.assertEqual('remove', row['decision'])
