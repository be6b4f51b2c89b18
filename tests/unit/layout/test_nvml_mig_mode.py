"""The NVML backend changes the MIG mode through privsep."""

from unittest import mock

from nova_mig import exception
from nova_mig.gpu import nvml
from nova_mig.privsep import nvml as privsep_nvml
from nova_mig.privsep import nvml_lib
from tests import base as test_base


class TestNvmlMigMode(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.backend = nvml.NvmlBackend(self.conf)

    @mock.patch.object(privsep_nvml, 'set_mig_mode', return_value=(0, 1))
    def test_pending_until_reset(self, entrypoint):
        self.assertEqual((0, 1), self.backend.set_mig_mode('GPU-x', True))
        entrypoint.assert_called_once_with('GPU-x', True)

    @mock.patch.object(privsep_nvml, 'set_mig_mode', side_effect=(
        nvml_lib.NvmlCallFailed('nvmlDeviceSetMigMode', 'GPU-x', 'IN_USE',
                                'busy'),))
    def test_refusal(self, _entrypoint):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.set_mig_mode, 'GPU-x', False)
        self.assertEqual('IN_USE', error.code)
        self.assertIn('disable MIG mode', str(error))

    def test_library_call(self):
        with mock.patch.object(nvml_lib, 'pynvml') as pynvml:
            pynvml.nvmlDeviceGetMigMode.return_value = [1, 1]
            self.assertEqual((1, 1), nvml_lib.set_mig_mode('GPU-x', True))
        pynvml.nvmlDeviceSetMigMode.assert_called_once_with(
            pynvml.nvmlDeviceGetHandleByUUID.return_value, 1)
