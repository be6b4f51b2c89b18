# SPDX-License-Identifier: Apache-2.0

"""Tests of the privileged NVML entrypoints, over a privsep-like channel."""

from nova_mig import privsep
from nova_mig.privsep import nvml_calls
from nova_mig.privsep import nvml_lib
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml
from tests.unit.privsep import privsep_fixtures


class TestEntrypoints(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.nvml_pctxt))
        self.empty = fake_cards.a100_80gb(index=0)
        self.busy = fake_cards.busy_a100()
        self.busy.uuid = 'GPU-b0000000-0000-4000-8000-000000000000'
        self.fake = self.useFixture(fake_pynvml.FakeNvmlFixture(
            [self.empty, self.busy])).fake

    def test_error_crosses_as_call_failed(self):
        error = self.assertRaises(nvml_lib.NvmlCallFailed,
                                  nvml_calls.destroy_gpu_instance,
                                  self.busy.uuid, 2)
        self.assertEqual(('nvmlGpuInstanceDestroy', self.busy.uuid,
                          'IN_USE'),
                         (error.call, error.gpu, error.code))
        self.assertEqual(['nova_mig.privsep.nvml_calls.destroy_gpu_instance'],
                         self.privsep.channel.calls)

    def test_returns_plain_values(self):
        gi = nvml_calls.create_gpu_instance(self.empty.uuid, 5, 0, 4)
        self.assertEqual({'profile_id': 5, 'start': 0, 'size': 4},
                         {k: gi[k] for k in ('profile_id', 'start', 'size')})
        ci = nvml_calls.create_compute_instance(self.empty.uuid, gi['id'])
        self.assertEqual({'id', 'profile_id'}, set(ci))

    def test_arguments_outside_their_domain_are_refused(self):
        uuid = self.empty.uuid
        before = self.fake.snapshot()
        for func, args, reason in (
                (nvml_calls.create_gpu_instance, ('GPU-1', 5),
                 'refused GPU UUID'),
                (nvml_calls.create_gpu_instance, (uuid + '\n', 5),
                 'refused GPU UUID'),
                (nvml_calls.create_gpu_instance, (uuid, -5),
                 'refused profile ID'),
                (nvml_calls.create_gpu_instance, (uuid, 5, 0, 0),
                 'refused placement size'),
                (nvml_calls.create_gpu_instance, (uuid, 5, None, 4),
                 'refused placement start'),
                (nvml_calls.destroy_gpu_instance, (uuid, 2 ** 32),
                 'refused GPU instance ID'),
                (nvml_calls.create_compute_instance, (uuid, '1'),
                 'refused GPU instance ID'),
                (nvml_calls.destroy_compute_instance, (uuid, 1, True),
                 'refused compute instance ID'),
                (nvml_calls.set_mig_mode, (uuid, 1), 'refused MIG mode'),
                (nvml_calls.reset_gpu, (uuid, '0000:41:00.0; reboot'),
                 'refused PCI address')):
            error = self.assertRaises(PermissionError, func, *args)
            self.assertIn(reason, str(error))
        self.assertEqual(before, self.fake.snapshot())


class TestSriovManageCheck(test_base.TestCase):
    """What may run as root as sriov-manage: root's file, root's folders."""

    def tool(self, name='sriov-manage', mode=0o755):
        import os
        folder = os.path.join(self.tmpdir, 'nvidia')
        os.makedirs(folder, mode=0o755, exist_ok=True)
        os.chmod(folder, 0o755)
        path = os.path.join(folder, name)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(path, mode)
        return path

    def test_refusals(self):
        import os
        if os.geteuid() != 0:
            self.skipTest('the files must be root\'s: run as root')
        for bad in ('sriov-manage', '/bin/sh', self.tool('other-name'),
                    self.tool(mode=0o777)):
            e = self.assertRaises(PermissionError,
                                  nvml_calls.check_sriov_manage, bad)
            self.assertIn('sriov-manage', str(e))
        good = self.tool()
        self.assertEqual(os.path.realpath(good),
                         nvml_calls.check_sriov_manage(good))
        os.chmod(os.path.dirname(good), 0o777)
        e = self.assertRaises(PermissionError,
                              nvml_calls.check_sriov_manage, good)
        self.assertIn("is not root's alone", str(e))
