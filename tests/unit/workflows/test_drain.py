# SPDX-License-Identifier: Apache-2.0

"""The per-GPU drain decides each GPU from the apply's typed records."""

from unittest import mock

from nova_mig.layout import layout_plan
from nova_mig.layout import records
from nova_mig.workflows import drain
from tests import base

DONE, FAILED = '0000:41:00.0', '0000:42:00.0'


def result(checkpoint_error=None):
    """An apply whose first GPU changed, whose second failed half-way."""
    return records.ApplyResult(
        layout_plan.Plan('h', 'l.yaml', (), ()),
        (records.GpuResult(DONE, records.Status.CHANGED),
         records.GpuResult(FAILED, records.Status.FAILED,
                           error='create GPU instance failed: no room'),
         records.GpuResult('0000:43:00.0', records.Status.FAILED)),
        checkpoint_error=checkpoint_error)


class TestApply(base.TestCase):

    def run_apply(self, applied):
        gpu_drain = drain.GpuDrain(self.conf, mock.Mock(), mock.Mock())
        outcomes = {g: drain.GpuOutcome(g, drain.WOULD_CHANGE, 'planned')
                    for g in (DONE, FAILED)}
        with mock.patch('nova_mig.layout.layout_apply.apply',
                        return_value=applied):
            complete = gpu_drain._apply(mock.Mock(), [DONE, FAILED],
                                        outcomes)
        return complete, outcomes

    def test_outcomes_from_the_records(self):
        complete, outcomes = self.run_apply(result())
        self.assertFalse(complete)
        self.assertEqual(drain.GpuOutcome(DONE, drain.CHANGED, 'planned'),
                         outcomes[DONE])
        self.assertEqual(drain.FAILED, outcomes[FAILED].status)
        self.assertEqual('create GPU instance failed: no room',
                         outcomes[FAILED].detail)
        # A GPU the drain did not take is not its to report.
        self.assertEqual({DONE, FAILED}, set(outcomes))

    def test_an_unwritten_checkpoint_fails_every_gpu(self):
        complete, outcomes = self.run_apply(result('no space'))
        self.assertFalse(complete)
        self.assertEqual({drain.FAILED},
                         {o.status for o in outcomes.values()})
        self.assertEqual('no space', outcomes[DONE].detail)
