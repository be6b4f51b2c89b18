# SPDX-License-Identifier: Apache-2.0

"""nvml_lib's GPU-instance profile reads against the fake libnvidia-ml."""

import fixtures
import pynvml

from nova_mig.privsep import nvml_lib
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml


def h200_like() -> fake_cards.Gpu:
    """An A100-80GB fake with an H200's memory: names need go-nvlib's rule."""
    gpu = fake_cards.a100_80gb()
    gpu.memory_mb = 143771
    memory = {'1g.10gb': 16384, '1g.10gb+me': 16384, '1g.20gb': 33280,
              '2g.20gb': 33280, '3g.40gb': 71424, '4g.40gb': 71424,
              '7g.80gb': 143104}
    for profile in gpu.profiles:
        profile.memory_mb = memory[profile.name[len('MIG '):]]
    return gpu


class TestMigMemoryGb(test_base.TestCase):

    def test_go_nvlib_rounding(self):
        mib = 1024 * 1024
        # H200 141GB: eighths of the card, not ceil(MiB / 1024).
        self.assertEqual(18, nvml_lib.mig_memory_gb(143771 * mib, 16384))
        self.assertEqual(35, nvml_lib.mig_memory_gb(143771 * mib, 33280))
        self.assertEqual(71, nvml_lib.mig_memory_gb(143771 * mib, 71424))
        self.assertEqual(141, nvml_lib.mig_memory_gb(143771 * mib, 143104))
        # A100 80GB and 40GB, H100 80GB: the names nvidia-smi prints.
        self.assertEqual(10, nvml_lib.mig_memory_gb(81920 * mib, 9728))
        self.assertEqual(40, nvml_lib.mig_memory_gb(81920 * mib, 40192))
        self.assertEqual(5, nvml_lib.mig_memory_gb(40960 * mib, 4864))
        self.assertEqual(10, nvml_lib.mig_memory_gb(81559 * mib, 9984))
        # A30: 1g.6gb, 2g.12gb.
        self.assertEqual(6, nvml_lib.mig_memory_gb(24576 * mib, 5949))
        self.assertEqual(12, nvml_lib.mig_memory_gb(24576 * mib, 11971))

    def test_unknown_total_falls_back_to_gib(self):
        self.assertEqual(16, nvml_lib.mig_memory_gb(0, 16384))


class TestProfileInfos(test_base.TestCase):

    def use_fake(self, gpu: fake_cards.Gpu) -> fake_pynvml.FakeNvml:
        fake = self.useFixture(fake_pynvml.FakeNvmlFixture([gpu])).fake
        nvml_lib.init()
        self.addCleanup(nvml_lib.shutdown)
        self.handle = nvml_lib.handle_by_index(0)
        return fake

    def test_version_1_names_round_like_go_nvlib(self):
        fake = self.use_fake(h200_like())
        fake.remove('nvmlDeviceGetGpuInstanceProfileInfoV')
        names = {p['id']: p['name']
                 for p in nvml_lib.profile_infos(self.handle, '0')}
        self.assertEqual({19: '1g.18gb', 20: '1g.18gb', 15: '1g.35gb',
                          14: '2g.35gb', 9: '3g.71gb', 5: '4g.71gb',
                          0: '7g.141gb'}, names)

    def test_version_2_names_come_from_the_driver(self):
        fake = self.use_fake(h200_like())
        infos = nvml_lib.profile_infos(self.handle, '0')
        self.assertEqual('1g.10gb+me',
                         {p['id']: p['name'] for p in infos}[20])
        self.assertNotIn('nvmlDeviceGetMemoryInfo', fake.calls)

    def test_gfx_profiles_listed_with_13x_enums(self):
        self.use_fake(fake_cards.rtx_pro_6000())
        names = {p['name'] for p in nvml_lib.profile_infos(self.handle,
                                                           '0')}
        self.assertIn('1g.24gb+gfx', names)
        self.assertIn('4g.96gb+gfx', names)

    def test_12_535_bindings_never_see_gfx_profiles(self):
        # Why requirements.txt asks for nvidia-ml-py 13.x: with 12.535's
        # NVML_GPU_INSTANCE_PROFILE_COUNT (0xA) the loop stops before the
        # +gfx enums (0xA, 0xB, 0xC).
        self.useFixture(fixtures.MonkeyPatch(
            'pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT', 0xA))
        self.use_fake(fake_cards.rtx_pro_6000())
        names = {p['name'] for p in nvml_lib.profile_infos(self.handle,
                                                           '0')}
        self.assertEqual({'1g.24gb', '2g.48gb', '4g.96gb'}, names)

    def test_installed_bindings_know_the_gfx_enums(self):
        self.assertGreaterEqual(pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT, 0x11)
        self.assertEqual(0xA, pynvml.NVML_GPU_INSTANCE_PROFILE_1_SLICE_GFX)
