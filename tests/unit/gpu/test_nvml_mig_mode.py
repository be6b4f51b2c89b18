# SPDX-License-Identifier: Apache-2.0

"""The NVML backend changes the MIG mode through privsep."""

from nova_mig import exception
from nova_mig.gpu import nvml
from nova_mig import privsep
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml
from tests.unit.privsep import privsep_fixtures


class TestNvmlMigMode(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.nvml_pctxt))
        self.off = fake_cards.a100_80gb(index=0, mig=0)
        self.busy = fake_cards.busy_a100()
        self.busy.uuid = 'GPU-b0000000-0000-4000-8000-000000000000'
        self.fake = self.useFixture(fake_pynvml.FakeNvmlFixture(
            [self.off, self.busy])).fake
        self.backend = nvml.NvmlBackend(self.conf)
        self.addCleanup(self.backend.close)

    def test_pending_until_reset(self):
        self.assertEqual((0, 1),
                         self.backend.set_mig_mode(self.off.uuid, True))
        self.assertEqual((0, 1), (self.off.mig_current, self.off.mig_pending))
        self.assertEqual(['nova_mig.privsep.nvml_calls.set_mig_mode'],
                         self.privsep.channel.calls)

    def test_refusal(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.set_mig_mode,
                                  self.busy.uuid, False)
        self.assertEqual('IN_USE', error.code)
        self.assertIn('disable MIG mode', str(error))
        self.assertEqual(1, self.busy.mig_pending)

    def test_no_permission(self):
        self.fake.privileged = False
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.set_mig_mode,
                                  self.off.uuid, True)
        self.assertEqual('NO_PERMISSION', error.code)
        self.assertEqual(0, self.off.mig_pending)
