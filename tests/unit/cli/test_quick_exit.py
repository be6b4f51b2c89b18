"""The console script's quick exit (nova_mig.cli.shell.quick_exit)."""

import os
import subprocess
import sys
import textwrap

from tests import base

# A process that ends the way the console script does, after "work" that
# leaves unflushed output, a log record in a file and an object whose
# finaliser would only run in the interpreter's teardown.
_SCRIPT = textwrap.dedent('''
    import atexit, logging, sys, threading, time
    from nova_mig.cli import shell

    class Finaliser:
        def __del__(self):
            sys.__stderr__.write('teardown ran\\n')

    keep = Finaliser()
    handler = logging.FileHandler(sys.argv[1])
    logging.getLogger().addHandler(handler)
    logging.getLogger().warning('logged before the exit')
    sys.stdout.write('output without a newline')
    if sys.argv[2] == 'handler':
        atexit.register(lambda: sys.__stderr__.write('handler ran\\n'))
    elif sys.argv[2] == 'thread':
        threading.Thread(target=time.sleep, args=(0.2,)).start()
    shell.quick_exit(7)
''')


class TestQuickExit(base.TestCase):

    def run_script(self, mode):
        log = os.path.join(self.tmpdir, 'run.log')
        result = subprocess.run(
            [sys.executable, '-c', _SCRIPT, log, mode],
            capture_output=True, text=True, timeout=60)
        with open(log) as f:
            return result, f.read()

    def test_flushes_output_and_logs_and_keeps_the_code(self):
        result, log = self.run_script('plain')
        self.assertEqual(7, result.returncode)
        self.assertEqual('output without a newline', result.stdout)
        self.assertEqual('logged before the exit\n', log)
        # Nothing waited for the exit: the teardown was skipped.
        self.assertNotIn('teardown ran', result.stderr)

    def test_exit_handler_gets_an_ordinary_exit(self):
        result, log = self.run_script('handler')
        self.assertEqual(7, result.returncode)
        self.assertEqual('output without a newline', result.stdout)
        self.assertIn('handler ran', result.stderr)
        self.assertIn('teardown ran', result.stderr)
        self.assertEqual('logged before the exit\n', log)

    def test_running_thread_gets_an_ordinary_exit(self):
        result, _ = self.run_script('thread')
        self.assertEqual(7, result.returncode)
        self.assertIn('teardown ran', result.stderr)
