# SPDX-License-Identifier: Apache-2.0

"""Tests of the NVML backend's reads against the fake libnvidia-ml."""

import fixtures
import pynvml

from nova_mig import exception
from nova_mig.gpu import nvml
from nova_mig.model import gpu_records
from nova_mig.privsep import nvml_lib
from nova_mig.privsep import sysfs_writes
from tests import base as test_base
from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_pynvml


class NvmlTestCase(test_base.TestCase):

    def use_fake(self, *gpus, **kwargs) -> fake_pynvml.FakeNvml:
        self.fake = self.useFixture(
            fake_pynvml.FakeNvmlFixture(list(gpus), **kwargs)).fake
        self.backend = nvml.NvmlBackend(self.conf)
        self.addCleanup(self.backend.close)
        return self.fake


class TestSysfsWriter(test_base.TestCase):

    def test_backend_writer_uses_configured_root(self):
        root = self.useFixture(fixtures.TempDir()).path
        self.flags(sysfs_root=root, group='host')
        writer = nvml.NvmlBackend(self.conf).sysfs_writer()
        self.assertIsInstance(writer, sysfs_writes.PrivsepSysfsWriter)
        self.assertEqual(root, writer.root)


class TestListGpus(NvmlTestCase):

    def setUp(self):
        super().setUp()
        self.use_fake(fake_cards.busy_a100(), fake_cards.t4())
        self.a100, self.t4 = self.backend.list_gpus()

    def test_identity(self):
        self.assertEqual(0, self.a100.index)
        # NVML spells the bus ID in upper case; sysfs in lower case.
        self.assertEqual('0000:41:00.0', self.a100.pci_address)
        self.assertEqual('GPU-a1000000-0000-4000-8000-000000000000',
                         self.a100.uuid)
        self.assertEqual('NVIDIA A100 80GB PCIe', self.a100.name)
        self.assertEqual(0x20B510DE, self.a100.pci_device_id)
        self.assertEqual(81920, self.a100.memory_total_mb)
        self.assertEqual((8, 0), self.a100.compute_capability)
        self.assertEqual((1, '0000:82:00.0', (7, 5)),
                         (self.t4.index, self.t4.pci_address,
                          self.t4.compute_capability))

    def test_profiles_match_the_mig_guide(self):
        self.assertTrue(self.a100.mig_enabled)
        profiles = {p.name: (p.id, p.slice_count, p.instance_count,
                             [(pl.start, pl.size) for pl in p.placements])
                    for p in self.a100.profiles}
        self.assertEqual({
            '1g.10gb': (19, 1, 7, [(s, 1) for s in range(7)]),
            '1g.10gb+me': (20, 1, 1, [(s, 1) for s in range(7)]),
            '1g.20gb': (15, 1, 4, [(0, 2), (2, 2), (4, 2), (6, 2)]),
            '2g.20gb': (14, 2, 3, [(0, 2), (2, 2), (4, 2)]),
            '3g.40gb': (9, 3, 2, [(0, 4), (4, 4)]),
            '4g.40gb': (5, 4, 1, [(0, 4)]),
            '7g.80gb': (0, 7, 1, [(0, 8)]),
        }, profiles)
        me = self.a100.profile(20)
        self.assertTrue(me.media_extensions)
        self.assertEqual((9728, 14), (me.memory_mb, me.multiprocessor_count))

    def test_gpu_instances_with_cis_and_processes(self):
        gis = {gi.id: gi for gi in self.a100.gpu_instances}
        self.assertEqual([1, 2, 3], sorted(gis))
        self.assertEqual((9, '3g.40gb', gpu_records.Placement(0, 4)),
                         (gis[1].profile_id, gis[1].profile_name,
                          gis[1].placement))
        self.assertEqual((gpu_records.ComputeInstance(0, 2),),
                         gis[1].compute_instances)
        self.assertEqual((fake_cards.PROCESS,), gis[1].processes)
        self.assertEqual((gpu_records.ComputeInstance(0, 1),),
                         gis[2].compute_instances)
        self.assertEqual((), gis[2].processes)
        self.assertEqual(('1g.10gb', gpu_records.Placement(6, 1), ()),
                         (gis[3].profile_name, gis[3].placement,
                          gis[3].compute_instances))

    def test_vgpu_types(self):
        types = {t.name: t for t in self.a100.vgpu_types}
        self.assertEqual(6, len(types))
        mig = types['NVIDIA A100D-3-40C']
        self.assertEqual((702, 9, 40960, 2),
                         (mig.id, mig.gpu_instance_profile_id,
                          mig.framebuffer_mb, mig.max_instances))
        self.assertEqual(20, types['NVIDIA A100D-1-10CME']
                         .gpu_instance_profile_id)
        # 0xFFFFFFFF: time-sliced, no GPU-instance profile.
        self.assertIsNone(types['NVIDIA A100D-20C'].gpu_instance_profile_id)

    def test_active_vgpus(self):
        self.assertEqual(
            (gpu_records.ActiveVgpu(fake_cards.MDEV, 702, 1),
             gpu_records.ActiveVgpu(fake_cards.MDEV[:-1] + '2', 710, None)),
            self.a100.active_vgpus)

    def test_non_mig_gpu(self):
        self.assertEqual((0, 0), (self.t4.mig_current, self.t4.mig_pending))
        self.assertFalse(self.t4.mig_capable)
        self.assertEqual((), self.t4.profiles)
        self.assertEqual((), self.t4.gpu_instances)
        self.assertIsNone(self.t4.vgpu_types)
        self.assertEqual((), self.t4.active_vgpus)

    def test_no_mig_calls_on_a_non_mig_gpu(self):
        self.fake.calls.clear()
        self.backend._read_gpu(1)
        mig_calls = [c for c in self.fake.calls if 'Instance' in c]
        self.assertEqual([], mig_calls)


