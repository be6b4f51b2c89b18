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

    def test_type_names_for_profile(self):
        names = ['NVIDIA A100D-1-10C', 'NVIDIA A100D-1-10CME',
                 'NVIDIA A100D-10C', 'GRID A100D-1-10C']
        self.assertEqual(['NVIDIA A100D-1-10C', 'GRID A100D-1-10C'],
                         vgpu_types.type_names_for_profile('1g.10gb', names))
