# SPDX-License-Identifier: Apache-2.0

"""The executor: a plan's steps run GPU by GPU into typed records."""

import dataclasses
import os
from unittest import mock

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import inuse
from nova_mig.layout import executor
from nova_mig.layout import layout_plan
from nova_mig.layout import records
from nova_mig.layout import step_types
from nova_mig.model import gpu_records
from tests import base as test_base
from tests.unit.layout import fakes

AT_0_4 = gpu_records.Placement(0, 4)
Outcome = records.Outcome
Status = records.Status


class TestExecutor(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.card = fakes.gpu()
        self.backend = mock.create_autospec(backend_api.GpuBackend,
                                            instance=True)
        self.backend.sysfs_root.return_value = os.path.join(self.tmpdir,
                                                            'sys')
        self.backend.libvirt_uri.return_value = 'test:///default'
        self.backend.sysfs_writer.return_value = mock.Mock()
        self.backend.create_gpu_instance.return_value = \
            gpu_records.GpuInstance(id=9, profile_id=2, profile_name='3g.40gb',
                                    placement=AT_0_4)
        self.checker = mock.create_autospec(inuse.Checker, instance=True)
        self.checker.referencing_now.return_value = ()
        self.progress = []
        self.executor = executor.Executor(
            self.backend, os.path.join(self.tmpdir, 'state'),
            lambda *args: self.progress.append(args), self.checker)

    def steps(self) -> tuple[step_types.Step, ...]:
        on = dict(gpu=self.card.pci_address, gpu_uuid=self.card.uuid,
                  reason='r', profile='3g.40gb', placement=AT_0_4)
        return (step_types.DestroyGpuInstance(gi_id=1, **on),
                step_types.CreateGpuInstance(profile_id=2, **on),
                step_types.CreateComputeInstance(**on))

    def make_plan(self, *gpus: layout_plan.GpuPlan) -> layout_plan.Plan:
        return layout_plan.Plan('h', 'l.yaml', gpus, ())

    def gpu_plan(self, card=None, **kw) -> layout_plan.GpuPlan:
        return layout_plan.GpuPlan(mock.Mock(gpu=card or self.card),
                                   self.steps(),
                                   **kw)

    def test_every_step_done(self):
        the_plan = self.make_plan(self.gpu_plan())
        before = dataclasses.replace(the_plan)
        (result,) = self.executor.execute(the_plan)
        self.assertEqual(Status.CHANGED, result.status)
        self.assertTrue(result.ok)
        self.assertEqual([Outcome.DONE] * 3,
                         [r.outcome for r in result.steps])
        self.assertEqual(tuple(s.describe() for s in self.steps()),
                         result.done)
        self.assertEqual('', result.detail)
        self.backend.create_compute_instance.assert_called_once_with(
            self.card.uuid, 9)
        self.assertEqual([(1, 3, 'done'), (2, 3, 'done'), (3, 3, 'done')],
                         [(i, n, s) for i, n, _step, s in self.progress
                          if s is not None])
        # The plan is what it was: results are records of their own.
        self.assertEqual(before, the_plan)

    def test_a_failed_step_stops_its_gpu_only(self):
        self.backend.create_gpu_instance.side_effect = \
            exception.GpuOperationRefused(gpu='g', code='INSUFFICIENT',
                                          operation='o', reason='no room')
        other = self.gpu_plan(fakes.gpu(index=1))
        failed, second = self.executor.execute(
            self.make_plan(self.gpu_plan(), other))
        self.assertEqual(Status.FAILED, failed.status)
        self.assertEqual([Outcome.DONE, Outcome.FAILED, Outcome.NOT_DONE],
                         [r.outcome for r in failed.steps])
        self.assertIn('create GPU instance 3g.40gb at 0:4 failed:',
                      failed.error)
        self.assertIn('; not done: create GPU instance', failed.detail)
        self.assertEqual(2, len(failed.not_done))
        # The next GPU went on (and failed at the same step).
        self.assertEqual(Outcome.DONE, second.steps[0].outcome)
        self.assertEqual(Status.FAILED, second.status)
        self.assertIn((2, 6, step_types.CreateGpuInstance, 'failed'),
                      [(i, n, type(s), st) for i, n, s, st in self.progress])

    def test_a_target_used_before_its_step(self):
        calls = []

        def require_free(*targets, going=frozenset()):
            # Free for the GPU's proof, used right before its first step.
            calls.append(targets)
            if len(calls) > 1:
                raise exception.TargetInUse(target='GPU instance 1',
                                            users='processes 7', seen='now',
                                            since='')
        self.checker.require_free.side_effect = require_free
        (result,) = self.executor.execute(self.make_plan(self.gpu_plan()))
        self.assertEqual(Status.IN_USE, result.status)
        self.assertEqual(Outcome.IN_USE, result.steps[0].outcome)
        self.backend.destroy_gpu_instance.assert_not_called()

    def test_the_gpu_proved_again_before_its_first_step(self):
        self.checker.require_free.side_effect = exception.TargetInUse(
            target='GPU instance 1', users='processes 7', seen='now',
            since='')
        (result,) = self.executor.execute(self.make_plan(self.gpu_plan()))
        self.assertEqual(Status.IN_USE, result.status)
        self.assertEqual([Outcome.NOT_DONE] * 3,
                         [r.outcome for r in result.steps])
        self.assertEqual([], self.progress)

    def test_refused_gpu_is_left_alone(self):
        (result,) = self.executor.execute(self.make_plan(self.gpu_plan(
            refused='in use', blockers=('domain d',))))
        self.assertEqual(Status.REFUSED, result.status)
        self.assertEqual('in use: domain d', result.error)
        self.assertEqual(' (3 actions not done)',
                         result.detail[len(result.error):])
        self.backend.destroy_gpu_instance.assert_not_called()

    def test_a_guest_defined_during_a_removal(self):
        ctx = fakes.FakeContext(self.backend.sysfs_root())
        remove = step_types.ClearVgpuType(gpu=self.card.pci_address,
                                          gpu_uuid=self.card.uuid, reason='r',
                                          type_name='T', vf=0, parent='0:1.4')
        self.executor.writer = ctx.writer
        self.executor.owned = ctx.owned
        self.checker.referencing_now.return_value = ('instance-1 (shutoff)',)
        (result,) = self.executor.execute(self.make_plan(dataclasses.replace(
            self.gpu_plan(), steps=(remove,))))
        self.assertEqual(Status.REFERENCED, result.status)
        self.assertIn('domain instance-1 (shutoff) references PCI function '
                      '0:1.4', result.detail)
        self.assertFalse(result.ok)


class TestRecords(test_base.TestCase):

    def test_apply_result_is_a_record(self):
        result = records.ApplyResult(layout_plan.Plan('h', 'l', (), ()), ())
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, result,
                          'checkpoint', 'x')
        # Display rows are the command line's, not an API.
        self.assertFalse(hasattr(result, 'rows'))

    def test_status(self):
        self.assertEqual({Status.UNCHANGED, Status.CHANGED},
                         {s for s in Status if s.ok})
        self.assertEqual('in use', str(Status.IN_USE))
