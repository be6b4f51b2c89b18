# SPDX-License-Identifier: Apache-2.0

"""Kills and a full disk at every write point of the cloud workflows.

``rebalance apply --yes`` and ``retype --per-gpu`` (the per-GPU drain:
Nova configured without the GPU, nova-compute restarted, the layout
applied and checkpointed, the full configuration written, nova-compute
restarted) and ``retype`` (service disabled in the Compute API, ...,
enabled again) are killed right after each of their crash points, or
find no space left at each of their write points; the next run of the
same command must end where an uninterrupted run ends (see
:mod:`tests.functional.faults.cloud`), with nothing in use lost.
"""

import os

from nova_mig.simulator import simulated_host
from tests.functional.faults import base as faults
from tests.functional.faults import cloud


class TestRebalanceApply(cloud.CloudFaultTestCase):

    def setUp(self):
        super().setUp()
        self.rebalance_layout = self.write('rebalance.yaml', cloud.REBALANCE)

    def command(self):
        return self.run_cli('rebalance', 'apply', self.rebalance_layout,
                            '--yes', '--include-foreign')

    def test_killed_at_every_crash_point(self):
        self.killed_everywhere('rebalance apply', self.registered,
                               self.command)

    def test_full_disk_at_every_write_point(self):
        self.full_disk_everywhere('rebalance apply', self.registered,
                                  self.command)

    def test_simulator_crash_at_the_10th_change(self):
        """``NOVA_MIG_SIM_CRASH_AT=10``: the simulated kernel dies there."""
        _, want, kinds = self.reference('rebalance apply', self.registered,
                                        self.command)
        self.assertGreaterEqual(
            sum(1 for k in kinds if k.endswith('simulated host')), 10)
        self.start_over()
        self.registered()

        def crash_at_10():
            os.environ[simulated_host.CRASH_ENV] = '10'
            return self.command()
        self.assertEqual(simulated_host.CRASH_STATUS,
                         faults.forked(crash_at_10))
        # Killed while applying, Nova running without the GPU: the
        # re-run finishes the drain its journal records.
        self.assertEqual(0, self.command(), self.last)
        self.assertEqual(want, self.outcome())
        self.assertIn('resume: finish the apply phase', self.last)
        self.clean('after NOVA_MIG_SIM_CRASH_AT=10')

    def test_checkpoint_not_written_is_a_failure(self):
        """A full disk at the checkpoint: exit 1, the re-run writes it."""
        self.start_over()
        self.registered()
        points = faults.FullDisk(self.work)
        with points.installed():
            self.assertEqual(0, self.command(), self.last)
        at = points.kinds.index('rename layout-checkpoint.json') + 1
        self.start_over()
        self.registered()
        status = faults.full_disk(self.work, at, self.command)
        self.assertEqual(1, status)
        self.assertFalse(os.path.exists(
            os.path.join(self.state_dir, 'layout-checkpoint.json')))
        self.assertEqual(0, self.command(), self.last)
        self.assertTrue(os.path.exists(
            os.path.join(self.state_dir, 'layout-checkpoint.json')))
        self.assertEqual([], self.leftovers())


class TestRetypePerGpu(cloud.CloudFaultTestCase):

    def setUp(self):
        super().setUp()
        self.rebalance_layout = self.write('rebalance.yaml', cloud.REBALANCE)

    def command(self):
        return self.run_cli('retype', self.rebalance_layout, '--per-gpu',
                            '--include-foreign')

    def test_killed_at_every_crash_point(self):
        self.killed_everywhere('retype --per-gpu', self.registered,
                               self.command)

    def test_full_disk_at_every_write_point(self):
        self.full_disk_everywhere('retype --per-gpu', self.registered,
                                  self.command)


class TestRetype(cloud.CloudFaultTestCase):
    """The eight steps (their kills: tests/functional/faults/test_crash)."""

    host = 't4-orphans.yaml'
    hostname = 'compute-t4-1'

    def setUp(self):
        super().setUp()
        self.retype_layout = self.write('t4.yaml', cloud.T4_RETYPE)

    def command(self):
        return self.run_cli('retype', self.retype_layout,
                            '--include-foreign')

    def test_full_disk_at_every_write_point(self):
        self.full_disk_everywhere('retype', self.registered, self.command)
