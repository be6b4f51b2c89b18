# SPDX-License-Identifier: Apache-2.0

"""The bounds that keep a hung test from holding the whole run.

``tools/quickstart.sh test`` sets ``OS_TEST_TIMEOUT`` (each test) and
``NOVA_MIG_TEST_WORKER_LIMIT`` (each test process, ``tests/__init__.py``);
the fault tier bounds each forked child
(``tests/functional/faults/test_forked.py``). Each bound is proved by
hanging on purpose.
"""

import os
import signal
import subprocess
import sys
import time

import fixtures
import testtools

import tests
from tests import base

#: A process of the test suite that would sleep for a minute.
SLEEPER = 'import tests, time; time.sleep(60); print("alive")'


class WorkerLimitTestCase(base.TestCase):

    def run_sleeper(self, limit: str | None, code: str = SLEEPER
                    ) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env.pop(tests.WORKER_LIMIT_ENV, None)
        if limit is not None:
            env[tests.WORKER_LIMIT_ENV] = limit
        return subprocess.run([sys.executable, '-c', code], cwd=base.TOP_DIR,
                              env=env, capture_output=True, text=True,
                              timeout=50)

    def test_past_the_limit_the_process_ends_with_its_traceback(self):
        start = time.monotonic()
        result = self.run_sleeper('1')
        self.assertLess(time.monotonic() - start, 30)
        self.assertNotEqual(0, result.returncode)
        self.assertNotIn('alive', result.stdout)
        self.assertIn('Timeout (0:00:01)!', result.stderr)
        # Where it hung: the main thread's frame, with its line.
        self.assertIn('File "<string>", line 1', result.stderr)

    def test_unset_or_unreadable_limit_arms_nothing(self):
        code = 'import tests, time; time.sleep(1.5); print("alive")'
        for limit in (None, 'soon', '0'):
            result = self.run_sleeper(limit, code)
            self.assertEqual(0, result.returncode, (limit, result.stderr))
            self.assertEqual('alive\n', result.stdout)


class TimedTestCaseTestCase(base.TestCase):

    def test_a_hanging_test_fails_once_its_time_is_up(self):
        # Defined here, so that the run does not collect it.
        class Hangs(base.TimedTestCase):

            def test_hangs(self):
                time.sleep(30)

        self.useFixture(fixtures.EnvironmentVariable('OS_TEST_TIMEOUT', '1'))
        # The inner test's alarm replaces this test's own: take it back
        # afterwards with the time it had left.
        remaining = signal.alarm(0)
        try:
            result = testtools.TestResult()
            start = time.monotonic()
            Hangs('test_hangs').run(result)
            elapsed = time.monotonic() - start
        finally:
            if remaining:
                signal.alarm(remaining)
        self.assertLess(elapsed, 10)
        self.assertEqual(1, len(result.errors))
        self.assertIn('TimeoutException', result.errors[0][1])
