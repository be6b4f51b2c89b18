"""Integrity of the GPU model catalog."""

from nova_mig.simulator import catalog
from nova_mig.simulator import exception as sim_exception
from tests import base

EXPECTED_MODELS = {
    'A100-PCIE-40GB': (0x20F110DE, 'A100', (8, 0), 20),
    'A100-SXM4-40GB': (0x20B010DE, 'A100X', (8, 0), 20),
    'A100-PCIE-80GB': (0x20B510DE, 'A100D', (8, 0), 20),
    'A100-SXM4-80GB': (0x20B210DE, 'A100DX', (8, 0), 20),
    'A30-24GB': (0x20B710DE, 'A30', (8, 0), 16),
    'H100-PCIE-80GB': (0x233110DE, 'H100', (9, 0), 32),
    'H100-SXM5-80GB': (0x233010DE, 'H100XM', (9, 0), 32),
    'H100-NVL-94GB': (0x232110DE, 'H100L', (9, 0), 32),
    'H200-SXM-141GB': (0x233510DE, 'H200X', (9, 0), 32),
    'H200-NVL-141GB': (0x233B10DE, 'H200', (9, 0), 32),
    'T4': (0x1EB810DE, 'T4', (7, 5), 0),
}


class TestCatalog(base.TestCase):

    def setUp(self):
        super().setUp()
        self.catalog = catalog.Catalog.load()

    def test_models_and_identities(self):
        self.assertEqual(set(EXPECTED_MODELS), set(self.catalog.known()))
        for key, (device_id, board, cc, vfs) in EXPECTED_MODELS.items():
            model = self.catalog.get(key)
            self.assertEqual(device_id, model.pci_device_id, key)
            self.assertEqual(device_id >> 16, model.pci_device, key)
            self.assertEqual(board, model.board, key)
            self.assertEqual(cc, model.compute_capability, key)
            self.assertEqual(vfs, model.sriov_totalvfs, key)

    def test_profiles_fit_and_are_unique(self):
        for model in self.catalog.models.values():
            if not model.mig_capable:
                self.assertIsNone(model.memory_slices, model.key)
                continue
            ids = [p.id for p in model.profiles]
            names = [p.name for p in model.profiles]
            self.assertEqual(len(ids), len(set(ids)), model.key)
            self.assertEqual(len(names), len(set(names)), model.key)
            for profile in model.profiles:
                self.assertTrue(profile.placements, profile.name)
                self.assertLessEqual(profile.instance_count,
                                     len(profile.placements), profile.name)
                self.assertRegex(profile.name, r'^\d+g\.\d+gb(\+me)?$')
                self.assertEqual(int(profile.name.split('g')[0]),
                                 profile.slice_count, profile.name)
                sizes = {p.size for p in profile.placements}
                self.assertEqual(1, len(sizes), profile.name)
                for placement in profile.placements:
                    self.assertGreaterEqual(placement.start, 0)
                    self.assertLessEqual(placement.start + placement.size,
                                         model.memory_slices,
                                         '%s %s' % (model.key, profile.name))
                self.assertLessEqual(profile.memory_mb,
                                     model.memory_total_mb)

    def test_mig_guide_tables(self):
        a100 = self.catalog.get('A100-PCIE-40GB')
        self.assertEqual(
            [(19, 7), (20, 1), (15, 4), (14, 3), (9, 2), (5, 1), (0, 1)],
            [(p.id, p.instance_count) for p in a100.profiles])
        self.assertEqual([0, 4], [p.start for p in
                                  a100.profile_by_name('3g.20gb').placements])
        a30 = self.catalog.get('A30-24GB')
        self.assertEqual(4, a30.memory_slices)
        self.assertEqual({14: '1g.6gb', 21: '1g.6gb+me', 5: '2g.12gb',
                          6: '2g.12gb+me', 0: '4g.24gb'},
                         {p.id: p.name for p in a30.profiles})
        h200 = self.catalog.get('H200-SXM-141GB')
        self.assertEqual('7g.141gb', h200.profile(0).name)

    def test_vgpu_types(self):
        for model in self.catalog.models.values():
            # The largest time-sliced type takes the whole card.
            whole_gb = max(t.framebuffer_mb for t in model.vgpu_types
                           if t.gpu_instance_profile_id is None) // 1024
            self.assertLess(abs(whole_gb * 1024 - model.memory_total_mb),
                            2048, model.key)
            ids = [t.id for t in model.vgpu_types]
            self.assertEqual(len(ids), len(set(ids)), model.key)
            for vgpu_type in model.vgpu_types:
                short = catalog.short_type_name(vgpu_type.name)
                self.assertIn(vgpu_type.name.split()[0], ('NVIDIA', 'GRID'))
                self.assertGreater(vgpu_type.max_instances, 0, short)
                if vgpu_type.gpu_instance_profile_id is None:
                    match = catalog.TIME_SLICED_TYPE_RE.match(short)
                    self.assertIsNotNone(match, short)
                    self.assertEqual(model.board, match['board'])
                    gb = int(match['gb'])
                    self.assertEqual(gb * 1024, vgpu_type.framebuffer_mb)
                    self.assertEqual(whole_gb // gb, vgpu_type.max_instances,
                                     short)
                    continue
                match = catalog.MIG_TYPE_RE.match(short)
                self.assertIsNotNone(match, short)
                self.assertEqual(model.board, match['board'], short)
                profile = model.profile(vgpu_type.gpu_instance_profile_id)
                self.assertIsNotNone(profile, short)
                self.assertEqual(profile.slice_count, int(match['slices']))
                self.assertEqual(profile.name.split('.')[1].split('gb')[0],
                                 match['gb'], short)
                self.assertEqual(profile.media_extensions,
                                 match['suffix'] == 'ME', short)
                self.assertEqual(profile.instance_count,
                                 vgpu_type.max_instances, short)
            # Every MIG profile has its vGPU type.
            backed = {t.gpu_instance_profile_id for t in model.vgpu_types}
            self.assertEqual({p.id for p in model.profiles},
                             backed - {None}, model.key)

    def test_t4_is_time_sliced_only(self):
        t4 = self.catalog.get('T4')
        self.assertFalse(t4.mig_capable)
        self.assertFalse(t4.sriov)
        self.assertEqual(1, t4.vgpu_type_by_name('T4-16C').max_instances)
        self.assertEqual(4, t4.vgpu_type_by_name('GRID T4-4C').max_instances)

    def test_type_ids_distinct_across_boards(self):
        seen = {}
        for model in self.catalog.models.values():
            for vgpu_type in model.vgpu_types:
                other = seen.setdefault(vgpu_type.id, model.board)
                self.assertEqual(model.board, other, vgpu_type.id)

    def test_unknown_model(self):
        exc = self.assertRaises(sim_exception.UnknownGpuModel,
                                self.catalog.get, 'A200', '/x.yaml',
                                'gpus[0].model')
        self.assertIn("'A200'", str(exc))
        self.assertIn('gpus[0].model', str(exc))
        self.assertIn('A100-PCIE-80GB', str(exc))
        self.assertIn('T4', str(exc))
