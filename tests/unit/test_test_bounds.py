# SPDX-License-Identifier: Apache-2.0

"""The bounds that keep a hung test from holding the whole run.

``tools/quickstart.sh test`` sets ``OS_TEST_TIMEOUT`` (each test) and
``NOVA_MIG_TEST_WORKER_LIMIT`` (each test process, ``tests/__init__.py``);
the fault tier bounds each forked child
(``tests/functional/faults/test_forked.py``). Each bound is proved by
hanging on purpose.
"""

import os
import subprocess
import sys
import time

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


#: A test that hangs while another thread waits too, run on its own.
HANGING_TEST = '''
import threading, time, unittest
import testtools
from tests import base

class Hangs(base.TimedTestCase):
    def test_hangs(self):
        stop = threading.Event()
        threading.Thread(target=stop.wait, name='server-thread',
                         daemon=True).start()
        time.sleep(30)

result = testtools.TestResult()
Hangs('test_hangs').run(result)
print('errors:', len(result.errors))
print(result.errors[0][1] if result.errors else '')
'''


class TimedTestCaseTestCase(base.TestCase):

    def test_a_hanging_test_fails_with_every_threads_stack(self):
        env = dict(os.environ, OS_TEST_TIMEOUT='1')
        env.pop(tests.WORKER_LIMIT_ENV, None)
        start = time.monotonic()
        result = subprocess.run([sys.executable, '-c', HANGING_TEST],
                                cwd=base.TOP_DIR, env=env,
                                capture_output=True, text=True, timeout=50)
        self.assertLess(time.monotonic() - start, 20)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertIn('errors: 1', result.stdout)
        self.assertIn('TimeoutException', result.stdout)
        # Before failing, the test named itself and wrote every thread's
        # stack: its own, in the sleep, and the other one's, in its wait.
        self.assertIn('__main__.Hangs.test_hangs: no end after '
                      'OS_TEST_TIMEOUT=1 s; every thread:', result.stderr)
        self.assertIn('line 11 in test_hangs', result.stderr)
        self.assertIn('in wait', result.stderr)
        self.assertGreaterEqual(result.stderr.count('hread 0x'), 2)
