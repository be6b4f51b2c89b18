# SPDX-License-Identifier: Apache-2.0

"""Tests of the libvirt hook's queue."""

import json
import os

from nova_mig.reaper import queue
from tests import base


class TestQueue(base.TestCase):

    def append(self, **entry):
        with open(os.path.join(self.tmpdir, queue.FILE_NAME), 'a') as f:
            f.write(json.dumps(entry) + '\n')

    def test_take_moves_aside_and_finish_forgets(self):
        q = queue.Queue(self.tmpdir)
        self.append(domain='i-1', mdevs=['AB-1'], pci=[])
        self.assertEqual({'ab-1'}, q.peek())
        self.assertEqual({'ab-1'}, q.take())
        # The hook appends meanwhile: kept for the next run.
        self.append(domain='i-2', mdevs=['cd-2'], pci=['0000:41:00.4'])
        self.assertEqual({'ab-1'}, q._devices(q.taken))
        q.finish()
        self.assertEqual({'cd-2', '0000:41:00.4'}, q.take())

    def test_unfinished_take_is_merged(self):
        q = queue.Queue(self.tmpdir)
        self.append(mdevs=['a'])
        q.take()
        self.append(mdevs=['b'])
        with open(q.path, 'a') as f:
            f.write('garbage\n')
        self.assertEqual({'a', 'b'}, q.take())

    def test_empty(self):
        self.assertEqual(set(), queue.Queue(self.tmpdir).take())
