# SPDX-License-Identifier: Apache-2.0

"""Integrity of the GPU model catalog."""

from nova_mig.model import constants
from nova_mig.model import vgpu_types
from nova_mig.simulator import gpu_catalog
from nova_mig.simulator import sim_exception
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
    'RTX-PRO-6000-BSE': (0x2BB510DE, 'DC', (12, 0), 48),
    'B200-SXM-180GB': (0x290110DE, 'B200X', (10, 0), 32),
    'B300-SXM-288GB': (0x318210DE, 'B300X', (10, 3), 32),
    'H20-96GB': (0x232910DE, 'H20', (9, 0), 32),
    'H100-SXM5-94GB': (0x233910DE, 'H100XL', (9, 0), 32),
    'H800-SXM-80GB': (0x232410DE, 'H800XM', (9, 0), 32),
    'A800-SXM4-80GB': (0x20F310DE, 'A800DX', (8, 0), 20),
    'GH200-96GB': (0x234210DE, 'GH200', (9, 0), 32),
    'GH200L-144GB': (0x234810DE, 'GH200L', (9, 0), 32),
    'GB200-186GB': (0x294110DE, 'GB200', (10, 0), 32),
    'GB300-278GB': (0x31C210DE, 'GB300', (10, 3), 0),
    'RTX-PRO-4500-BSE': (0x2C3A10DE, 'DC', (12, 0), 16),
    'RTX-PRO-6000-BSE-VGPU20': (0x2BB510DE, 'DC', (12, 0), 48),
}
#: Boards whose vGPU type names round the GB otherwise than the MIG
#: profile names (GB200-1-24C on 1g.23gb): by how much at most.
NAME_GB_ROUNDING = {'GB200': 3}
#: Types NVIDIA's vGPU type tables do not list (issue 13 item 3); B200X
#: and B300X have one time-sliced type, the whole GPU (gpu-operator's
#: vGPU 20.0 configmap); H20X types belong to the H20 141GB.
NOT_IN_NVIDIA_TABLES = ('A100D-5C', 'A100DX-5C', 'A30-1C', 'A30-2C',
                        'A30-3C', 'H100L-31C', 'B200X-23C', 'B200X-45C',
                        'B200X-90C', 'B300X-34C', 'B300X-67C', 'H20X-12C')


