# SPDX-License-Identifier: Apache-2.0

"""Tests for the libvirt wrapper, over a fake libvirt connection."""

import libvirt

from nova_mig import exception
from nova_mig.host import virt
from tests import base
from tests.unit.host import fakes

UUID1 = 'a1b2c3d4-0000-4000-8000-000000000001'
UUID2 = 'a1b2c3d4-0000-4000-8000-000000000002'
UUID3 = 'a1b2c3d4-0000-4000-8000-000000000003'
LONG2 = 'mdev_%s_0000_41_00_4' % UUID2.replace('-', '_')


def domains():
    return [
        fakes.FakeDomain('not-nova', fakes.domain_xml(
            'not-nova', fakes.MDEV % UUID3.upper(), nova=False),
            state=libvirt.VIR_DOMAIN_PAUSED),
        fakes.FakeDomain('instance-00000001', fakes.domain_xml(
            'instance-00000001', fakes.MDEV % UUID1 + fakes.MDEV % UUID2)),
        fakes.FakeDomain('instance-00000002', fakes.domain_xml(
            'instance-00000002', fakes.PCI),
            state=libvirt.VIR_DOMAIN_SHUTOFF, persistent=False),
    ]


def node_devices():
    short = 'mdev_' + UUID1.replace('-', '_')
    return [
        fakes.FakeNodeDevice('pci_0000_41_00_4', fakes.PARENT),
        fakes.FakeNodeDevice(LONG2, fakes.mdev_device_xml(LONG2, UUID2)),
        fakes.FakeNodeDevice(short, fakes.mdev_device_xml(short, UUID1)
                             .replace('</capability>', '<parent_addr>'
                                      '0000:41:00.5</parent_addr>'
                                      '</capability>')),
        fakes.FakeNodeDevice('mdev_not_a_uuid'),
    ]


class TestReads(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = fakes.FakeConnection(domains(), node_devices())
        self.libvirt = self.useFixture(fakes.FakeLibvirt(self.conn))
        self.host = virt.LibvirtHost('qemu:///system')

    def test_domains(self):
        found = self.host.domains()
        self.assertEqual(['instance-00000001', 'instance-00000002',
                          'not-nova'], [d.name for d in found])
        first, second, other = found
        self.assertEqual('running', first.state)
        self.assertTrue(first.nova_instance)
        self.assertTrue(first.persistent)
        self.assertEqual((UUID1, UUID2), first.mdev_uuids)
        self.assertEqual((), first.pci_addresses)
        self.assertEqual('shutoff', second.state)
        self.assertFalse(second.persistent)
        self.assertEqual(('0000:c1:00.4',), second.pci_addresses)
        self.assertEqual('paused', other.state)
        self.assertFalse(other.nova_instance)
        # UUIDs are compared lower-case whatever the XML says.
        self.assertEqual((UUID3,), other.mdev_uuids)

    def test_reads_open_one_read_only_connection(self):
        with self.host:
            self.host.domains()
            self.host.mdev_node_devices()
        self.assertEqual([('openReadOnly', 'qemu:///system')],
                         self.libvirt.opened)
        self.assertTrue(self.conn.closed)

    def test_domains_using(self):
        self.assertEqual(['instance-00000001'], [
            d.name for d in self.host.domains_using(mdev_uuid=UUID2)])
        self.assertEqual(['not-nova'], [
            d.name for d in self.host.domains_using(mdev_uuid=UUID3)])
        self.assertEqual(['instance-00000002'], [
            d.name for d in self.host.domains_using(
                pci_address='0000:c1:00.4')])
        # Same bus, other function: the XML is parsed, the domain is not it.
        self.assertEqual([], self.host.domains_using(
            pci_address='0000:c1:00.5'))
        self.assertEqual([], self.host.domains_using())

    def test_mdev_node_devices_both_name_forms(self):
        found = self.host.mdev_node_devices()
        self.assertEqual([UUID1, UUID2], [d.uuid for d in found])
        self.assertEqual(['nvidia-700', 'nvidia-700'],
                         [d.type_id for d in found])
        # The long form carries the parent in its name; the short form
        # takes it from the XML.
        self.assertEqual(['0000:41:00.5', '0000:41:00.4'],
                         [d.parent for d in found])
        self.assertEqual(LONG2, found[1].name)

    def test_unreachable(self):
        self.libvirt.open_error = fakes.libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR, 'Failed to connect socket')
        e = self.assertRaises(exception.LibvirtError, self.host.domains)
        self.assertIn('qemu:///system', str(e))
        self.assertIn('Failed to connect socket', str(e))
        self.assertIn('libvirtd', str(e))

    def test_failing_call(self):
        self.conn.error = fakes.libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR,
                                              'lost')
        for call in (self.host.domains, self.host.mdev_node_devices,
                     lambda: self.host.domains_using(mdev_uuid=UUID1)):
            e = self.assertRaises(exception.LibvirtError, call)
            self.assertIn('lost', str(e))


