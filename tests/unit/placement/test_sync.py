# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the Placement sync: union, ownership, retries, no-op."""

import json
import os

from nova_mig import exception
from nova_mig.novaconf import type_plan
from nova_mig.placement import ledger
from nova_mig.placement import sync
from tests import base
from tests.unit.placement import fakes

HOST = 'cn1'
MODE = 'CUSTOM_VGPU_MODE_MDEV'
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'
P1G = 'CUSTOM_MIG_1G_10GB'
P3G = 'CUSTOM_MIG_3G_40GB'


def assigned(*specs) -> list[type_plan.Assignment]:
    """(address, class, profile trait) -> VFs of the plan of cn1."""
    return [type_plan.Assignment(
        address=address, gpu='0000:41:00.0', type_id='nvidia-1',
        type_name='A100D-1-10C', profile=None, resource_class=rc,
        traits=(MODE, MODEL, profile), is_vf=True, product_id='20b5')
        for address, rc, profile in specs]


class SyncTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.fake = fakes.FakePlacement()
        self.root = self.fake.add(HOST, inventory={'VCPU': 8})
        self.vf4 = self.fake.add('cn1_pci_0000_41_00_4', parent=self.root,
                                 inventory={P1G: 1})
        self.vf5 = self.fake.add('cn1_pci_0000_41_00_5', parent=self.root,
                                 inventory={P3G: 1})
        self.assigned = assigned(('0000:41:00.4', P1G, P1G),
                                 ('0000:41:00.5', P3G, P3G))
        self.hostname = HOST
        self.sleeps = []

    def run_sync(self, dry_run=False) -> sync.SyncResult:
        config = type_plan.NovaConfig(hostname=self.hostname,
                                      device_mode='mdev',
                                      assignments=self.assigned,
                                      max_instances={})
        return sync.sync(self.conf, config, self.fake, dry_run=dry_run,
                         sleep=self.sleeps.append)

    def traits(self, uuid):
        return self.fake.rps[uuid]['traits']

    def state(self) -> dict:
        with open(os.path.join(self.tmpdir, 'placement-sync.json')) as f:
            return json.load(f)

    def test_first_sync_creates_classes_traits_and_sets_them(self):
        result = self.run_sync()
        self.assertEqual([P1G, P3G], result.classes_created)
        self.assertEqual(sorted([MODE, MODEL, P1G, P3G]),
                         result.traits_created)
        self.assertEqual({MODE, MODEL, P1G}, self.traits(self.vf4))
        self.assertEqual({MODE, MODEL, P3G}, self.traits(self.vf5))
        self.assertEqual({'changed'}, {p.status for p in result.providers})
        self.assertEqual(sorted([MODE, MODEL, P1G, P3G]),
                         self.state()['created_traits'])

    def test_foreign_traits_are_kept_and_not_owned(self):
        self.fake.bump(self.vf4, add='CUSTOM_RACK_7')
        self.fake.traits.add(MODEL)
        self.fake.rps[self.vf4]['traits'].add(MODEL)
        result = self.run_sync()
        self.assertEqual({MODE, MODEL, P1G, 'CUSTOM_RACK_7'},
                         self.traits(self.vf4))
        change = [p for p in result.providers if p.uuid == self.vf4][0]
        self.assertEqual(['CUSTOM_RACK_7'], change.kept)
        self.assertEqual(sorted([MODE, P1G]), change.added)
        # MODEL was there before nova-mig: not nova-mig's to remove later.
        self.assertEqual(sorted([MODE, P1G]),
                         self.state()['providers'][self.vf4]['owned'])

    def test_only_owned_traits_that_no_longer_apply_are_removed(self):
        self.fake.rps[self.vf4]['traits'].add(MODEL)
        self.run_sync()
        self.fake.bump(self.vf4, add='CUSTOM_RACK_7')
        # The VF now carries a 3g.40gb type.
        self.assigned = assigned(('0000:41:00.4', P3G, P3G),
                                 ('0000:41:00.5', P3G, P3G))
        result = self.run_sync()
        self.assertEqual({MODE, MODEL, P3G, 'CUSTOM_RACK_7'},
                         self.traits(self.vf4))
        change = [p for p in result.providers if p.uuid == self.vf4][0]
        self.assertEqual([P1G], change.removed)
        self.assertEqual([P3G], change.added)

    def test_unconfigured_provider_loses_only_owned_traits(self):
        self.fake.rps[self.vf5]['traits'].add(MODEL)
        self.fake.traits.add(MODEL)
        self.run_sync()
        self.assigned = assigned(('0000:41:00.4', P1G, P1G))
        self.run_sync()
        self.assertEqual({MODEL}, self.traits(self.vf5))
        # Traits and classes are never deleted.
        self.assertIn(P3G, self.fake.traits)
        self.assertIn(P3G, self.fake.classes)

    def test_noop_resync_two_requests_no_write(self):
        self.run_sync()
        before, writes = self.fake.requests, self.fake.writes
        result = self.run_sync()
        self.assertEqual(2, self.fake.requests - before)
        self.assertEqual(writes, self.fake.writes)
        self.assertEqual(2, result.requests)
        self.assertEqual(0, result.writes)
        self.assertEqual({'unchanged'}, {p.status for p in result.providers})

    def test_generation_moved_rechecks_in_one_grouped_listing(self):
        self.assigned = assigned(('0000:41:00.4', P1G, P1G),
                                 ('0000:41:00.5', P1G, P1G))
        self.run_sync()
        # nova-compute allocations bump generations, traits unchanged.
        self.fake.bump(self.vf4)
        self.fake.bump(self.vf5)
        before = self.fake.requests
        result = self.run_sync()
        self.assertEqual(0, result.writes)
        self.assertLessEqual(self.fake.requests - before, 4)
        required = [e for e in self.fake.log[-3:] if e[1] == 'providers'
                    and e[4]]
        self.assertEqual(1, len(required))
        # The cache is refreshed: the next run is back to two requests.
        self.assertEqual(2, self.run_sync().requests)

    def test_conflict_twice_then_success(self):
        self.fake.conflicts[self.vf4] = 2
        result = self.run_sync()
        self.assertEqual({MODE, MODEL, P1G}, self.traits(self.vf4))
        self.assertEqual(2, result.conflicts)
        change = [p for p in result.providers if p.uuid == self.vf4][0]
        self.assertEqual(3, change.attempts)
        self.assertEqual([0.1, 0.2], self.sleeps)
        # Every retry read the traits and generation again.
        reads = [e for e in self.fake.log
                 if e[:3] == ('GET', 'traits', self.vf4)]
        self.assertEqual(3, len(reads))

    def test_backoff_is_capped(self):
        self.flags(max_attempts=6, retry_delay=0.5, max_retry_delay=1.5,
                   group='placement_sync')
        self.fake.conflicts[self.vf4] = 5
        self.run_sync()
        self.assertEqual([0.5, 1.0, 1.5, 1.5, 1.5], self.sleeps)

    def test_always_conflicting_gives_up_with_message(self):
        self.flags(max_attempts=4, group='placement_sync')
        self.fake.conflicts[self.vf4] = 100
        e = self.assertRaises(exception.PlacementConflictRetriesExhausted,
                              self.run_sync)
        self.assertIn('cn1_pci_0000_41_00_4', str(e))
        self.assertIn('4 attempts', str(e))
        self.assertIn('[placement_sync]max_attempts', str(e))
        self.assertEqual(3, len(self.sleeps))
        # What was done before the failure is recorded.
        self.assertIn('created_traits', self.state())

    def test_dry_run_writes_nothing(self):
        result = self.run_sync(dry_run=True)
        self.assertEqual(0, self.fake.writes)
        self.assertEqual({'would change'},
                         {p.status for p in result.providers})
        self.assertEqual([P1G, P3G], result.classes_created)
        self.assertFalse(os.path.exists(
            os.path.join(self.tmpdir, 'placement-sync.json')))

    def test_missing_provider_reported(self):
        self.assigned += assigned(('0000:41:00.6', P1G, P1G))
        result = self.run_sync()
        self.assertEqual(['cn1_pci_0000_41_00_6'], result.missing)

    def test_no_compute_node(self):
        self.hostname = 'other'
        e = self.assertRaises(exception.PlacementProviderNotFound,
                              self.run_sync)
        self.assertIn("'other'", str(e))

    def test_root_recreated_is_found_again(self):
        self.run_sync()
        state = ledger.SyncState.load(
            os.path.join(self.tmpdir, 'placement-sync.json'))
        self.assertEqual(self.root, state.root['uuid'])
        del self.fake.rps[self.root]
        for uuid in (self.vf4, self.vf5):
            del self.fake.rps[uuid]
        self.root = self.fake.add(HOST)
        self.vf4 = self.fake.add('cn1_pci_0000_41_00_4', parent=self.root)
        result = self.run_sync()
        self.assertEqual(self.root, result.root_uuid)
        self.assertEqual({MODE, MODEL, P1G}, self.traits(self.vf4))
        self.assertNotIn(self.vf5, self.state()['providers'])
