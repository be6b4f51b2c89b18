"""Tests of removing one device and its persistent definition."""

import os
from unittest import mock

import libvirt

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.reaper import decide
from nova_mig.reaper import remove
from nova_mig.simulator import backend as simulated
from tests.unit.reaper import fakes


def mdev(uuid, parent, node=None):
    return decide.DeviceFacts(key=uuid, kind=decide.KIND_MDEV,
                              parent=parent, type_id='nvidia-235',
                              libvirt_node_device=node)


class FakeLibvirtError(libvirt.libvirtError):

    def __init__(self, code):
        Exception.__init__(self, 'code %d' % code)
        self.code = code

    def get_error_code(self):
        return self.code

    def get_error_message(self):
        return 'code %d' % self.code


class TestRemoveMdev(fakes.ReaperTestCase):

    def setUp(self):
        super().setUp()
        self.remover = remove.Remover(self.conf, self.backend)

    def test_removes_and_deletes_mdevctl_definition(self):
        definition = os.path.join(self.conf.reaper.mdevctl_root, fakes.GPU1,
                                  fakes.B1)
        os.makedirs(os.path.dirname(definition))
        with open(definition, 'w') as f:
            f.write('{"mdev_type": "nvidia-235", "start": "auto"}')
        steps = self.remover.remove(mdev(fakes.B1, fakes.GPU1))
        # The test driver cannot undefine: the mdevctl file is deleted.
        self.assertEqual(['sysfs remove', 'mdevctl definition deleted'],
                         steps)
        self.assertFalse(self.mdev_exists(fakes.B1))
        self.assertFalse(os.path.exists(definition))
        self.assertTrue(self.mdev_exists(fakes.B2))
        # Idempotent: a second run finds nothing left to do.
        self.assertEqual(['sysfs: already gone'],
                         self.remover.remove(mdev(fakes.B1, fakes.GPU1)))

    def test_in_use_device_trips_the_simulated_kernel(self):
        e = self.assertRaises(exception.SysfsWriteError, self.remover.remove,
                              mdev(fakes.A1, fakes.GPU0))
        self.assertIn('EBUSY', str(e))
        self.assertTrue(self.mdev_exists(fakes.A1))

    def test_libvirt_undefines_persistent_device(self):
        conn = mock.Mock()
        dev = conn.nodeDeviceLookupByName.return_value
        with mock.patch.object(libvirt, 'open', return_value=conn):
            steps = self.remover.undefine(fakes.B1, fakes.GPU1)
        self.assertEqual(['libvirt undefine'], steps)
        dev.undefine.assert_called_once_with()
        conn.nodeDeviceLookupByName.assert_called_once_with(
            'mdev_bbbbbbbb_0000_4000_8000_000000000001_0000_5e_00_0')

    def test_libvirt_tries_both_names(self):
        conn = mock.Mock()
        conn.nodeDeviceLookupByName.side_effect = [
            FakeLibvirtError(libvirt.VIR_ERR_NO_NODE_DEVICE), mock.Mock()]
        with mock.patch.object(libvirt, 'open', return_value=conn):
            self.assertEqual(['libvirt undefine'],
                             self.remover.undefine(fakes.B1, fakes.GPU1))
        self.assertEqual('mdev_bbbbbbbb_0000_4000_8000_000000000001',
                         conn.nodeDeviceLookupByName.call_args[0][0])

    def test_libvirt_refusal_is_an_error(self):
        conn = mock.Mock()
        conn.nodeDeviceLookupByName.return_value.undefine.side_effect = \
            FakeLibvirtError(libvirt.VIR_ERR_INTERNAL_ERROR)
        with mock.patch.object(libvirt, 'open', return_value=conn):
            self.assertRaises(exception.LibvirtError, self.remover.undefine,
                              fakes.B1, fakes.GPU1)

    def test_node_device_names(self):
        self.assertEqual(
            ['mdev_ab_cd_0000_41_00_4', 'mdev_ab_cd'],
            remove.node_device_names('ab-cd', '0000:41:00.4'))


class TestRemoveVendorVfio(fakes.ReaperTestCase):

    host_file = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                             'etc', 'nova-mig', 'hosts',
                             'h200-vendor-vfio.yaml')

    def test_writes_zero_to_current_type(self):
        backend = simulated.SimulatedBackend(self.conf)
        remover = remove.Remover(self.conf, backend)
        path = os.path.join(backend.sysfs_root(), sysfs.PCI_DEVICES,
                            '0000:1b:00.5', 'nvidia', 'current_vgpu_type')
        self.assertNotEqual('0', open(path).read().strip())
        facts = decide.DeviceFacts(key='0000:1b:00.5',
                                   kind=decide.KIND_VENDOR_VFIO,
                                   parent='0000:1b:00.5', type_id='x')
        self.assertEqual(['current_vgpu_type = 0'], remover.remove(facts))
        path = os.path.join(backend.sysfs_root(), sysfs.PCI_DEVICES,
                            '0000:1b:00.5', 'nvidia', 'current_vgpu_type')
        self.assertEqual('0', open(path).read().strip())
        self.assertEqual(['current_vgpu_type: already 0'],
                         remover.remove(facts))
