# SPDX-License-Identifier: Apache-2.0

"""The simulated host's libvirt test-driver file, read by real libvirt."""

import os
from xml.etree import ElementTree

import libvirt

from tests.functional.simulator import base


class TestLibvirtXml(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        libvirt.registerErrorHandler(lambda c, e: None, None)

    def connect(self, host_file):
        backend = self.backend(host_file=base.example(host_file))
        conn = libvirt.openReadOnly(backend.libvirt_uri())
        self.addCleanup(conn.close)
        return backend, conn

    def test_a100_domains(self):
        _backend, conn = self.connect('a100-mixed.yaml')
        domains = {d.name(): d for d in conn.listAllDomains(0)}
        self.assertEqual({'instance-00000001', 'instance-00000002',
                          'monitoring'}, set(domains))
        self.assertEqual(libvirt.VIR_DOMAIN_RUNNING,
                         domains['instance-00000001'].state()[0])
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF,
                         domains['instance-00000002'].state()[0])
        xml = ElementTree.fromstring(domains['instance-00000002'].XMLDesc(0))
        uuids = [a.get('uuid') for a in xml.findall(
            "devices/hostdev[@type='mdev']/source/address")]
        self.assertEqual(['5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e02'], uuids)
        nova = '{http://openstack.org/xmlns/libvirt/nova/1.1}'
        self.assertEqual('notebook-7', xml.find(
            'metadata/%sinstance/%sname' % (nova, nova)).text)
        monitoring = ElementTree.fromstring(
            domains['monitoring'].XMLDesc(0))
        self.assertIsNone(monitoring.find('metadata'))

    def test_a100_node_devices(self):
        _backend, conn = self.connect('a100-mixed.yaml')
        mdevs = conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV)
        names = sorted(d.name() for d in mdevs)
        self.assertEqual(
            ['mdev_5b2f9c1e_8a43_4c6e_9d1f_2a7b3c4d5e01_0000_41_00_4',
             'mdev_5b2f9c1e_8a43_4c6e_9d1f_2a7b3c4d5e02_0000_41_00_5',
             'mdev_5b2f9c1e_8a43_4c6e_9d1f_2a7b3c4d5e03_0000_81_00_4'],
            names)
        parents = conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES)
        self.assertEqual(40, len(parents))
        vf = conn.nodeDeviceLookupByName('pci_0000_41_00_6')
        xml = ElementTree.fromstring(vf.XMLDesc(0))
        available = {t.find('name').text: int(
            t.find('availableInstances').text)
            for t in xml.iter('type') if t.find('name') is not None}
        self.assertEqual(1, available['NVIDIA A100D-1-10C'])
        self.assertEqual(1, available['NVIDIA A100D-2-20C'])
        self.assertEqual(0, available['NVIDIA A100D-3-40C'])
        mdev = conn.nodeDeviceLookupByName(names[0])
        self.assertEqual('pci_0000_41_00_4', mdev.parent())

    def test_mdev_name_without_parent(self):
        _backend, conn = self.connect('t4-orphans.yaml')
        names = sorted(d.name() for d in conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV))
        self.assertEqual('mdev_7e0a1c9d_4b2e_4f3a_8c5d_000000000401',
                         names[0])
        self.assertEqual(4, len(names))

    def test_vendor_vfio_has_no_mdevs(self):
        _backend, conn = self.connect('h200-vendor-vfio.yaml')
        self.assertEqual([], conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV))
        self.assertEqual([], conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV_TYPES))
        domain = conn.lookupByName('instance-00000101')
        xml = ElementTree.fromstring(domain.XMLDesc(0))
        address = xml.find("devices/hostdev[@type='pci']/source/address")
        self.assertEqual(('0x1b', '0x4'), (address.get('bus'),
                                           address.get('function')))

    def test_paused_domain_and_changes_show(self):
        backend, conn = self.connect('h100-sxm5-8x.yaml')
        self.assertEqual(libvirt.VIR_DOMAIN_PAUSED,
                         conn.lookupByName('instance-00000024').state()[0])
        self.assertEqual(12, len(conn.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV)))
        backend.sysfs_writer().write(
            self.type_dir(backend, '0000:2a:00.7', 'H100XM-1-10C') +
            '/create', base.UUID2)
        fresh = libvirt.openReadOnly(backend.libvirt_uri())
        self.addCleanup(fresh.close)
        self.assertEqual(13, len(fresh.listAllDevices(
            libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV)))

    def test_state_dir_with_a_space(self):
        state_dir = os.path.join(self.tmpdir, 'state dir %20')
        self.flags(state_dir=state_dir, group='host')
        backend, conn = self.connect('a100-mixed.yaml')
        self.assertIn('state%20dir%20%2520', backend.libvirt_uri())
        self.assertEqual(3, len(conn.listAllDomains(0)))
