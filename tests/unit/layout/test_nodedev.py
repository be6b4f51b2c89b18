"""Tests of the libvirt node-device persistence of vGPU devices."""

from unittest import mock

import libvirt

from nova_mig.layout import nodedev
from tests import base as test_base


def _error(code: int) -> libvirt.libvirtError:
    error = libvirt.libvirtError('boom')
    error.err = (code, 0, 'boom', 0, '', '', '', 0, 0)
    return error


class TestNodeDevices(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = mock.Mock()
        self.devices = nodedev.NodeDevices('qemu:///system')
        self.devices._conn = self.conn

    def test_define_with_autostart(self):
        self.assertTrue(self.devices.define(
            'a1b2c3d4-0000-4000-8000-000000000000', '0000:41:00.4',
            'nvidia-754'))
        xml = self.conn.nodeDeviceDefineXML.call_args[0][0]
        self.assertIn('<parent>pci_0000_41_00_4</parent>', xml)
        self.assertIn("<type id='nvidia-754'/>", xml)
        self.conn.nodeDeviceDefineXML.return_value.setAutostart \
            .assert_called_once_with(1)

    def test_unsupported_is_skipped_quietly(self):
        self.conn.nodeDeviceDefineXML.side_effect = _error(
            libvirt.VIR_ERR_NO_SUPPORT)
        self.assertFalse(self.devices.define('u', '0000:41:00.4', 't'))
        self.assertFalse(self.devices.define('v', '0000:41:00.5', 't'))
        self.assertEqual(1, self.conn.nodeDeviceDefineXML.call_count)
        self.assertEqual([], self.devices.warnings)

    def test_other_errors_warn(self):
        self.conn.nodeDeviceDefineXML.side_effect = _error(
            libvirt.VIR_ERR_INTERNAL_ERROR)
        self.assertFalse(self.devices.define('u', '0000:41:00.4', 't'))
        self.assertIn('could not be defined in libvirt', self.devices
                      .warnings[0])

    def test_names(self):
        self.assertEqual(['mdev_a_b_0000_41_00_4', 'mdev_a_b'],
                         nodedev.mdev_names('a-b', '0000:41:00.4'))
