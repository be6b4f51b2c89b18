# SPDX-License-Identifier: Apache-2.0

"""The simulated backend changes the MIG mode as a card would."""

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.simulator import backend
from tests import base as test_base
from tests.functional import base as functional_base


class TestMigMode(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=functional_base.host_file('a100-mixed.yaml'),
                   group='simulator')
        self.backend = backend.SimulatedBackend(self.conf)
        self.gpu = self.backend.list_gpus()[1]

    def test_refused_while_instances_exist(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.set_mig_mode, self.gpu.uuid,
                                  False)
        self.assertEqual('IN_USE', error.code)
        self.assertTrue(self.backend.list_gpus()[1].mig_enabled)

    def test_disable_then_enable(self):
        with self.backend.host.transaction() as state:
            state.data['vgpus'] = []
            state.gpu_by_uuid(self.gpu.uuid)['gpu_instances'] = []
        self.assertEqual((0, 0), self.backend.set_mig_mode(self.gpu.uuid,
                                                           False))
        self.assertFalse(self.backend.list_gpus()[1].mig_enabled)
        self.assertEqual((1, 1), self.backend.set_mig_mode(self.gpu.uuid,
                                                           True))

    def test_default_backend_cannot(self):
        error = self.assertRaises(
            exception.GpuOperationRefused,
            backend_api.GpuBackend.set_mig_mode, self.backend, 'GPU-x', True)
        self.assertEqual('NOT_SUPPORTED', error.code)
