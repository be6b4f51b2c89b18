"""Tests for the libvirt reader, through the real libvirt test driver."""

import os

from nova_mig import exception
from nova_mig.host import virt
from tests import base

UUID1 = 'a1b2c3d4-0000-4000-8000-000000000001'
UUID2 = 'a1b2c3d4-0000-4000-8000-000000000002'
UUID3 = 'a1b2c3d4-0000-4000-8000-000000000003'

DOMAIN = """
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>%(name)s</name>
    <memory>1048576</memory><vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    %(metadata)s
    <devices>%(devices)s</devices>
    <test:runstate>%(state)d</test:runstate>
  </domain>"""
NOVA_METADATA = """<metadata>
      <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
        <nova:name>vm</nova:name>
      </nova:instance></metadata>"""
MDEV = """<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
        <source><address uuid='%s'/></source></hostdev>"""
PCI = """<hostdev mode='subsystem' type='pci' managed='no'>
        <source><address domain='0x0000' bus='0xc1' slot='0x00'
                         function='0x4'/></source></hostdev>"""
PARENT = """
  <device>
    <name>pci_0000_41_00_4</name>
    <parent>computer</parent>
    <capability type='pci'>
      <domain>0</domain><bus>65</bus><slot>0</slot><function>4</function>
      <product id='0x20b5'>GA100</product>
      <vendor id='0x10de'>NVIDIA Corporation</vendor>
      <capability type='mdev_types'>
        <type id='nvidia-700'><name>NVIDIA A100D-1-10C</name>
          <deviceAPI>vfio-pci</deviceAPI>
          <availableInstances>0</availableInstances></type>
      </capability>
    </capability>
  </device>"""
MDEV_DEVICE = """
  <device>
    <name>%(name)s</name>
    <parent>pci_0000_41_00_4</parent>
    <capability type='mdev'>
      <type id='nvidia-700'/>
      <uuid>%(uuid)s</uuid>
      <iommuGroup number='12'/>
    </capability>
  </device>"""


class TestLibvirtHost(base.TestCase):

    def setUp(self):
        super().setUp()
        domains = [
            DOMAIN % dict(name='instance-00000001', metadata=NOVA_METADATA,
                          devices=MDEV % UUID1 + MDEV % UUID2, state=1),
            DOMAIN % dict(name='instance-00000002', metadata=NOVA_METADATA,
                          devices=PCI, state=5),
            DOMAIN % dict(name='not-nova', metadata='',
                          devices=MDEV % UUID3.upper(), state=3),
        ]
        devices = [
            PARENT,
            MDEV_DEVICE % dict(name='mdev_' + UUID1.replace('-', '_'),
                               uuid=UUID1),
            MDEV_DEVICE % dict(
                name='mdev_%s_0000_41_00_4' % UUID2.replace('-', '_'),
                uuid=UUID2),
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

    def test_mdev_node_devices_both_name_forms(self):
        devices = self.host.mdev_node_devices()
        self.assertEqual([UUID1, UUID2], [d.uuid for d in devices])
        self.assertEqual(['nvidia-700', 'nvidia-700'],
                         [d.type_id for d in devices])
        # The long form carries the parent in its name.
        self.assertEqual('0000:41:00.4', devices[1].parent)

    def test_unreachable(self):
        host = virt.LibvirtHost('test:///nonexistent/host.xml')
        e = self.assertRaises(exception.LibvirtError, host.domains)
        self.assertIn('test:///nonexistent/host.xml', str(e))
        self.assertIn('libvirtd', str(e))


class TestParsers(base.TestCase):

    def test_mdev_names(self):
        self.assertEqual(
            (UUID1, None),
            virt.parse_mdev_device_name('mdev_' + UUID1.replace('-', '_')))
        self.assertEqual(
            (UUID1, '0000:41:00.4'),
            virt.parse_mdev_device_name(
                'mdev_%s_0000_41_00_4' % UUID1.replace('-', '_')))
        self.assertIsNone(virt.parse_mdev_device_name('pci_0000_41_00_4'))
        self.assertIsNone(virt.parse_mdev_device_name('mdev_1234'))

    def test_domain_xml_without_devices(self):
        self.assertEqual(((), (), False), virt.parse_domain_xml(
            '<domain><name>x</name></domain>'))
