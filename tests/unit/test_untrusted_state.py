# SPDX-License-Identifier: Apache-2.0

"""Every state file reader: a FIFO, a device or a link is never read."""

import os

from nova_mig import exception
from nova_mig.layout import checkpoint
from nova_mig import ownership
from nova_mig.placement import ledger
from nova_mig.reaper import queue
from nova_mig.reaper import reap_journal
from nova_mig.workflows import retype
from tests import base

FIFO = 'a FIFO, not a regular file; nova-mig reads only regular files'
LINK = ('a symbolic link; nova-mig reads its own files only when they are '
        'regular files')


class StateReadersTestCase(base.TestCase):

    def readers(self):
        """(file name, read the state dir, the error it raises)."""
        return [
            (ownership.FILE_NAME, ownership.OwnershipRecord,
             exception.StateFileError),
            (checkpoint.FILE_NAME, checkpoint.load,
             exception.CheckpointError),
            (reap_journal.FILE_NAME,
             lambda d: reap_journal.Journal(d).pending(),
             exception.ReaperJournalError),
            (queue.FILE_NAME, lambda d: queue.Queue(d).peek(),
             exception.ReaperQueueError),
            (retype.STATE_FILE, retype.load_state,
             exception.RetypeStateError),
        ]

    def test_fifo_and_link_refused_in_one_line(self):
        for name, read, error in self.readers():
            path = os.path.join(self.tmpdir, name)
            for make, reason in ((os.mkfifo, FIFO),
                                 (lambda p: os.symlink('/dev/zero', p),
                                  LINK)):
                with self.subTest(name=name, reason=reason):
                    make(path)
                    try:
                        e = self.assertRaises(error, read, self.tmpdir)
                    finally:
                        os.unlink(path)
                    self.assertIn(path, str(e))
                    self.assertIn(reason, str(e))
                    self.assertNotIn('\n', str(e))

    def test_too_large_refused(self):
        for name, read, error in self.readers():
            path = os.path.join(self.tmpdir, name)
            with open(path, 'wb') as f:
                f.truncate(16 * 1024 * 1024 + 1)
            with self.subTest(name=name):
                try:
                    e = self.assertRaises(error, read, self.tmpdir)
                finally:
                    os.unlink(path)
                self.assertIn('larger than 16777216 bytes', str(e))

    def test_huge_integer_in_the_ownership_record(self):
        path = os.path.join(self.tmpdir, ownership.FILE_NAME)
        with open(path, 'w') as f:
            f.write('{"version": %s, "devices": {}}' % ('1' * 5000))
        e = self.assertRaises(exception.StateFileError,
                              ownership.OwnershipRecord, self.tmpdir)
        self.assertIn('an integer of 5000 digits; at most 20 are accepted',
                      str(e))

    def test_sync_state_fifo_is_moved_aside(self):
        path = os.path.join(self.tmpdir, 'placement-sync.json')
        os.mkfifo(path)
        with self.assertLogs('nova_mig.placement.ledger', 'WARNING') as logs:
            loaded = ledger.SyncState.load(path)
        self.assertEqual(set(), loaded.created_traits)
        self.assertFalse(os.path.lexists(path))
        self.assertTrue(os.path.exists(path + '.bad'))
        self.assertIn(FIFO, logs.output[0])
