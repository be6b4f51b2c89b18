"""Tests for the ownership record."""

import json
import os
from unittest import mock

from nova_mig import exception
from nova_mig import ownership
from tests import base

UUID = '11111111-2222-4333-8444-555555555555'


class TestOwnership(base.TestCase):

    def test_add_persists_and_discard_forgets(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        self.assertFalse(record.owns(UUID))
        record.add(UUID, type='nvidia-700', parent='0000:41:00.4')
        again = ownership.OwnershipRecord(self.tmpdir)
        self.assertTrue(again.owns(UUID))
        self.assertEqual('nvidia-700', again.get(UUID)['type'])
        self.assertIn('created_at', again.get(UUID))
        again.discard(UUID)
        self.assertFalse(ownership.OwnershipRecord(self.tmpdir).owns(UUID))

    def test_corrupt_file_is_reported(self):
        with open(os.path.join(self.tmpdir, ownership.FILE_NAME), 'w') as f:
            f.write('{not json')
        e = self.assertRaises(exception.StateFileError,
                              ownership.OwnershipRecord, self.tmpdir)
        self.assertIn(ownership.FILE_NAME, str(e))

    def test_failed_write_keeps_previous_file(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.add(UUID, type='nvidia-700')
        path = os.path.join(self.tmpdir, ownership.FILE_NAME)
        with open(path) as f:
            before = f.read()
        with mock.patch('os.replace', side_effect=OSError(28, 'No space')):
            self.assertRaises(OSError, record.add, 'other', type='x')
        with open(path) as f:
            self.assertEqual(before, f.read())
        self.assertEqual([ownership.FILE_NAME], os.listdir(self.tmpdir))
        self.assertEqual({UUID}, set(json.loads(before)['devices']))
