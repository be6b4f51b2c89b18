# SPDX-License-Identifier: Apache-2.0

"""The libvirt wrapper against libvirt's own test driver."""

import os

import libvirt

from nova_mig import exception
from nova_mig.host import virt
from tests import base
from tests.unit.host import fakes

UUID1 = 'a1b2c3d4-0000-4000-8000-000000000001'
UUID2 = 'a1b2c3d4-0000-4000-8000-000000000002'
UUID3 = 'a1b2c3d4-0000-4000-8000-000000000003'


class TestLibvirtHost(base.TestCase):

    def setUp(self):
        super().setUp()
        domains = [
            fakes.domain_xml('instance-00000001',
                             fakes.MDEV % UUID1 + fakes.MDEV % UUID2),
            fakes.domain_xml('instance-00000002', fakes.PCI,
                             state=libvirt.VIR_DOMAIN_SHUTOFF),
            fakes.domain_xml('not-nova', fakes.MDEV % UUID3.upper(),
                             nova=False, state=libvirt.VIR_DOMAIN_PAUSED),
        ]
        devices = [
            fakes.PARENT,
            fakes.mdev_device_xml('mdev_' + UUID1.replace('-', '_'), UUID1),
            fakes.mdev_device_xml(
                'mdev_%s_0000_41_00_4' % UUID2.replace('-', '_'), UUID2),
        ]
        self.path = os.path.join(self.tmpdir, 'host.xml')
        with open(self.path, 'w') as f:
            f.write('<node>%s%s</node>' % (''.join(domains), ''.join(devices)))
        self.host = virt.LibvirtHost('test://' + self.path)
        self.addCleanup(self.host.close)

    def test_domains(self):
        domains = {d.name: d for d in self.host.domains()}
        self.assertEqual(['instance-00000001', 'instance-00000002',
                          'not-nova'], sorted(domains))
        first = domains['instance-00000001']
        self.assertEqual('running', first.state)
        self.assertTrue(first.nova_instance)
        self.assertEqual((UUID1, UUID2), first.mdev_uuids)
        self.assertEqual((), first.pci_addresses)
        second = domains['instance-00000002']
        self.assertEqual('shutoff', second.state)
        self.assertEqual(('0000:c1:00.4',), second.pci_addresses)
        other = domains['not-nova']
        self.assertEqual('paused', other.state)
        self.assertFalse(other.nova_instance)
        # UUIDs are compared lower-case whatever the XML says.
        self.assertEqual((UUID3,), other.mdev_uuids)

    def test_domains_using(self):
        self.assertEqual(['instance-00000002'], [
            d.name for d in self.host.domains_using(
                pci_address='0000:c1:00.4')])
        self.assertEqual(['not-nova'], [
            d.name for d in self.host.domains_using(mdev_uuid=UUID3)])

    def test_mdev_node_devices_both_name_forms(self):
        devices = self.host.mdev_node_devices()
        self.assertEqual([UUID1, UUID2], [d.uuid for d in devices])
        self.assertEqual(['nvidia-700', 'nvidia-700'],
                         [d.type_id for d in devices])
        # The long form carries the parent in its name.
        self.assertEqual('0000:41:00.4', devices[1].parent)

    def test_test_driver_cannot_persist_node_devices(self):
        devices = virt.NodeDevices('test://' + self.path)
        self.addCleanup(devices.close)
        self.assertFalse(devices.define(UUID3, '0000:41:00.4', 'nvidia-700'))
        self.assertEqual([], devices.warnings)

    def test_unreachable(self):
        host = virt.LibvirtHost('test:///nonexistent/host.xml')
        e = self.assertRaises(exception.LibvirtError, host.domains)
        self.assertIn('test:///nonexistent/host.xml', str(e))
        self.assertIn('libvirtd', str(e))
