# SPDX-License-Identifier: Apache-2.0

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
            e = self.assertRaises(exception.StateWriteError, record.add,
                                  'other', type='x')
        self.assertIn(path, str(e))
        self.assertIn('No space', str(e))
        with open(path) as f:
            self.assertEqual(before, f.read())
        self.assertEqual([ownership.FILE_NAME], os.listdir(self.tmpdir))
        self.assertEqual({UUID}, set(json.loads(before)['devices']))


VF = '0000:1b:00.4'


class TestWriteAhead(base.TestCase):

    def test_intent_is_not_ownership_until_reconciled(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.intend(UUID, type='A100-1-5C')
        again = ownership.OwnershipRecord(self.tmpdir)
        self.assertFalse(again.owns(UUID))
        changes = again.reconcile({UUID: {}})
        self.assertEqual(['%s: created before a crash, owned' % UUID],
                         changes)
        self.assertTrue(ownership.OwnershipRecord(self.tmpdir).owns(UUID))

    def test_intent_without_device_is_dropped(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.intend(UUID, type='A100-1-5C')
        record.reconcile({})
        self.assertIsNone(ownership.OwnershipRecord(self.tmpdir).get(UUID))

    def test_reconcile_without_write_changes_memory_only(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.intend(UUID)
        record.reconcile({UUID: {}}, write=False)
        self.assertTrue(record.owns(UUID))
        self.assertFalse(ownership.OwnershipRecord(self.tmpdir).owns(UUID))

    def test_full_disk_refuses_the_intent_naming_the_file(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        with mock.patch('os.replace',
                        side_effect=OSError(28, 'No space left on device')):
            e = self.assertRaises(exception.StateWriteError, record.intend,
                                  UUID)
        self.assertEqual(
            'Cannot write nova-mig state file %s: No space left on device; '
            'nothing was created' % os.path.join(self.tmpdir,
                                                 ownership.FILE_NAME), str(e))

    def test_recreated_vendor_vfio_vgpu_is_foreign(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.intend(VF, type_id='1414')
        record.add(VF, vgpu_uuid='aaaa')
        # Another tool wrote 0, then a type: a new vGPU on the same VF.
        changes = record.reconcile({VF: {'vgpu_uuid': 'bbbb',
                                         'type_id': '1414'}})
        self.assertEqual(1, len(changes))
        self.assertFalse(ownership.OwnershipRecord(self.tmpdir).owns(VF))

    def test_same_vendor_vfio_vgpu_stays_owned(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.add(VF, vgpu_uuid='aaaa', type_id='1414')
        self.assertEqual([], record.reconcile(
            {VF: {'vgpu_uuid': 'aaaa', 'type_id': '1414'}}))
        self.assertTrue(record.owns(VF))

    def test_type_decides_when_the_driver_gives_no_uuid(self):
        record = ownership.OwnershipRecord(self.tmpdir)
        record.add(VF, type_id='1414')
        record.reconcile({VF: {'vgpu_uuid': None, 'type_id': '1415'}})
        self.assertFalse(record.owns(VF))
