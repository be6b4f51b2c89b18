# SPDX-License-Identifier: Apache-2.0

"""Tests of the per-GPU drain's journal."""

import json
import os

from nova_mig import exception
from nova_mig.workflows import drain_journal
from tests import base

LAYOUT = {'version': 1, 'gpus': [
    {'select': {'pci_address': '0000:81:00.0'}, 'mig': 'enabled',
     'gpu_instances': [{'profile': '7g.80gb', 'placement': 0}]}]}


class TestDrainJournal(base.TestCase):

    def test_none_without_a_journal(self):
        self.assertIsNone(drain_journal.load(self.tmpdir))

    def test_saved_entry_reads_back(self):
        entry = drain_journal.Entry(phase=drain_journal.DRAIN,
                                    gpus=('0000:81:00.0',), layout=LAYOUT)
        drain_journal.save(self.tmpdir, entry)
        self.assertEqual(0o600, os.stat(drain_journal.path(
            self.tmpdir)).st_mode & 0o777)
        self.assertEqual(entry, drain_journal.load(self.tmpdir))
        later = drain_journal.save(self.tmpdir, drain_journal.Entry(
            phase=drain_journal.RESTORE, gpus=entry.gpus, layout=LAYOUT,
            applied=False, started=entry.started))
        self.assertEqual(later, drain_journal.load(self.tmpdir))
        drain_journal.clear(self.tmpdir)
        self.assertIsNone(drain_journal.load(self.tmpdir))

    def test_temporary_file_of_a_killed_write_removed(self):
        stale = os.path.join(self.tmpdir, '.drain-journal.json.x1y2.tmp')
        open(stale, 'w').close()
        other = os.path.join(self.tmpdir, '.owned-devices.json.x1y2.tmp')
        open(other, 'w').close()
        self.assertIsNone(drain_journal.load(self.tmpdir))
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(other))

    def test_damaged_journal_is_one_line_naming_the_file(self):
        path = drain_journal.path(self.tmpdir)
        for content, reason in (
                ('{', 'not JSON'),
                ('[]', 'unknown format or version'),
                (json.dumps({'version': 1, 'phase': 'later', 'gpus': [],
                             'layout': {}}), 'not a drain journal'),
                (json.dumps({'version': 1, 'phase': 'apply',
                             'gpus': [3], 'layout': {}}),
                 'not a drain journal')):
            with open(path, 'w') as f:
                f.write(content)
            e = self.assertRaises(exception.DrainJournalError,
                                  drain_journal.load, self.tmpdir)
            self.assertIn('Drain journal %s: %s' % (path, reason), str(e))
            self.assertIn('then delete the file', str(e))
            self.assertNotIn('\n', str(e))

    def test_unwritable_state_dir(self):
        blocker = os.path.join(self.tmpdir, 'file')
        open(blocker, 'w').close()
        e = self.assertRaises(
            exception.DrainJournalError, drain_journal.save, blocker,
            drain_journal.Entry(phase=drain_journal.DRAIN, gpus=(),
                                layout=LAYOUT))
        self.assertIn(drain_journal.path(blocker), str(e))
