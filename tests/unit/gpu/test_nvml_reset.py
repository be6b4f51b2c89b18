# SPDX-License-Identifier: Apache-2.0

"""The NVML backend's GPU reset: nvidia-smi through the privsep daemon.

The command is the daemon's own (``nvidia-smi --gpu-reset -i <PCI>``, with
nvidia-smi from a fixed list of paths); the caller names only the GPU and
its PCI address, which must be the one NVML gives that GPU.
"""

import errno
import os
import stat

import fixtures

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.gpu import nvml
from nova_mig import privsep
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml
from tests.unit.privsep import privsep_fixtures

UUID = 'GPU-a1000000-0000-4000-8000-000000000000'
BUSY = 'GPU-a1000001-0000-4000-8000-000000000000'


class TestResetGpu(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.nvml_pctxt))
        self.useFixture(fake_pynvml.FakeNvmlFixture(
            [fake_cards.a100_80gb(index=0), fake_cards.a100_80gb(index=1)]))
        # A fake nvidia-smi as the daemon's tool: it records its arguments.
        # One on PATH must never run.
        bindir = self.useFixture(fixtures.TempDir()).path
        self.record = os.path.join(bindir, 'args')
        script = os.path.join(bindir, 'nvidia-smi')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho "$@" > %s\n'
                    'case "$*" in *0000:42:00.0*) echo "busy GPU" >&2; '
                    'exit 3;; esac\necho "GPU reset"\n' % self.record)
        os.chmod(script, stat.S_IRWXU)
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.nvml_calls.RESET_TOOLS',
            (os.path.join(bindir, 'absent'), script)))
        self.useFixture(fixtures.EnvironmentVariable('PATH', '/nonexistent'))
        self.backend = nvml.NvmlBackend(self.conf)

    def test_runs_nvidia_smi_gpu_reset_on_the_pci_address(self):
        self.backend.reset_gpu(UUID, '0000:41:00.0')
        with open(self.record) as f:
            self.assertEqual('--gpu-reset -i 0000:41:00.0', f.read().strip())
        self.assertEqual(['nova_mig.privsep.nvml_calls.reset_gpu'],
                         self.privsep.channel.calls)

    def test_failure_is_a_refusal_with_the_command_output(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.reset_gpu, BUSY,
                                  '0000:42:00.0')
        self.assertEqual('RESET_FAILED', error.code)
        self.assertIn('busy GPU', str(error))
        self.assertIn('nvidia-smi --gpu-reset -i 0000:42:00.0', str(error))

    def test_another_gpus_address_or_a_hostile_one_is_refused(self):
        for uuid, address, reason in (
                (UUID, '0000:42:00.0', 'GPU %s is at 0000:41:00.0' % UUID),
                (UUID, '0000:41:00.0 -r', 'refused PCI address'),
                (UUID, '--help', 'refused PCI address'),
                ('GPU-1; reboot', '0000:41:00.0', 'refused GPU UUID')):
            error = self.assertRaises(PermissionError, self.backend.reset_gpu,
                                      uuid, address)
            self.assertEqual(errno.EACCES, error.errno)
            self.assertIn(reason, str(error))
        self.assertFalse(os.path.exists(self.record))

    def test_no_installed_tool_is_a_refusal(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.nvml_calls.RESET_TOOLS',
            ('/nonexistent/nvidia-smi',)))
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.reset_gpu, UUID,
                                  '0000:41:00.0')
        self.assertIn('nvidia-smi is not installed as any of '
                      '/nonexistent/nvidia-smi', str(error))

    def test_default_backend_names_the_command(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  backend_api.GpuBackend.reset_gpu,
                                  self.backend, UUID, '0000:41:00.0')
        self.assertEqual('NOT_SUPPORTED', error.code)
        self.assertIn('"nvidia-smi --gpu-reset -i 0000:41:00.0"', str(error))
