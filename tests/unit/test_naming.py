# SPDX-License-Identifier: Apache-2.0

"""Tests of the naming scheme: resource classes, traits, flavors, reverse."""

import re

from nova_mig import naming
from tests import base

CUSTOM = re.compile(r'^CUSTOM_[A-Z0-9_]+$')
RC = 'CUSTOM_MIG_1G_10GB'
SUFFIXED = ('1g.18gb', '1g.18gb+me', '1g.18gb-me', '1g.18gb+me.all',
            '1g.18gb+gfx')


class ForwardTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.scheme = naming.Scheme.from_conf(self.conf)

    def test_mig_resource_classes(self):
        self.assertEqual(RC, self.scheme.resource_class('1g.10gb'))
        self.assertEqual('CUSTOM_MIG_1G_10GB_ME',
                         self.scheme.resource_class('1g.10gb+me'))

    def test_every_suffix_gets_a_name_of_its_own(self):
        # Plain normalisation would turn +me and -me into the same name.
        names = {p: self.scheme.resource_class(p) for p in SUFFIXED}
        self.assertEqual(len(names), len(set(names.values())), names)
        self.assertEqual('CUSTOM_MIG_1G_18GB_NOME', names['1g.18gb-me'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_MEALL', names['1g.18gb+me.all'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_GFX', names['1g.18gb+gfx'])
        self.assertEqual('CUSTOM_MIG_1G_18GB_NOME',
                         self.scheme.profile_trait('1g.18gb-me'))

    def test_profile_token(self):
        self.assertEqual('1g.10gb_NOME', naming.profile_token('1g.10gb-me'))
        self.assertEqual('1g.10gb', naming.profile_token('1g.10gb'))
        self.assertEqual('1g.10gb+xx', naming.profile_token('1g.10gb+xx'))

    def test_resource_class_for_type(self):
        for type_name, rc in (('NVIDIA A100D-3-40C', 'CUSTOM_MIG_3G_40GB'),
                              ('NVIDIA A100-1-5CME', 'CUSTOM_MIG_1G_5GB_ME'),
                              ('NVIDIA A100D-20C', 'CUSTOM_VGPU_A100D_20C'),
                              ('GRID T4-16Q', 'CUSTOM_VGPU_T4_16Q')):
            self.assertEqual(
                rc, self.scheme.resource_class_for_type(type_name))

    def test_templates_come_from_the_naming_group(self):
        self.flags(group='naming', mig_resource_class='NVIDIA_MIG_{profile}',
                   time_sliced_resource_class='TS_{type_name}',
                   profile_trait='P_{profile}', model_trait='M_{model}',
                   compute_capability_trait='CC_{major}_{minor}',
                   device_mode_trait='DM_{mode}')
        scheme = naming.Scheme.from_conf(self.conf)
        self.assertEqual(
            ['CUSTOM_NVIDIA_MIG_2G_20GB', 'CUSTOM_TS_T4_16Q',
             'CUSTOM_P_2G_20GB', 'CUSTOM_M_A100', 'CUSTOM_CC_9_0',
             'CUSTOM_DM_MDEV'],
            [scheme.resource_class('2g.20gb'),
             scheme.resource_class_for_type('GRID T4-16Q'),
             scheme.profile_trait('2g.20gb'), scheme.model_trait('A100'),
             scheme.compute_capability_trait(9, 0),
             scheme.device_mode_trait('mdev')])
        self.assertEqual('CUSTOM_M_', scheme.model_trait_prefix())
        self.assertEqual('CUSTOM_CC_', scheme.capability_trait_prefix())
        self.assertEqual('CUSTOM_DM_', scheme.mode_trait_prefix())

    def test_defaults_equal_the_option_defaults(self):
        self.assertEqual(naming.Scheme(), self.scheme)
        self.assertEqual('mig.1g.10gb', self.scheme.flavor_name('1g.10gb'))

    def test_traits(self):
        names = [
            self.scheme.profile_trait('1g.10gb+me'),
            self.scheme.model_trait('NVIDIA A100 80GB PCIe'),
            self.scheme.device_mode_trait('vendor-vfio'),
            self.scheme.compute_capability_trait(9, 0),
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
                         self.scheme.compute_capability_trait(7, 0))

    def test_extra_specs_per_mode(self):
        self.assertEqual(
            {'resources:%s' % RC: '1', 'trait:CUSTOM_GPU_A': 'required',
             naming.MANAGED_KEY: 'true'},
            naming.Scheme().extra_specs('1g.10gb', ('CUSTOM_GPU_A',)))
        self.assertEqual(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'required',
             naming.MANAGED_KEY: 'true'},
            naming.Scheme(vgpu_class=True).extra_specs('1g.10gb'))

    def test_is_managed(self):
        self.assertTrue(naming.is_managed({naming.MANAGED_KEY: 'true'}))
        self.assertFalse(naming.is_managed({naming.MANAGED_KEY: 'yes'}))
        self.assertFalse(naming.is_managed(None))


class ReverseTestCase(base.TestCase):

    def test_from_conf_reads_naming_group(self):
        self.flags(group='naming', mig_resource_class='NM_{profile}')
        scheme = naming.Scheme.from_conf(self.conf)
        self.assertEqual('CUSTOM_NM_2G_20GB',
                         scheme.resource_class('2g.20gb'))
        self.assertEqual('2g.20gb',
                         scheme.profile_of_class('CUSTOM_NM_2G_20GB'))
        self.assertIsNone(scheme.profile_of_class('CUSTOM_MIG_2G_20GB'))

    def test_reverse_round_trips_every_suffix(self):
        scheme = naming.Scheme(rc_template='GPU_{profile}_SLICE',
                               trait_template='T_{profile}')
        for profile in SUFFIXED + ('7g.141gb',):
            rc = scheme.resource_class(profile)
            self.assertEqual(profile, scheme.profile_of_class(rc), rc)
            trait = scheme.profile_trait(profile)
            self.assertEqual(profile, scheme.profile_of_trait(trait), trait)

    def test_reverse_rejects_foreign_names(self):
        scheme = naming.Scheme()
        for name in ('CUSTOM_MIG_FOO', 'VGPU', 'CUSTOM_VGPU_A100D_20C',
                     'CUSTOM_MIG_1G_10GB_XYZ', 'CUSTOM_MIG_0G_10GB'):
            self.assertIsNone(scheme.profile_of_class(name), name)

    def test_template_without_field_names_nothing(self):
        scheme = naming.Scheme(rc_template='FIXED')
        self.assertIsNone(scheme.profile_of_class('CUSTOM_FIXED'))
        self.assertEqual('CUSTOM_FIXED', naming.template_prefix('FIXED'))

    def test_profile_of_specs_reads_both_forms_and_groups(self):
        scheme = naming.Scheme()
        self.assertEqual('1g.10gb', scheme.profile_of_specs(
            {'resources1:%s' % RC: '1'}))
        self.assertEqual('1g.10gb', scheme.profile_of_specs(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'required'}))
        # A forbidden profile trait does not ask for the profile.
        self.assertIsNone(scheme.profile_of_specs(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'forbidden'}))
        # A required profile trait without VGPU asks for nothing.
        self.assertIsNone(scheme.profile_of_specs(
            {'trait:%s' % RC: 'required'}))
        self.assertIsNone(scheme.profile_of_specs({'hw:cpu_policy': 'x'}))
        self.assertIsNone(scheme.profile_of_specs(None))
