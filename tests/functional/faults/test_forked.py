# SPDX-License-Identifier: Apache-2.0

"""The fault tier's forked children: bounded, and only from one thread.

Here, among the fault tier's tests, which each test process runs first:
a test of another tier may leave a thread behind.
"""

import os
import threading
import time

import fixtures

from tests import base as test_base
from tests.functional.faults import base as faults


class ForkedTestCase(test_base.TestCase):

    def test_a_child_that_overstays_is_killed_and_fails_the_test(self):
        self.useFixture(fixtures.MockPatchObject(faults, 'CHILD_LIMIT', 1))
        marker = os.path.join(self.tmpdir, 'child-pid')

        def hang() -> None:
            with open(marker, 'w') as f:
                f.write(str(os.getpid()))
            time.sleep(60)

        start = time.monotonic()
        e = self.assertRaises(AssertionError, faults.forked, hang)
        self.assertLess(time.monotonic() - start, 20)
        self.assertIn('did not end within 1 s: killed', str(e))
        with open(marker) as f:
            pid = int(f.read())
        # Killed and reaped: no such process any more.
        self.assertRaises(ProcessLookupError, os.kill, pid, 0)

    def test_a_child_that_ends_gives_its_status(self):
        self.assertEqual(7, faults.forked(lambda: 7))
        self.assertEqual(0, faults.forked(lambda: None))

    def test_refused_while_another_thread_runs(self):
        stop = threading.Event()
        thread = threading.Thread(target=stop.wait, name='busy-server')
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(stop.set)
        ran = []
        e = self.assertRaises(AssertionError, faults.forked,
                              lambda: ran.append(1))
        self.assertIn('refusing to fork with other threads running: '
                      'busy-server', str(e))
        self.assertEqual([], ran)
