# SPDX-License-Identifier: Apache-2.0

"""Tests of the reaper journal."""

import os

from nova_mig import exception
from nova_mig.reaper import journal
from tests import base


class TestJournal(base.TestCase):

    def setUp(self):
        super().setUp()
        self.journal = journal.Journal(self.tmpdir)

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
        blocker = os.path.join(self.tmpdir, 'ro', journal.FILE_NAME)
        os.makedirs(blocker)
        j = journal.Journal(os.path.join(self.tmpdir, 'ro'))
        e = self.assertRaises(exception.ReaperJournalError,
                              j.intent, 'u', 'mdev', 'p', 't', [])
        self.assertIn('cannot write', str(e))
