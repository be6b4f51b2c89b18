# SPDX-License-Identifier: Apache-2.0

"""Kill each command at its state-changing steps; a re-run converges.

For ``layout apply``, ``layout restore``, ``reap --apply``, ``retype`` and
``nova-config``: the command runs once uninterrupted (the target), then,
from the same start, is killed right after one of its crash points and
run again.  The re-run must end like the uninterrupted run (exit code,
GPU and compute instances, vGPU devices, ownership record with no intent
left, reaper journal, Nova configuration), and no device a guest
references may be lost at the kill.
"""

import json
import os

from nova_mig import fileutils
from nova_mig.novaconf import config_writer
from nova_mig.simulator import simulated_host
from tests.functional.faults import cloud
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
            os.environ[simulated_host.CRASH_ENV] = '3'
            return self.run_cli(*scenarios.APPLY, self.layout)
        self.assertEqual(simulated_host.CRASH_STATUS,
                         scenarios.faults.forked(crash_at_3))
        self.assertNotIn(self.snapshot(), (before, done))
        self.assertEqual(want, self.run_cli(*scenarios.APPLY, self.layout))
        self.assertEqual(done, self.snapshot())

    def dry_run_diff(self) -> str:
        """The diff ``nova-config --dry-run`` shows an operator."""
        rc = self.run_cli('nova-config', '--dry-run', '-f', 'json')
        self.assertEqual(0, rc, self.last)
        return json.loads(self.last[:self.last.rindex('}') + 1])['diff']

    def test_nova_config_pair_is_never_mixed(self):
        """Killed anywhere, nova-mig sees both old or both new files.

        No recovery call here: the product's own next runs are what an
        operator has. Right after the kill, "nova-config --dry-run" (and
        the reaper's reading of the snippet) see the old pair or the new
        one, never the new snippet beside the old provider config; the
        next "nova-config" ends with both new files and no journal.
        """
        self.start_over()
        self.assertEqual(0, self.run_cli('nova-config'), self.last)
        old = (scenarios._text(self.snippet), scenarios._text(self.provider))
        self.assertEqual(0, self.run_cli(*scenarios.APPLY, self.layout),
                         self.last)
        full_diff = self.dry_run_diff()
        self.assertIn(os.path.basename(self.provider), full_diff)
        points = scenarios.faults.CrashPoints(self.work)
        with points.installed():
            self.run_cli('nova-config')
        new = (scenarios._text(self.snippet), scenarios._text(self.provider))
        self.assertNotEqual(old, new)
        renamed = [k for k in points.kinds
                   if k.startswith('file: rename nova-mig.')]
        # The snippet, then the provider config: a kill between the two
        # leaves them mixed on disk.
        self.assertEqual(['file: rename nova-mig.conf',
                          'file: rename nova-mig.yaml'], renamed)
        mixed = 0
        for at in range(1, len(points.kinds) + 1):
            where = 'killed at %d (%s)' % (at, points.kinds[at - 1])
            for path, content in zip((self.snippet, self.provider), old):
                fileutils.write_if_changed(path, content)
            status = scenarios.faults.killed(
                self.work, at, lambda: self.run_cli('nova-config'))
            self.assertEqual(scenarios.faults.CRASHED, status, where)
            on_disk = (scenarios._text(self.snippet),
                       scenarios._text(self.provider))
            if on_disk not in (old, new):
                mixed += 1
            self.assertIn(self.dry_run_diff(), (full_diff, ''), where)
            self.assertEqual(0, self.run_cli('nova-config'), self.last)
            self.assertEqual(new, (scenarios._text(self.snippet),
                                   scenarios._text(self.provider)), where)
            self.assertFalse(os.path.exists(
                config_writer.journal_path(self.snippet)), where)
            scenarios.faults.COUNTS['nova-config pair']['killed'] += 1
        # The dry run above did read a half-written pair at least once.
        self.assertGreater(mixed, 0)


class TestCrashRetype(cloud.CloudFaultTestCase):
    """``retype``: every step, the Compute API calls included.

    Its eight steps against the embedded cloud: the nova-compute service
    disabled and enabled in the Compute API (crash points: each call
    writes the service record), the reap with its Placement check, the
    layout, the Nova configuration, the restart (a crash point) and the
    wait for Placement. The service state is part of the outcome
    compared after the re-run.
    """

    host = 't4-orphans.yaml'
    hostname = 'compute-t4-1'

    def command(self):
        layout = self.write('t4.yaml', cloud.T4_RETYPE)
        return self.run_cli('retype', layout, '--include-foreign')

    def test_retype(self):
        _, want, kinds = self.reference('retype', self.registered,
                                        self.command)
        # The service ends enabled, as it started; its two Compute API
        # calls and the restart are crash points.
        self.assertEqual(('enabled', None), want['service'])
        self.assertEqual(2, kinds.count(
            'file: rename compute-services.json'), kinds)
        self.assertIn('file: restart nova-compute', kinds)
        self.killed_everywhere('retype', self.registered, self.command)

    def test_disabled_by_someone_else_stays_disabled(self):
        """A service the operator disabled is not enabled at the end."""
        def prepare():
            self.registered()
            cloud.cloud.ComputeServices(self.state_dir).set(
                self.hostname, False, 'maintenance')
        _, want, _ = self.reference('retype (service disabled)', prepare,
                                    self.command)
        self.assertEqual(('disabled', 'maintenance'), want['service'])


class TestCrashReap(scenarios.FaultTestCase):

    host = reaper_base.CASES

    def test_reap_apply(self):
        self.converges('reap --apply', lambda: None,
                       lambda: self.run_cli(*scenarios.REAP))
