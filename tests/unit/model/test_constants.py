# SPDX-License-Identifier: Apache-2.0

"""Tests of the shared constants and name patterns."""

from nova_mig.model import constants
from tests import base


class ProfileTestCase(base.TestCase):

    def test_is_profile(self):
        for good in ('3g.40gb', '1g.10gb+me', '1g.10gb-me', '1g.10gb+me.all',
                     '1g.24gb+gfx', '7g.141gb'):
            self.assertTrue(constants.is_profile(good), good)
        for bad in ('big', '1g.10GB', '0g.10gb', '1g.10gb+xx', '1g.0gb',
                    '1g.10gb+me+me', '', None):
            self.assertFalse(constants.is_profile(bad), bad)

    def test_groups(self):
        match = constants.PROFILE_RE.match('2g.20gb+me.all')
        self.assertEqual(('2', '20', '+me.all'),
                         (match['slices'], match['gb'], match['suffix']))

    def test_every_type_suffix_maps_to_a_profile_suffix(self):
        for type_suffix, profile_suffix in constants.MIG_SUFFIXES.items():
            self.assertTrue(
                constants.is_profile('1g.10gb' + profile_suffix), type_suffix)


class PciAddressTestCase(base.TestCase):

    def test_valid_slots_and_functions(self):
        for good in ('0000:41:00.0', '0000:41:00.4', '0000:41:1f.7',
                     '0000:41:0a.1', 'ffff:ff:10.0'):
            self.assertTrue(constants.is_pci_address(good), good)

    def test_invalid_forms(self):
        # Slot has 5 bits (00-1f), function 3 bits (0-7), lower-case hex.
        for bad in ('0000:41:20.0', '0000:41:00.8', '0000:41:00.A',
                    '0000:4G:00.0', '000:41:00.0', '0000:41:00', '',
                    '0000:41:00.0 ', None, 41):
            self.assertFalse(constants.is_pci_address(bad), bad)

    def test_groups(self):
        match = constants.PCI_ADDRESS_RE.match('0000:41:1f.7')
        self.assertEqual({'domain': '0000', 'bus': '41', 'slot': '1f',
                          'function': '7'}, match.groupdict())

    def test_uuid(self):
        self.assertTrue(constants.is_uuid(
            '8f1c5e2a-6b0d-4d7e-9a51-3c2b7e4f1d90'))
        for bad in ('8F1C5E2A-6B0D-4D7E-9A51-3C2B7E4F1D90',
                    '8f1c5e2a6b0d4d7e9a513c2b7e4f1d90', 'x', None):
            self.assertFalse(constants.is_uuid(bad), bad)


class NamesTestCase(base.TestCase):

    def test_libvirt_names(self):
        self.assertEqual('pci_0000_41_00_4',
                         constants.libvirt_pci_name('0000:41:00.4'))
        self.assertEqual('mdev_a_b', constants.libvirt_mdev_name('a-b'))
        self.assertEqual('mdev_a_b_0000_41_00_4',
                         constants.libvirt_mdev_name('a-b', '0000:41:00.4'))

    def test_provider_names(self):
        self.assertEqual('cn1_pci_0000_41_00_4',
                         constants.mdev_provider_name('cn1', '0000:41:00.4'))
        self.assertEqual('cn1_pci_',
                         constants.mdev_provider_name('cn1', ''))
        self.assertEqual('cn1_0000:C1:00.0',
                         constants.pci_provider_name('cn1', '0000:c1:00.0'))

    def test_provider_address_reverses_both_names(self):
        for address in ('0000:41:00.4', '0000:1b:00.0'):
            self.assertEqual(address, constants.provider_address(
                'h', constants.mdev_provider_name('h', address)))
        self.assertEqual('0000:1B:00.0', constants.provider_address(
            'h', constants.pci_provider_name('h', '0000:1b:00.0')))
        for name in ('h', 'hx_pci_0000_41_00_4', 'h_pci_0000_41',
                     'h_gpu0'):
            self.assertIsNone(constants.provider_address('h', name), name)
