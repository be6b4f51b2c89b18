"""Tests for resource class and trait names."""

import re

from nova_mig import naming
from tests import base

CUSTOM = re.compile(r'^CUSTOM_[A-Z0-9_]+$')


class TestNaming(base.TestCase):

    def test_mig_resource_classes(self):
        self.assertEqual('CUSTOM_MIG_1G_10GB',
                         naming.mig_resource_class(self.conf, '1g.10gb'))
        self.assertEqual('CUSTOM_MIG_1G_10GB_ME',
                         naming.mig_resource_class(self.conf, '1g.10gb+me'))
        self.assertNotEqual(
            naming.mig_resource_class(self.conf, '1g.18gb+me'),
            naming.mig_resource_class(self.conf, '1g.18gb'))

    def test_every_suffix_gets_a_name_of_its_own(self):
        # Plain normalisation would turn +me and -me into the same name.
        names = {p: naming.mig_resource_class(self.conf, p) for p in (
            '1g.18gb', '1g.18gb+me', '1g.18gb-me', '1g.18gb+me.all',
            '1g.18gb+gfx')}
        self.assertEqual(len(names), len(set(names.values())), names)
        self.assertEqual('CUSTOM_MIG_1G_18GB_NOME', names['1g.18gb-me'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_MEALL', names['1g.18gb+me.all'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_GFX', names['1g.18gb+gfx'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_NOME',
                         naming.profile_trait(self.conf, '1g.18gb-me'))

    def test_resource_class_for_type(self):
        self.assertEqual(
            'CUSTOM_MIG_3G_40GB',
            naming.resource_class_for_type(self.conf, 'NVIDIA A100D-3-40C'))
        self.assertEqual(
            'CUSTOM_VGPU_A100D_20C',
            naming.resource_class_for_type(self.conf, 'NVIDIA A100D-20C'))
        self.assertEqual(
            'CUSTOM_VGPU_T4_16Q',
            naming.resource_class_for_type(self.conf, 'GRID T4-16Q'))

    def test_templates_are_configurable(self):
        self.flags(mig_resource_class='NVIDIA_MIG_{profile}', group='naming')
        self.assertEqual('CUSTOM_NVIDIA_MIG_2G_20GB',
                         naming.mig_resource_class(self.conf, '2g.20gb'))

    def test_traits(self):
        names = [
            naming.profile_trait(self.conf, '1g.10gb+me'),
            naming.model_trait(self.conf, 'NVIDIA A100 80GB PCIe'),
            naming.device_mode_trait(self.conf, 'vendor-vfio'),
            naming.compute_capability_trait(self.conf, 9, 0),
        ]
        self.assertEqual(['CUSTOM_MIG_1G_10GB_ME',
                          'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                          'CUSTOM_VGPU_MODE_VENDOR_VFIO',
                          'CUSTOM_CUDA_COMPUTE_CAPABILITY_V9_0'], names)
        for name in names:
            self.assertRegex(name, CUSTOM)

    def test_standard_compute_capability_trait_preferred(self):
        # Turing (7.5) has no standard trait in every os-traits release,
        # Volta (7.0) has.
        self.assertEqual('HW_GPU_CUDA_COMPUTE_CAPABILITY_V7_0',
                         naming.compute_capability_trait(self.conf, 7, 0))
