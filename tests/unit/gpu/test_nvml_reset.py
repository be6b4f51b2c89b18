"""The NVML backend's GPU reset: nvidia-smi through the privsep daemon."""

import os
import stat

import fixtures

from nova_mig import exception
from nova_mig.gpu import base as gpu_base
from nova_mig.gpu import nvml
from nova_mig import privsep
from tests import base as test_base
from tests.unit.privsep import privsep_fixtures

UUID = 'GPU-a1000000-0000-4000-8000-000000000000'


class TestResetGpu(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.sys_admin_pctxt))
        # A fake nvidia-smi first on PATH: it records its arguments.
        bindir = self.useFixture(fixtures.TempDir()).path
        self.record = os.path.join(bindir, 'args')
        script = os.path.join(bindir, 'nvidia-smi')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho "$@" > %s\n'
                    'case "$*" in *0000:99:00.0*) echo "busy GPU" >&2; '
                    'exit 3;; esac\necho "GPU reset"\n' % self.record)
        os.chmod(script, stat.S_IRWXU)
        self.useFixture(fixtures.EnvironmentVariable(
            'PATH', bindir + os.pathsep + os.environ['PATH']))
        self.backend = nvml.NvmlBackend(self.conf)

    def test_runs_nvidia_smi_gpu_reset_on_the_pci_address(self):
        self.backend.reset_gpu(UUID, '0000:41:00.0')
        with open(self.record) as f:
            self.assertEqual('--gpu-reset -i 0000:41:00.0', f.read().strip())

    def test_failure_is_a_refusal_with_the_command_output(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.reset_gpu, UUID,
                                  '0000:99:00.0')
        self.assertEqual('RESET_FAILED', error.code)
        self.assertIn('busy GPU', str(error))
        self.assertIn('nvidia-smi --gpu-reset -i 0000:99:00.0', str(error))

    def test_default_backend_names_the_command(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  gpu_base.GpuBackend.reset_gpu,
                                  self.backend, UUID, '0000:41:00.0')
        self.assertEqual('NOT_SUPPORTED', error.code)
        self.assertIn('"nvidia-smi --gpu-reset -i 0000:41:00.0"', str(error))
