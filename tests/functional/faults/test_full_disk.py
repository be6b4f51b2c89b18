# SPDX-License-Identifier: Apache-2.0

"""A full state disk: one clear error naming the file, nothing created."""

import errno
import os
from unittest import mock

from nova_mig import ownership
from tests.functional.faults import scenarios


class TestFullStateDisk(scenarios.FaultTestCase):

    def test_layout_apply_creates_nothing_it_cannot_record(self):
        devices = {d[1] for d in self.snapshot()['devices']}
        real = os.replace
        state_dir = os.path.realpath(self.state_dir) + os.sep

        def replace(src, dst, *args, **kwargs):
            if os.path.realpath(dst).startswith(state_dir) and \
                    not os.path.realpath(dst).startswith(
                        os.path.realpath(self.work)):
                raise OSError(errno.ENOSPC, 'No space left on device', dst)
            return real(src, dst, *args, **kwargs)

        with mock.patch('os.replace', replace):
            rc = self.run_cli(*scenarios.APPLY, self.layout)
        self.assertEqual(1, rc, self.last)
        record = os.path.join(self.state_dir, ownership.FILE_NAME)
        self.assertIn('Cannot write nova-mig state file %s: No space left '
                      'on device; nothing was created' % record, self.last)
        self.assertIn('the layout checkpoint', self.last)
        self.assertNotIn('[Errno', self.last)
        # The result table is printed; no vGPU device was created.
        self.assertIn('| failed', self.last)
        self.assertLessEqual({d[1] for d in self.snapshot()['devices']},
                             devices)