class TestCatalog(base.TestCase):

    def setUp(self):
        super().setUp()
        self.catalog = gpu_catalog.Catalog.load()

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
                self.assertTrue(constants.is_profile(profile.name),
                                profile.name)
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
            if not model.vgpu_types:
                # GB300: NVIDIA lists no vGPU type.
                continue
            # The largest time-sliced type takes the whole card.
            whole_gb = round(max(t.framebuffer_mb for t in model.vgpu_types
                                 if t.gpu_instance_profile_id is None) / 1024)
            self.assertLess(abs(whole_gb * 1024 - model.memory_total_mb),
                            2048, model.key)
            ids = [t.id for t in model.vgpu_types]
            self.assertEqual(len(ids), len(set(ids)), model.key)
            for vgpu_type in model.vgpu_types:
                short = vgpu_types.bare_name(vgpu_type.name)
                self.assertIn(vgpu_type.name.split()[0], ('NVIDIA', 'GRID'))
                self.assertGreater(vgpu_type.max_instances, 0, short)
                parsed = vgpu_types.parse(vgpu_type.name)
                self.assertIsNotNone(parsed, short)
                self.assertEqual(model.board, parsed.board, short)
                if vgpu_type.gpu_instance_profile_id is None:
                    self.assertFalse(parsed.mig_backed, short)
                    gb = parsed.framebuffer_gb
                    self.assertLessEqual(abs(gb * 1024 -
                                             vgpu_type.framebuffer_mb), 128,
                                         short)
                    # NVIDIA caps some below the framebuffer's quotient
                    # (H200X-4C: 32, not 35).
                    self.assertLessEqual(vgpu_type.max_instances,
                                         whole_gb // gb, short)
                    self.assertIsNone(vgpu_type.max_instances_per_gi, short)
                    continue
                self.assertTrue(parsed.mig_backed, short)
                profile = model.profile(vgpu_type.gpu_instance_profile_id)
                self.assertIsNotNone(profile, short)
                self.assertEqual(profile.slice_count, parsed.slices)
                per_gi = vgpu_type.max_instances_per_gi
                self.assertIsNotNone(per_gi, short)
                profile_gb = int(profile.name.split('.')[1].split('gb')[0])
                # Time-sliced MIG-backed types share one GPU instance.
                self.assertLessEqual(
                    parsed.framebuffer_gb * per_gi,
                    profile_gb + NAME_GB_ROUNDING.get(model.board, 0), short)
                if per_gi == 1:
                    self.assertLessEqual(
                        abs(profile_gb - parsed.framebuffer_gb),
                        NAME_GB_ROUNDING.get(model.board, 0), short)
                self.assertEqual(profile.media_extensions,
                                 parsed.suffix == 'ME', short)
                self.assertEqual(profile.instance_count * per_gi,
                                 vgpu_type.max_instances, short)
            # Every MIG profile has its vGPU type, except on the RTX PRO
            # 6000: under vGPU 19 only the +gfx profiles carry vGPUs, under
            # vGPU 20 the plain and +gfx ones.
            backed = {t.gpu_instance_profile_id for t in model.vgpu_types}
            gfx_names = any(vgpu_types.parse(t.name).suffix == 'GFX'
                            for t in model.vgpu_types)
            profiles = {p.id for p in model.profiles
                        if model.board != 'DC' or p.name.endswith('+gfx') or
                        (gfx_names and constants.is_profile(p.name) and
                         '+' not in p.name and '-' not in p.name)}
            self.assertEqual(profiles, backed - {None}, model.key)

    def test_types_missing_from_nvidia_tables_are_gone(self):
        names = {vgpu_types.bare_name(t.name)
                 for model in self.catalog.models.values()
                 for t in model.vgpu_types}
        for name in NOT_IN_NVIDIA_TABLES:
            self.assertNotIn(name, names)

    def test_corrections_from_nvidia_tables(self):
        for key, board in (('H200-SXM-141GB', 'H200X'),
                           ('H200-NVL-141GB', 'H200')):
            model = self.catalog.get(key)
            maxima = {vgpu_types.bare_name(t.name): t.max_instances
                      for t in model.vgpu_types}
            self.assertEqual(32, maxima[board + '-4C'])
            self.assertEqual(16, maxima[board + '-8C'])
            self.assertEqual(10, maxima[board + '-14C'])
            self.assertEqual(5, maxima[board + '-28C'])
            for name in ('1g.35gb', '2g.35gb'):
                self.assertEqual(33280, model.profile_by_name(name).memory_mb)
        h100l = self.catalog.get('H100-NVL-94GB')
        self.assertEqual(24672, h100l.vgpu_type_by_name(
            'H100L-1-24C').framebuffer_mb)
        self.assertEqual(96246, h100l.vgpu_type_by_name(
            'H100L-94C').framebuffer_mb)
        a30 = self.catalog.get('A30-24GB')
        # nvidia-smi prints MiB / 1024 with two decimals: 5.81 and 11.69.
        self.assertEqual('5.81', '%.2f' % (
            a30.profile_by_name('1g.6gb').memory_mb / 1024))
        self.assertEqual('11.69', '%.2f' % (
            a30.profile_by_name('2g.12gb').memory_mb / 1024))

    def test_rtx_pro_6000_gfx_only_types(self):
        model = self.catalog.get('RTX-PRO-6000-BSE')
        self.assertEqual(4, model.memory_slices)
        by_name = {vgpu_types.bare_name(t.name): t
                   for t in model.vgpu_types}
        for name, profile, per_gi in (('DC-1-24Q', '1g.24gb+gfx', 1),
                                      ('DC-1-8Q', '1g.24gb+gfx', 3),
                                      ('DC-2-12C', '2g.48gb+gfx', 4),
                                      ('DC-4-24Q', '4g.96gb+gfx', 4)):
            vgpu_type = by_name[name]
            self.assertEqual('NVIDIA RTX Pro 6000 Blackwell ' + name,
                             vgpu_type.name)
            self.assertEqual(profile, model.profile(
                vgpu_type.gpu_instance_profile_id).name)
            self.assertEqual(per_gi, vgpu_type.max_instances_per_gi)
        self.assertEqual({'1g.24gb', '1g.24gb+me', '1g.24gb+gfx',
                          '1g.24gb+me.all', '1g.24gb-me', '2g.48gb',
                          '2g.48gb+gfx', '2g.48gb+me.all', '2g.48gb-me',
                          '4g.96gb', '4g.96gb+gfx'},
                         {p.name for p in model.profiles})

    def test_rtx_pro_6000_vgpu20_gfx_names_map_to_gfx(self):
        model = self.catalog.get('RTX-PRO-6000-BSE-VGPU20')
        for t in model.vgpu_types:
            parsed = vgpu_types.parse(t.name)
            if not parsed.mig_backed:
                continue
            profile = model.profile(t.gpu_instance_profile_id).name
            if t.max_instances_per_gi == 1:
                # The driver's profile is the one the name says.
                self.assertEqual(profile, parsed.profile, t.name)
            self.assertEqual(parsed.suffix == 'GFX',
                             profile.endswith('+gfx'), t.name)
        self.assertEqual('1g.24gb+gfx', vgpu_types.profile_for(
            'NVIDIA RTX Pro 6000 Blackwell DC-1-24QGFX',
            {p.name for p in model.profiles}))

    def test_boards_told_apart_by_pci_id_not_prefix(self):
        rtx4500 = self.catalog.by_pci_device(0x2C3A10DE)
        self.assertEqual(['RTX-PRO-4500-BSE'], [m.key for m in rtx4500])
        self.assertEqual(rtx4500, self.catalog.by_pci_device(0x2C3A))
        self.assertEqual(['RTX-PRO-6000-BSE', 'RTX-PRO-6000-BSE-VGPU20'],
                         [m.key for m in self.catalog.by_pci_device(0x2BB5)])
        # Same board prefix, different cards.
        self.assertEqual({'DC'}, {m.board for m in self.catalog.models.values()
                                  if m.key.startswith('RTX-PRO')})
        self.assertFalse(rtx4500[0].mig_capable)
        self.assertEqual([], self.catalog.by_pci_device(0x1234))

    def test_grace_boards_from_nvidia_tables(self):
        # mig-parted config-default.yaml: profile names and counts.
        for key, table in (
                ('GH200L-144GB', ['1g.18gb', '1g.18gb+me', '1g.36gb',
                                  '2g.36gb', '3g.72gb', '4g.72gb',
                                  '7g.144gb']),
                ('GB200-186GB', ['1g.23gb', '1g.23gb+me', '1g.47gb',
                                 '2g.47gb', '3g.93gb', '4g.93gb',
                                 '7g.186gb']),
                ('GB300-278GB', ['1g.35gb', '1g.35gb+me', '1g.70gb',
                                 '2g.70gb', '3g.139gb', '4g.139gb',
                                 '7g.278gb'])):
            model = self.catalog.get(key)
            self.assertEqual(table, [p.name for p in model.profiles], key)
            self.assertEqual([7, 1, 4, 3, 2, 1, 1],
                             [p.instance_count for p in model.profiles], key)
        gh200 = self.catalog.get('GH200-96GB')
        self.assertEqual('7g.96gb', gh200.profile(0).name)
        # gpu-operator's configmap: the whole-GPU default of each board.
        for key, default in (('GH200-96GB', 'GH200-96C'),
                             ('GH200L-144GB', 'GH200L-144C'),
                             ('GB200-186GB', 'GB200-189C')):
            self.assertIsNotNone(self.catalog.get(key).vgpu_type_by_name(
                default), key)
        gb200 = self.catalog.get('GB200-186GB')
        # The name says 24 GB; the driver maps it to 1g.23gb.
        self.assertEqual('1g.23gb', gb200.profile(gb200.vgpu_type_by_name(
            'GB200-1-24C').gpu_instance_profile_id).name)

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
