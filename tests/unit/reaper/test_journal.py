# SPDX-License-Identifier: Apache-2.0

"""Tests of the reaper journal."""

import os

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig.reaper import reap_journal
from tests import base


class TestJournal(base.TestCase):

    def setUp(self):
        super().setUp()
        self.journal = reap_journal.Journal(self.tmpdir)

    def intent(self, device):
        return self.journal.intent(device, 'mdev', '0000:41:00.4',
                                   'nvidia-1', ['why'])

    def test_intent_then_done_is_not_pending(self):
        op = self.intent('u1')
        self.assertEqual([op], [e['id'] for e in self.journal.pending()])
        self.journal.done(op, 'u1', ['sysfs remove'])
        self.assertEqual([], self.journal.pending())
        events = [e['event'] for e in self.journal.entries()]
        self.assertEqual(['intent', 'done'], events)

    def test_failed_and_abandoned_close_intents(self):
        one, two, three = self.intent('u1'), self.intent('u2'), \
            self.intent('u3')
        self.journal.failed(one, 'u1', 'EIO', [])
        self.journal.abandoned(two, 'u2', 'in use now')
        self.assertEqual(['u3'],
                         [e['device'] for e in self.journal.pending()])
        self.assertEqual(three, self.journal.pending()[0]['id'])

    def test_resumed_intent_keeps_its_id(self):
        op = self.intent('u1')
        again = self.journal.intent('u1', 'mdev', 'p', 't', [], op_id=op)
        self.assertEqual(op, again)
        self.assertEqual(1, len(self.journal.pending()))

    def test_torn_last_line_ignored(self):
        op = self.intent('u1')
        with open(self.journal.path, 'a') as f:
            f.write('{"id": "x", "event": "do')
        self.assertEqual([op], [e['id'] for e in self.journal.pending()])

    def test_unwritable(self):
        os.makedirs(os.path.join(self.tmpdir, 'ro'))
        blocker = os.path.join(self.tmpdir, 'ro', reap_journal.FILE_NAME)
        os.makedirs(blocker)
        j = reap_journal.Journal(os.path.join(self.tmpdir, 'ro'))
        e = self.assertRaises(exception.ReaperJournalError,
                              j.intent, 'u', 'mdev', 'p', 't', [])
        self.assertIn('cannot write', str(e))

    def fill(self, closed, open_devices=()):
        """``closed`` intents closed by done, then ``open_devices``."""
        for n in range(closed):
            op = self.intent('c%d' % n)
            self.journal.done(op, 'c%d' % n, ['sysfs remove'])
        return [self.intent(d) for d in open_devices]

    def test_small_journal_left_alone(self):
        self.fill(3, ['u1'])
        with open(self.journal.path) as f:
            before = f.read()
        self.assertFalse(self.journal.compact())
        with open(self.journal.path) as f:
            self.assertEqual(before, f.read())
        self.assertFalse(os.path.exists(self.journal.path + '.1'))

    def test_compact_keeps_open_intents_and_the_old_generation(self):
        open_ids = self.fill(40, ['u1', 'u2'])
        with open(self.journal.path) as f:
            before = f.read()
        limit = len(before) // 2
        self.assertTrue(self.journal.compact(limit=limit))
        # The open intents, with their ids, are still pending ...
        self.assertEqual(open_ids,
                         [e['id'] for e in self.journal.pending()])
        self.assertEqual(['intent', 'intent'],
                         [e['event'] for e in self.journal.entries()])
        # ... the whole old journal is the previous generation ...
        with open(self.journal.path + '.1') as f:
            self.assertEqual(before, f.read())
        self.assertLess(os.path.getsize(self.journal.path), limit)
        # ... and closing one after compaction works as before.
        self.journal.done(open_ids[0], 'u1', [])
        self.assertEqual([open_ids[1]],
                         [e['id'] for e in self.journal.pending()])
        self.assertFalse(os.path.exists(self.journal.path + '.1.tmp'))

    def test_compact_replaces_the_previous_generation(self):
        self.fill(20)
        self.assertTrue(self.journal.compact(limit=100))
        self.fill(30)
        with open(self.journal.path) as f:
            second = f.read()
        self.assertTrue(self.journal.compact(limit=100))
        with open(self.journal.path + '.1') as f:
            self.assertEqual(second, f.read())
        with open(self.journal.path) as f:
            self.assertEqual('', f.read())

    def test_default_limit_keeps_the_journal_under_the_read_cap(self):
        self.assertLess(reap_journal.COMPACT_BYTES * 4,
                        bounded_input.MAX_STATE_BYTES)
