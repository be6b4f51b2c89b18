"""Kill each command at its state-changing steps; a re-run converges.

For ``layout apply``, ``layout restore``, ``reap --apply``, ``retype`` and
``nova-config``: the command runs once uninterrupted (the target), then,
from the same start, is killed right after one of its crash points and
run again.  The re-run must end like the uninterrupted run (exit code,
GPU and compute instances, vGPU devices, ownership record with no intent
left, reaper journal, Nova configuration), and no device a guest
references may be lost at the kill.
"""

import os

from nova_mig import fileutils
from nova_mig.novaconf import write
from nova_mig.simulator import host as host_mod
from tests.functional.faults import scenarios
from tests.functional.reaper import base as reaper_base


class TestCrash(scenarios.FaultTestCase):

    def test_layout_apply(self):
        self.converges('layout apply', lambda: None,
                       lambda: self.run_cli(*scenarios.APPLY, self.layout))

    def test_layout_restore(self):
        def prepare():
            self.assertEqual(0, self.run_cli(*scenarios.APPLY, self.layout),
                             self.last)
            self.backend.wipe()
        self.converges('layout restore', prepare,
                       lambda: self.run_cli('layout', 'restore'))

    def test_nova_config(self):
        def prepare():
            self.assertEqual(0, self.run_cli('nova-config'), self.last)
            self.assertEqual(0, self.run_cli(*scenarios.APPLY, self.layout),
                             self.last)
        self.converges('nova-config', prepare,
                       lambda: self.run_cli('nova-config'))

    def test_simulator_crash_env(self):
        """NOVA_MIG_SIM_CRASH_AT kills at the N-th simulated change."""
        self.start_over()
        want = self.run_cli(*scenarios.APPLY, self.layout)
        done = self.snapshot()
        self.start_over()
        before = self.snapshot()

        def crash_at_3():
            os.environ[host_mod.CRASH_ENV] = '3'
            return self.run_cli(*scenarios.APPLY, self.layout)
        self.assertEqual(host_mod.CRASH_STATUS,
                         scenarios.faults.forked(crash_at_3))
        self.assertNotIn(self.snapshot(), (before, done))
        self.assertEqual(want, self.run_cli(*scenarios.APPLY, self.layout))
        self.assertEqual(done, self.snapshot())

    def test_nova_config_pair_is_never_mixed(self):
        """Killed anywhere, the pair reads both old or both new."""
        self.start_over()
        self.assertEqual(0, self.run_cli('nova-config'), self.last)
        old = (scenarios._text(self.snippet), scenarios._text(self.provider))
        self.assertEqual(0, self.run_cli(*scenarios.APPLY, self.layout),
                         self.last)
        points = scenarios.faults.CrashPoints(self.work)
        with points.installed():
            self.run_cli('nova-config')
        new = (scenarios._text(self.snippet), scenarios._text(self.provider))
        self.assertNotEqual(old, new)
        for at in range(1, len(points.kinds) + 1):
            for path, content in zip((self.snippet, self.provider), old):
                fileutils.write_if_changed(path, content)
            status = scenarios.faults.killed(
                self.work, at, lambda: self.run_cli('nova-config'))
            self.assertEqual(scenarios.faults.CRASHED, status)
            write.recover(self.snippet, self.provider, fileutils)
            now = (scenarios._text(self.snippet),
                   scenarios._text(self.provider))
            self.assertIn(now, (old, new), 'killed at %d (%s)' % (
                at, points.kinds[at - 1]))
            scenarios.faults.COUNTS['nova-config pair']['killed'] += 1


class TestCrashRetype(scenarios.FaultTestCase):

    host = 't4-orphans.yaml'

    def test_retype(self):
        self.converges('retype', lambda: None, self.retype_command())


class TestCrashReap(scenarios.FaultTestCase):

    host = reaper_base.CASES

    def test_reap_apply(self):
        self.converges('reap --apply', lambda: None,
                       lambda: self.run_cli(*scenarios.REAP))
