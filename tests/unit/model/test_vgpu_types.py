# SPDX-License-Identifier: Apache-2.0

"""Tests for mapping vGPU type names to MIG profiles."""

import testscenarios

from nova_mig.model import vgpu_types
from tests import base

load_tests = testscenarios.load_tests_apply_scenarios


class TestMigBackedNames(base.TestCase):
    """Every board prefix, vendor prefix and suffix form of facts.md §3."""

    scenarios = [
        ('a100', dict(raw='A100-1-5C', profile='1g.5gb', board='A100')),
        ('a100_me', dict(raw='A100-1-5CME', profile='1g.5gb+me',
                         board='A100')),
        ('a100x', dict(raw='A100X-2-10C', profile='2g.10gb', board='A100X')),
        ('a100d_grid', dict(raw='GRID A100D-1-10C', profile='1g.10gb',
                            board='A100D')),
        ('a100d_nvidia', dict(raw='NVIDIA A100D-3-40C', profile='3g.40gb',
                              board='A100D')),
        ('a100dx', dict(raw='NVIDIA A100DX-7-80C', profile='7g.80gb',
                        board='A100DX')),
        ('a30', dict(raw='NVIDIA A30-2-12CME', profile='2g.12gb+me',
                     board='A30')),
        ('h100', dict(raw='NVIDIA H100-4-40C', profile='4g.40gb',
                      board='H100')),
        ('h100xm', dict(raw='NVIDIA H100XM-1-10C', profile='1g.10gb',
                        board='H100XM')),
        ('h100l', dict(raw='NVIDIA H100L-1-24C', profile='1g.24gb',
                       board='H100L')),
        ('h100xl', dict(raw='NVIDIA H100XL-3-47C', profile='3g.47gb',
                        board='H100XL')),
        ('h200', dict(raw='NVIDIA H200-1-18CME', profile='1g.18gb+me',
                      board='H200')),
        ('h200x', dict(raw='NVIDIA H200X-7-141C', profile='7g.141gb',
                       board='H200X')),
        ('meall', dict(raw='NVIDIA H200X-1-18CMEALL', profile='1g.18gb+me.all',
                       board='H200X')),
        ('nome', dict(raw='NVIDIA H200X-1-18CNOME', profile='1g.18gb-me',
                      board='H200X')),
        ('gfx', dict(raw='NVIDIA H200X-1-18CGFX', profile='1g.18gb+gfx',
                     board='H200X')),
        ('whitespace', dict(raw='  NVIDIA  A100D-1-20C\n', profile='1g.20gb',
                            board='A100D')),
    ]

    def test_parse(self):
        parsed = vgpu_types.parse(self.raw)
        self.assertIsNotNone(parsed)
        self.assertTrue(parsed.mig_backed)
        self.assertEqual(self.board, parsed.board)
        self.assertEqual(self.profile, parsed.profile)
        self.assertEqual(self.profile, vgpu_types.profile_for(self.raw))


class TestTimeSlicedNames(base.TestCase):

    scenarios = [
        ('a100d', dict(raw='NVIDIA A100D-20C', gb=20, series='C')),
        ('t4_grid', dict(raw='GRID T4-16Q', gb=16, series='Q')),
        ('t4_b', dict(raw='GRID T4-1B', gb=1, series='B')),
        ('h100', dict(raw='NVIDIA H100XM-80C', gb=80, series='C')),
    ]

    def test_time_sliced(self):
        parsed = vgpu_types.parse(self.raw)
        self.assertIsNotNone(parsed)
        self.assertFalse(parsed.mig_backed)
        self.assertIsNone(parsed.profile)
        self.assertEqual(self.gb, parsed.framebuffer_gb)
        self.assertEqual(self.series, parsed.series)
        self.assertIsNone(vgpu_types.profile_for(self.raw))