class TestListGpusStates(NvmlTestCase):

    def test_mig_off_pending_on(self):
        gpu = fake_cards.a100_80gb(mig=0)
        gpu.mig_pending = 1
        self.use_fake(gpu)
        (result,) = self.backend.list_gpus()
        self.assertEqual((0, 1), (result.mig_current, result.mig_pending))
        self.assertFalse(result.mig_enabled)
        self.assertTrue(result.mig_capable)
        self.assertEqual((), result.gpu_instances)
        self.assertNotIn('nvmlDeviceGetGpuInstances', self.fake.calls)

    def test_mig_off_when_nvml_hides_profiles(self):
        self.use_fake(fake_cards.a100_80gb(mig=0), profiles_need_mig=True)
        (result,) = self.backend.list_gpus()
        self.assertEqual((0, 0), (result.mig_current, result.mig_pending))
        self.assertEqual((), result.profiles)

    def test_no_vgpu_manager(self):
        self.use_fake(fake_cards.a100_80gb(vgpu=False))
        (result,) = self.backend.list_gpus()
        self.assertIsNone(result.vgpu_types)
        self.assertEqual((), result.active_vgpus)
        self.assertEqual(7, len(result.profiles))

    def test_supported_vgpus_missing_from_driver(self):
        self.use_fake(fake_cards.busy_a100())
        self.fake.remove('nvmlDeviceGetSupportedVgpus')
        (result,) = self.backend.list_gpus()
        self.assertIsNone(result.vgpu_types)
        self.assertEqual((), result.active_vgpus)

    def test_vgpu_profile_id_missing_from_driver(self):
        self.use_fake(fake_cards.busy_a100())
        self.fake.remove('nvmlVgpuTypeGetGpuInstanceProfileId')
        self.fake.remove('nvmlVgpuInstanceGetGpuInstanceId')
        (result,) = self.backend.list_gpus()
        self.assertEqual([None] * 6, [t.gpu_instance_profile_id
                                      for t in result.vgpu_types])
        self.assertEqual([None, None], [v.gpu_instance_id
                                        for v in result.active_vgpus])
        self.assertEqual(fake_cards.MDEV, result.active_vgpus[0].mdev_uuid)

    def test_processes_not_supported(self):
        self.use_fake(fake_cards.busy_a100())
        self.fake.fail('nvmlDeviceGetComputeRunningProcesses_v3',
                       pynvml.NVML_ERROR_NOT_SUPPORTED)
        (result,) = self.backend.list_gpus()
        self.assertEqual([(), (), ()],
                         [gi.processes for gi in result.gpu_instances])
        self.assertEqual(3, len(result.gpu_instances))

    def test_profile_info_v1_only(self):
        self.use_fake(fake_cards.a100_80gb())
        self.fake.remove('nvmlDeviceGetGpuInstanceProfileInfoV')
        (result,) = self.backend.list_gpus()
        # In enum order: 1, 2, 3, 4, 7 slices, then 1g+me, 1g double memory.
        self.assertEqual([19, 14, 9, 5, 0, 20, 15],
                         [p.id for p in result.profiles])
        # Version 1 has no name: rebuilt from slices and memory.
        self.assertEqual('3g.40gb', result.profile(9).name)
        self.assertEqual('1g.10gb', result.profile(20).name)
        self.assertEqual(2, len(result.profile(9).placements))

    def test_placements_wrapper_returning_a_list(self):
        self.use_fake(fake_cards.a100_80gb())

        def placements(device, profile_id):
            item = pynvml.c_nvmlGpuInstancePlacement_t(3, 1)
            return [item]
        self.useFixture(fixtures.MonkeyPatch(
            'pynvml.nvmlDeviceGetGpuInstancePossiblePlacements', placements))
        (result,) = self.backend.list_gpus()
        self.assertEqual((gpu_records.Placement(3, 1),),
                         result.profile(19).placements)

    def test_library_missing(self):
        self.use_fake(library_missing=True)
        error = self.assertRaises(exception.NvmlUnavailable,
                                  self.backend.list_gpus)
        self.assertIn('NVML Shared Library Not Found', str(error))
        self.assertIn('LIBRARY_NOT_FOUND', str(error))
        self.assertIn('[gpu]backend = simulated', str(error))

    def test_unexpected_error_names_call_and_gpu(self):
        self.use_fake(fake_cards.busy_a100())
        self.fake.fail('nvmlGpuInstanceGetInfo', pynvml.NVML_ERROR_GPU_IS_LOST)
        error = self.assertRaises(exception.NvmlError,
                                  self.backend.list_gpus)
        self.assertIn('nvmlGpuInstanceGetInfo', str(error))
        self.assertIn('GPU-a1000000-0000-4000-8000-000000000000', str(error))
        self.assertIn('GPU_IS_LOST', str(error))

    def test_unexpected_error_before_uuid_names_index(self):
        self.use_fake(fake_cards.t4(), fake_cards.t4(index=2))
        self.fake.fail('nvmlDeviceGetMemoryInfo', pynvml.NVML_ERROR_UNKNOWN)
        error = self.assertRaises(exception.NvmlError,
                                  self.backend.list_gpus)
        self.assertIn('nvmlDeviceGetMemoryInfo failed on GPU 0', str(error))

    def test_vgpu_unexpected_error_is_not_hidden(self):
        self.use_fake(fake_cards.busy_a100())
        self.fake.fail('nvmlDeviceGetSupportedVgpus',
                       pynvml.NVML_ERROR_NO_PERMISSION)
        self.assertRaises(exception.NvmlError, self.backend.list_gpus)

    def test_init_once_shutdown_on_close(self):
        self.use_fake(fake_cards.t4())
        self.backend.list_gpus()
        self.backend.list_gpus()
        self.assertEqual(1, self.fake.calls.count('nvmlInitWithFlags'))
        self.assertEqual(1, self.fake.init_count)
        self.backend.close()
        self.backend.close()
        self.assertEqual(0, self.fake.init_count)
        self.assertEqual(1, self.fake.calls.count('nvmlShutdown'))

    def test_nvml_is_not_touched_before_use(self):
        self.use_fake(fake_cards.t4())
        nvml.NvmlBackend(self.conf).close()
        self.assertEqual([], self.fake.calls)


class TestHelpers(test_base.TestCase):

    def test_pci_address_from_long_bus_id(self):
        info = pynvml.nvmlPciInfo_t()
        info.busId = b'00000000:C1:00.0'
        self.assertEqual('0000:c1:00.0', nvml_lib.pci_address(info))
        info.busIdLegacy = b'0001:C1:00.0'
        self.assertEqual('0001:c1:00.0', nvml_lib.pci_address(info))

    def test_call_failed_survives_privsep_rebuild(self):
        error = nvml_lib.NvmlCallFailed('nvmlX', 'GPU-1', 'IN_USE', 'busy')
        rebuilt = type(error)(*error.args)
        self.assertEqual(('nvmlX', 'GPU-1', 'IN_USE', 'busy'),
                         (rebuilt.call, rebuilt.gpu, rebuilt.code,
                          rebuilt.reason))

    def test_code_names(self):
        self.assertEqual('INSUFFICIENT_RESOURCES', nvml_lib.CODE_NAMES[23])
        self.assertEqual('IN_USE', nvml_lib.CODE_NAMES[19])
