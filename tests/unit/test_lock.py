# SPDX-License-Identifier: Apache-2.0

"""Tests for the host lock."""

import multiprocessing
import os

from nova_mig import exception
from nova_mig import lock
from tests import base


def _try_lock(which, state_dir, queue):
    """In another process: take ``lock.<which>`` without waiting."""
    from oslo_config import cfg

    import nova_mig.conf
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf([], project='nova-mig')
    conf.set_override('state_dir', state_dir, group='host')
    try:
        with getattr(lock, which)(conf, wait=False):
            queue.put('acquired')
    except (exception.HostLocked, exception.WorkflowLocked) as e:
        queue.put(str(e))


def _other_process(which, state_dir):
    """What another process answers when it tries ``lock.<which>``."""
    # Spawned, not forked (a fork of a threaded process can hang on a
    # lock another thread held), and a daemon, killed if it overstays.
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=_try_lock, args=(which, state_dir, queue),
                       daemon=True)
    proc.start()
    try:
        return queue.get(timeout=60)
    finally:
        proc.join(30)
        proc.kill()


class TestHostLock(base.TestCase):

    def _other_process(self):
        return _other_process('host_lock', self.tmpdir)

    def test_second_process_refused_while_held(self):
        with lock.host_lock(self.conf):
            answer = self._other_process()
        self.assertIn('Another nova-mig run holds the host lock', answer)
        # The path as text, not a bytes repr (b'...').
        self.assertIn('host lock %s (' % os.path.join(
            lock.lock_path(self.conf), lock.LOCK_PREFIX + lock.LOCK_NAME),
            answer)

    def test_released_after_block(self):
        with lock.host_lock(self.conf):
            pass
        self.assertEqual('acquired', self._other_process())

    def test_released_after_error(self):
        def fail():
            with lock.host_lock(self.conf):
                raise RuntimeError('boom')
        self.assertRaises(RuntimeError, fail)
        self.assertEqual('acquired', self._other_process())

    def test_unusable_state_dir(self):
        self.flags(state_dir='/proc/nova-mig-cannot-exist', group='host')
        e = self.assertRaises(exception.ConfigError,
                              lock.host_lock(self.conf).__enter__)
        self.assertIn('[host]state_dir', str(e))

    def test_state_dir_the_caller_cannot_write(self):
        # As a user without root (root writes anywhere: CI runs as root,
        # hence the subprocess as nobody).
        state_dir = os.path.join(self.tmpdir, 'readonly')
        os.mkdir(state_dir, 0o555)
        out = self.run_unprivileged(
            'import sys\n'
            'from oslo_config import cfg\n'
            'from nova_mig import conf, exception, lock\n'
            'c = cfg.ConfigOpts()\n'
            'conf.register_opts(c)\n'
            'c([], project="nova-mig")\n'
            'c.set_override("state_dir", sys.argv[1], group="host")\n'
            'try:\n'
            '    lock.host_lock(c).__enter__()\n'
            'except exception.ConfigError as e:\n'
            '    print(e)\n', state_dir)
        self.assertIn('cannot create the lock directory %s/locks: '
                      'Permission denied' % state_dir, out)

    def test_lock_file_the_caller_cannot_open(self):
        # The lock directory exists but is read-only (a read-only state
        # directory): one line naming the file, not the bytes path.
        state_dir = os.path.join(self.tmpdir, 'readonly-locks')
        os.makedirs(os.path.join(state_dir, 'locks'))
        os.chmod(os.path.join(state_dir, 'locks'), 0o555)
        os.chmod(state_dir, 0o555)
        out = self.run_unprivileged(
            'import sys\n'
            'from oslo_config import cfg\n'
            'from nova_mig import conf, exception, lock\n'
            'c = cfg.ConfigOpts()\n'
            'conf.register_opts(c)\n'
            'c([], project="nova-mig")\n'
            'c.set_override("state_dir", sys.argv[1], group="host")\n'
            'for take in (lock.host_lock, lock.workflow_lock):\n'
            '    try:\n'
            '        take(c).__enter__()\n'
            '    except exception.ConfigError as e:\n'
            '        print(e)\n', state_dir)
        lines = out.strip().splitlines()
        self.assertEqual([
            'Invalid configuration: cannot open the lock file '
            '%s/locks/nova-mig-%s: Permission denied (check '
            '[host]state_dir)' % (state_dir, name)
            for name in ('host', 'workflow')], lines)

    def test_nested_host_lock_keeps_holding(self):
        # A workflow holding the lock calls a function that takes it
        # again; leaving the inner block must not release the lock.
        with lock.host_lock(self.conf):
            with lock.host_lock(self.conf):
                pass
            answer = self._other_process()
        self.assertIn('Another nova-mig run holds the host lock', answer)
        self.assertEqual('acquired', self._other_process())


class TestWorkflowLock(base.TestCase):

    def _other_process(self):
        return _other_process('workflow_lock', self.tmpdir)

    def test_second_process_refused_while_held(self):
        with lock.workflow_lock(self.conf):
            answer = self._other_process()
        self.assertEqual(
            'Another nova-mig command changes this host and holds the '
            'workflow lock %s (layout apply, layout restore, retype, '
            'rebalance apply or reap --apply); try again when it has '
            'finished.' % os.path.join(lock.lock_path(self.conf),
                                       'nova-mig-workflow'), answer)
        self.assertEqual('acquired', self._other_process())

    def test_independent_of_the_host_lock(self):
        # The pre-start hook takes only the host lock while a workflow
        # restarts nova-compute under the workflow lock.
        with lock.workflow_lock(self.conf):
            with lock.host_lock(self.conf, wait=False):
                pass
            self.assertIn('Another nova-mig command',
                          self._other_process())