class TestMappingRules(base.TestCase):

    def test_unknown_forms(self):
        for raw in ('', 'nvidia-699', 'NVIDIA', 'A100D-1-10', 'A100D-0-10C',
                    'A100D-1-10CXYZ', 'i915-GVTg_V5_4'):
            self.assertIsNone(vgpu_types.parse(raw), raw)
            self.assertIsNone(vgpu_types.profile_for(raw), raw)

    def test_never_by_type_id(self):
        # The same name maps the same whatever ID a driver gives the type,
        # and an ID alone maps to nothing.
        self.assertIsNone(vgpu_types.profile_for('nvidia-699'))
        self.assertEqual('1g.10gb', vgpu_types.profile_for('A100D-1-10C'))

    def test_profile_checked_against_gpu(self):
        profiles = {'1g.10gb', '1g.10gb+me', '2g.20gb'}
        self.assertEqual('1g.10gb+me', vgpu_types.profile_for(
            'NVIDIA A100D-1-10CME', profiles))
        # A name-derived profile the GPU does not offer is not mapped.
        self.assertIsNone(vgpu_types.profile_for('NVIDIA A100-1-5C',
                                                 profiles))

    def test_meall_is_not_me(self):
        self.assertNotEqual(vgpu_types.profile_for('H200X-1-18CMEALL'),
                            vgpu_types.profile_for('H200X-1-18CME'))


def _gpu(pci_device_id, profile_names, type_names):
    from nova_mig.model import gpu_records
    profiles = tuple(gpu_records.GpuInstanceProfile(
        id=n, name=name, slice_count=int(name[0]), memory_mb=1024,
        instance_count=1, multiprocessor_count=1,
        placements=(gpu_records.Placement(0, 1),))
        for n, name in enumerate(profile_names))
    types = tuple(gpu_records.VgpuType(
        100 + n, name, None, 1024, 1, profile_from_driver=False)
        for n, name in enumerate(type_names))
    return gpu_records.Gpu(
        index=0, pci_address='0000:41:00.0', uuid='GPU-0', name='card',
        pci_device_id=pci_device_id, memory_total_mb=1, compute_capability=(
            12, 0), mig_current=1, mig_pending=1, profiles=profiles,
        vgpu_types=types)


class TestGfxAmbiguity(base.TestCase):
    """Without NVML's mapping, a name that may need +gfx is not guessed."""

    def test_rtx_pro_6000_by_pci_id_even_without_gfx_profiles(self):
        # Old bindings list no +gfx profile: the PCI ID still tells.
        gpu = _gpu(0x2BB510DE, ['1g.24gb'], ['NVIDIA DC-1-24Q'])
        found = vgpu_types.backing('NVIDIA DC-1-24Q', gpu)
        self.assertIsNone(found.profile)
        self.assertEqual(vgpu_types.MAPPING_UNKNOWN, found.mapping)
        self.assertIn('vGPU type DC-1-24Q on GPU 0000:41:00.0 (card)',
                      found.reason)
        self.assertEqual(found.reason, vgpu_types.unknown_among(
            ['NVIDIA DC-24Q', 'NVIDIA DC-1-24Q'], gpu))
        # Time-sliced names are not MIG-backed: nothing to guess.
        self.assertEqual(vgpu_types.MAPPING_NAME, vgpu_types.backing(
            'NVIDIA DC-24Q', gpu).mapping)

    def test_rtx_pro_4500_is_not_a_6000(self):
        # Same "DC" prefix, another PCI ID and no +gfx profile: the name
        # rule holds.
        gpu = _gpu(0x2C3A10DE, ['1g.16gb', '2g.32gb'], ['NVIDIA DC-1-16Q'])
        found = vgpu_types.backing('NVIDIA DC-1-16Q', gpu)
        self.assertEqual(('1g.16gb', vgpu_types.MAPPING_NAME),
                         (found.profile, found.mapping))
        self.assertIsNone(vgpu_types.unknown_among(['DC-1-16Q'], gpu))

    def test_any_card_with_gfx_profiles_and_no_gfx_names(self):
        gpu = _gpu(0x12345678, ['1g.24gb', '1g.24gb+gfx'], ['X-1-24Q'])
        self.assertEqual(vgpu_types.MAPPING_UNKNOWN,
                         vgpu_types.backing('X-1-24Q', gpu).mapping)
        gfx = _gpu(0x12345678, ['1g.24gb', '1g.24gb+gfx'],
                   ['X-1-24Q', 'X-1-24QGFX'])
        self.assertEqual(['1g.24gb', '1g.24gb+gfx'], [
            vgpu_types.backing(n, gfx).profile
            for n in ('X-1-24Q', 'X-1-24QGFX')])
