# SPDX-License-Identifier: Apache-2.0

"""The NVML backend's vGPU reads: the driver's type -> profile mapping."""

import pynvml

from nova_mig import exception
from nova_mig.gpu import nvml
from nova_mig.model import vgpu_types
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml


class TestDriverMapping(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.card = fake_cards.rtx_pro_6000()
        fake_cards.add_gpu_instance(self.card, 1, 47, 0)      # 1g.24gb+gfx
        fake_cards.add_gpu_instance(self.card, 2, 35, 2)      # 2g.48gb+gfx
        self.fake = self.useFixture(
            fake_pynvml.FakeNvmlFixture([self.card])).fake
        self.backend = nvml.NvmlBackend(self.conf)
        self.addCleanup(self.backend.close)

    def read(self):
        (gpu,) = self.backend.list_gpus()
        return gpu

    def test_profile_from_the_driver_not_the_name(self):
        gpu = self.read()
        # The name rule maps DC-1-24Q to 1g.24gb (no vGPU type runs there)
        # and DC-2-12C to a profile that does not exist.
        self.assertEqual('1g.24gb', vgpu_types.profile_for('DC-1-24Q'))
        self.assertEqual(
            vgpu_types.Backing('1g.24gb+gfx', 1, vgpu_types.MAPPING_DRIVER),
            vgpu_types.backing('NVIDIA RTX Pro 6000 Blackwell DC-1-24Q', gpu))
        self.assertEqual(
            vgpu_types.Backing('2g.48gb+gfx', 2, vgpu_types.MAPPING_DRIVER),
            vgpu_types.backing('DC-2-12C', gpu))
        self.assertEqual(
            vgpu_types.Backing(None, 0, vgpu_types.MAPPING_DRIVER),
            vgpu_types.backing('DC-24Q', gpu))

    def test_per_gpu_instance_maximum(self):
        types = {vgpu_types.bare_name(t.name): t
                 for t in self.read().vgpu_types}
        self.assertEqual(3, types['DC-1-8Q'].max_instances_per_gi)
        self.assertEqual(1, types['DC-1-24Q'].max_instances_per_gi)
        # Not asked for time-sliced types.
        self.assertIsNone(types['DC-24Q'].max_instances_per_gi)

    def test_creatable_vgpus_per_gpu_instance(self):
        self.card.active_vgpus.append(fake_cards.ActiveVgpu(
            9, fake_cards.MDEV, 1402, 1))
        gis = {gi.id: gi for gi in self.read().gpu_instances}
        # One DC-1-8Q on GI 1: only that type, with room for two more.
        self.assertEqual((1402,), gis[1].creatable_vgpu_types)
        self.assertEqual((1403,), gis[2].creatable_vgpu_types)

    def test_creatable_vgpus_full_gpu_instance(self):
        for n in range(3):
            self.card.active_vgpus.append(fake_cards.ActiveVgpu(
                9 + n, fake_cards.MDEV[:-1] + str(n), 1402, 1))
        gis = {gi.id: gi for gi in self.read().gpu_instances}
        self.assertEqual((), gis[1].creatable_vgpu_types)

    def test_older_driver_without_the_calls(self):
        self.fake.remove('nvmlVgpuTypeGetMaxInstancesPerGpuInstance')
        self.fake.remove('nvmlGpuInstanceGetCreatableVgpus')
        gpu = self.read()
        self.assertEqual({None}, {t.max_instances_per_gi
                                  for t in gpu.vgpu_types})
        self.assertEqual({None}, {gi.creatable_vgpu_types
                                  for gi in gpu.gpu_instances})
        # The profile ID still comes from the driver; one vGPU per GI.
        self.assertEqual(
            vgpu_types.Backing('1g.24gb+gfx', 1, vgpu_types.MAPPING_DRIVER),
            vgpu_types.backing('DC-1-8Q', gpu))

    def test_not_supported_reads_as_unknown(self):
        self.fake.fail('nvmlVgpuTypeGetMaxInstancesPerGpuInstance',
                       pynvml.NVML_ERROR_NOT_SUPPORTED)
        self.fake.fail('nvmlGpuInstanceGetCreatableVgpus',
                       pynvml.NVML_ERROR_NOT_SUPPORTED)
        gpu = self.read()
        self.assertEqual({None}, {t.max_instances_per_gi
                                  for t in gpu.vgpu_types})
        self.assertEqual({None}, {gi.creatable_vgpu_types
                                  for gi in gpu.gpu_instances})

    def test_no_profile_id_call_falls_back_to_the_name(self):
        self.fake.remove('nvmlVgpuTypeGetGpuInstanceProfileId')
        gpu = self.read()
        self.assertEqual({False}, {t.profile_from_driver
                                   for t in gpu.vgpu_types})
        # The name rule would answer 1g.24gb, but on an RTX PRO 6000 whose
        # names say no GFX the type may need 1g.24gb+gfx: no guess.
        found = vgpu_types.backing('DC-1-24Q', gpu)
        self.assertEqual((None, vgpu_types.MAPPING_UNKNOWN),
                         (found.profile, found.mapping))
        self.assertIn('install nvidia-ml-py 11.460.79 or later', found.reason)

    def test_other_errors_are_not_hidden(self):
        self.fake.fail('nvmlGpuInstanceGetCreatableVgpus',
                       pynvml.NVML_ERROR_UNKNOWN)
        self.assertRaises(exception.NvmlError, self.read)


class TestFakeAnswersLikeTheLibrary(test_base.TestCase):
    """The pynvml wrappers themselves, on the fake library."""

    def setUp(self):
        super().setUp()
        self.card = fake_cards.rtx_pro_6000()
        self.fake = self.useFixture(
            fake_pynvml.FakeNvmlFixture([self.card])).fake
        pynvml.nvmlInit()
        self.addCleanup(pynvml.nvmlShutdown)

    def test_max_per_gpu_instance(self):
        self.assertEqual(
            3, pynvml.nvmlVgpuTypeGetMaxInstancesPerGpuInstance(1402))

    def test_max_per_gpu_instance_function_not_found(self):
        self.fake.remove('nvmlVgpuTypeGetMaxInstancesPerGpuInstance')
        self.assertRaises(pynvml.NVMLError_FunctionNotFound,
                          pynvml.nvmlVgpuTypeGetMaxInstancesPerGpuInstance,
                          1402)

    def test_creatable_not_supported(self):
        fake_cards.add_gpu_instance(self.card, 1, 47, 0)
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        gi = pynvml.nvmlDeviceGetGpuInstanceById(handle, 1)
        self.fake.fail('nvmlGpuInstanceGetCreatableVgpus',
                       pynvml.NVML_ERROR_NOT_SUPPORTED)
        info = pynvml.c_nvmlVgpuTypeIdInfo_v1_t()
        info.version = pynvml.nvmlVgpuTypeIdInfo_v1
        self.assertRaises(pynvml.NVMLError_NotSupported,
                          pynvml.nvmlGpuInstanceGetCreatableVgpus, gi, info)