class TestDefinitions(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = fakes.FakeConnection(devices=node_devices())
        self.libvirt = self.useFixture(fakes.FakeLibvirt(self.conn))
        self.host = virt.LibvirtHost('qemu:///system', read_only=False)

    def test_define_with_autostart(self):
        self.assertTrue(self.host.define_mdev(UUID3, '0000:41:00.4',
                                              'nvidia-754'))
        xml, = self.conn.defined
        self.assertIn('<parent>pci_0000_41_00_4</parent>', xml)
        self.assertIn("<type id='nvidia-754'/>", xml)
        self.assertIn('<uuid>%s</uuid>' % UUID3, xml)
        self.assertEqual(1, self.conn.devices['defined-1'].autostart)
        self.assertEqual([('open', 'qemu:///system')], self.libvirt.opened)

    def test_define_unsupported_or_failing(self):
        self.conn.define_error = fakes.libvirt_error(
            libvirt.VIR_ERR_NO_SUPPORT)
        self.assertFalse(self.host.define_mdev(UUID3, '0000:41:00.4', 't'))
        self.conn.define_error = fakes.libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR)
        self.assertRaises(exception.LibvirtError, self.host.define_mdev,
                          UUID3, '0000:41:00.4', 't')

    def test_undefine_first_name_found(self):
        names = virt.mdev_names(UUID1, '0000:41:00.5')
        self.assertEqual(virt.UNDEFINED,
                         self.host.undefine_node_device(names))
        self.assertTrue(self.conn.devices[names[1]].undefined)
        self.assertEqual(virt.ABSENT, self.host.undefine_node_device(
            virt.mdev_names(UUID3, '0000:41:00.5')))

    def test_undefine_outcomes(self):
        device = self.conn.devices[LONG2]
        for code, outcome in (
                (libvirt.VIR_ERR_NO_SUPPORT, virt.UNSUPPORTED),
                (libvirt.VIR_ERR_NO_NODE_DEVICE, virt.UNSUPPORTED),
                (libvirt.VIR_ERR_OPERATION_INVALID, virt.TRANSIENT)):
            device.undefine_error = fakes.libvirt_error(code)
            self.assertEqual(outcome,
                             self.host.undefine_node_device([LONG2]))
        device.undefine_error = fakes.libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR)
        self.assertRaises(exception.LibvirtError,
                          self.host.undefine_node_device, [LONG2])

    def test_lookup_failure_is_an_error(self):
        self.conn.error = fakes.libvirt_error(libvirt.VIR_ERR_INTERNAL_ERROR)
        self.assertRaises(exception.LibvirtError,
                          self.host.undefine_node_device, [LONG2])


class TestNodeDevices(base.TestCase):
    """The best-effort persistence the layout's executor uses."""

    def setUp(self):
        super().setUp()
        self.conn = fakes.FakeConnection(devices=node_devices())
        self.useFixture(fakes.FakeLibvirt(self.conn))
        self.devices = virt.NodeDevices('qemu:///system')

    def test_define_and_undefine(self):
        self.assertTrue(self.devices.define(UUID3, '0000:41:00.4', 't'))
        self.assertTrue(self.devices.undefine(UUID2, '0000:41:00.4'))
        self.assertTrue(self.conn.devices[LONG2].undefined)
        self.assertFalse(self.devices.undefine(UUID3, None))
        self.assertEqual([], self.devices.warnings)

    def test_unsupported_is_skipped_quietly(self):
        self.conn.define_error = fakes.libvirt_error(
            libvirt.VIR_ERR_NO_SUPPORT)
        self.assertFalse(self.devices.define('u', '0000:41:00.4', 't'))
        self.conn.define_error = None
        # libvirt is not asked again.
        self.assertFalse(self.devices.define('v', '0000:41:00.5', 't'))
        self.assertFalse(self.devices.undefine(UUID2, '0000:41:00.4'))
        self.assertEqual([], self.conn.defined)
        self.assertFalse(self.conn.devices[LONG2].undefined)
        self.assertFalse(self.devices.supported)
        self.assertEqual([], self.devices.warnings)

    def test_other_errors_warn(self):
        self.conn.define_error = fakes.libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR, 'disk full')
        self.assertFalse(self.devices.define('u', '0000:41:00.4', 't'))
        self.conn.devices[LONG2].undefine_error = fakes.libvirt_error(
            libvirt.VIR_ERR_INTERNAL_ERROR, 'busy')
        self.assertFalse(self.devices.undefine(UUID2, '0000:41:00.4'))
        self.assertEqual(
            ['vGPU u was created but could not be defined in libvirt: '
             'disk full', 'vGPU %s: libvirt undefine failed: busy' % UUID2],
            self.devices.warnings)
        self.assertTrue(self.devices.supported)


class TestNames(base.TestCase):

    def test_mdev_names(self):
        self.assertEqual(['mdev_a_b_0000_41_00_4', 'mdev_a_b'],
                         virt.mdev_names('a-b', '0000:41:00.4'))
        self.assertEqual(['mdev_a_b'], virt.mdev_names('a-b', None))

    def test_parse_mdev_device_name(self):
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

    def test_device_xml_escapes(self):
        self.assertIn("<type id='a&lt;b'/>",
                      virt.mdev_device_xml('u', '0000:41:00.4', 'a<b'))
