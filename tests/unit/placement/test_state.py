# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the Placement sync state file."""

import json
import os

from nova_mig.placement import ledger
from tests import base


class StateTestCase(base.TestCase):

    def path(self):
        return os.path.join(self.tmpdir, 'sub', 'placement-sync.json')

    def test_round_trip(self):
        state = ledger.SyncState(self.path())
        state.created_traits.add('CUSTOM_A')
        state.root = {'name': 'cn1', 'uuid': 'u'}
        state.record('p1', 'cn1_pci_x', 3, frozenset({'CUSTOM_A'}),
                     {'CUSTOM_A'}, {'CUSTOM_A', 'CUSTOM_B'})
        state.save()
        loaded = ledger.SyncState.load(self.path())
        self.assertEqual({'CUSTOM_A'}, loaded.created_traits)
        self.assertEqual({'CUSTOM_A'}, loaded.owned('p1'))
        self.assertTrue(loaded.unchanged('p1', 3, frozenset({'CUSTOM_A'})))
        self.assertFalse(loaded.unchanged('p1', 4, frozenset({'CUSTOM_A'})))
        self.assertFalse(loaded.unchanged('p1', 3, frozenset()))
        self.assertEqual(['placement-sync.json'],
                         os.listdir(os.path.dirname(self.path())))

    def test_missing_corrupt_and_foreign_versions_start_empty(self):
        self.assertIsNone(ledger.SyncState.load(self.path()).root)
        os.makedirs(os.path.dirname(self.path()))
        for content in ('{not json', json.dumps({'version': 99,
                                                 'root': {'x': 1}})):
            with open(self.path(), 'w') as f:
                f.write(content)
            state = ledger.SyncState.load(self.path())
            self.assertIsNone(state.root)
            self.assertEqual({}, state.providers)

    def test_path_from_options(self):
        self.flags(state_file='ps.json', group='placement_sync')
        self.assertEqual(os.path.join(self.tmpdir, 'ps.json'),
                         ledger.SyncState.path_for(self.conf))
