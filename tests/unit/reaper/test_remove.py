# SPDX-License-Identifier: Apache-2.0

"""Tests of removing one device and its persistent definition."""

import os

import libvirt

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig.reaper import decide
from nova_mig.reaper import removal
from tests import base
from tests.unit.host import fakes as host_fakes
from tests.unit.reaper import fakes

LONG_B1 = 'mdev_bbbbbbbb_0000_4000_8000_000000000001_0000_5e_00_0'
SHORT_B1 = 'mdev_bbbbbbbb_0000_4000_8000_000000000001'


class RemoverTestCase(base.TestCase):
    """A Remover over a plain sysfs folder and a fake libvirt."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmpdir, 'sys')
        self.mdevctl = os.path.join(self.tmpdir, 'mdevctl.d')
        self.flags(mdevctl_root=self.mdevctl, group='reaper')
        self.conn = host_fakes.FakeConnection()
        self.libvirt = self.useFixture(host_fakes.FakeLibvirt(self.conn))
        self.backend = host_fakes.FakeBackend(self.conf, [], self.root,
                                              'qemu:///system')
        self.remover = removal.Remover(self.conf, self.backend)

    def make(self, *parts, value=''):
        path = os.path.join(self.root, *parts)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(value)
        return path

    def definition(self, parent, uuid):
        path = os.path.join(self.mdevctl, parent, uuid)
        os.makedirs(os.path.dirname(path))
        with open(path, 'w') as f:
            f.write('{"mdev_type": "nvidia-235", "start": "auto"}')
        return path


class TestRemoveMdev(RemoverTestCase):

    def test_removes_and_deletes_mdevctl_definition(self):
        remove_file = self.make(sysfs.MDEV_DEVICES, fakes.B1, 'remove')
        definition = self.definition(fakes.GPU1, fakes.B1)
        self.assertEqual(['sysfs remove', 'mdevctl definition deleted'],
                         self.remover.remove(fakes.mdev(fakes.B1, fakes.GPU1)))
        self.assertEqual([(remove_file, '1')], self.backend.writer.writes)
        self.assertFalse(os.path.exists(definition))
        # Idempotent: a second run finds nothing left to do.
        os.unlink(remove_file)
        os.rmdir(os.path.dirname(remove_file))
        self.assertEqual(['sysfs: already gone'],
                         self.remover.remove(fakes.mdev(fakes.B1, fakes.GPU1)))
        self.assertEqual(1, len(self.backend.writer.writes))

    def test_failed_write_names_errno(self):
        # The kernel's "remove" attribute of a busy device refuses writes.
        os.makedirs(os.path.join(self.root, sysfs.MDEV_DEVICES, fakes.B1,
                                 'remove'))
        e = self.assertRaises(exception.SysfsWriteError, self.remover.remove,
                              fakes.mdev(fakes.B1, fakes.GPU1))
        self.assertIn('EISDIR', str(e))
        self.assertIn(fakes.B1, str(e))

    def test_libvirt_undefines_persistent_device(self):
        device = host_fakes.FakeNodeDevice(LONG_B1)
        self.conn.devices[LONG_B1] = device
        self.assertEqual(['libvirt undefine'],
                         self.remover.undefine(fakes.B1, fakes.GPU1))
        self.assertTrue(device.undefined)
        self.assertEqual([('open', 'qemu:///system')], self.libvirt.opened)
        self.assertTrue(self.conn.closed)

    def test_libvirt_tries_both_names(self):
        device = host_fakes.FakeNodeDevice(SHORT_B1)
        self.conn.devices[SHORT_B1] = device
        self.assertEqual(['libvirt undefine'],
                         self.remover.undefine(fakes.B1, fakes.GPU1))
        self.assertTrue(device.undefined)

    def test_known_node_device_name_is_used(self):
        device = host_fakes.FakeNodeDevice('mdev_other')
        self.conn.devices['mdev_other'] = device
        self.assertEqual(['libvirt undefine'], self.remover.undefine(
            fakes.B1, fakes.GPU1, name='mdev_other'))
        self.assertTrue(device.undefined)

    def test_libvirt_cannot_undefine_mdevctl_file_deleted(self):
        self.conn.devices[LONG_B1] = host_fakes.FakeNodeDevice(
            LONG_B1, undefine_error=host_fakes.libvirt_error(
                libvirt.VIR_ERR_NO_SUPPORT))
        definition = self.definition(fakes.GPU1, fakes.B1)
        self.assertEqual(['mdevctl definition deleted'],
                         self.remover.undefine(fakes.B1, fakes.GPU1))
        self.assertFalse(os.path.exists(definition))

    def test_libvirt_refusal_is_an_error(self):
        self.conn.devices[LONG_B1] = host_fakes.FakeNodeDevice(
            LONG_B1, undefine_error=host_fakes.libvirt_error(
                libvirt.VIR_ERR_INTERNAL_ERROR))
        self.assertRaises(exception.LibvirtError, self.remover.undefine,
                          fakes.B1, fakes.GPU1)

    def test_libvirt_unreachable_is_an_error(self):
        self.libvirt.open_error = host_fakes.libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR)
        e = self.assertRaises(exception.LibvirtError, self.remover.undefine,
                              fakes.B1, fakes.GPU1)
        self.assertIn('qemu:///system', str(e))


class OneAnswerLibvirt:
    """A libvirt wrapper and its opener: records, answers one outcome."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.opened = []
        self.asked = []
        self.closed = False

    def __call__(self, uri, read_only=True):
        self.opened.append((uri, read_only))
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.closed = True

    def undefine_node_device(self, names):
        self.asked.append(list(names))
        return self.outcome


class TestLibvirtOpener(RemoverTestCase):

    def test_given_opener_used_read_write(self):
        fake = OneAnswerLibvirt(virt.UNDEFINED)
        remover = removal.Remover(self.conf, self.backend, libvirt=fake)
        self.assertEqual(['libvirt undefine'],
                         remover.undefine(fakes.B1, fakes.GPU1))
        self.assertEqual([('qemu:///system', False)], fake.opened)
        self.assertEqual([[LONG_B1, SHORT_B1]], fake.asked)
        self.assertTrue(fake.closed)
        # The default wrapper (over the fake libvirt module) is not used.
        self.assertEqual([], self.libvirt.opened)

    def test_transient_node_device_falls_back_to_mdevctl_file(self):
        fake = OneAnswerLibvirt(virt.TRANSIENT)
        definition = self.definition(fakes.GPU1, fakes.B1)
        remover = removal.Remover(self.conf, self.backend, libvirt=fake)
        self.assertEqual(['mdevctl definition deleted'],
                         remover.undefine(fakes.B1, fakes.GPU1))
        self.assertFalse(os.path.exists(definition))


class TestRemoveVendorVfio(RemoverTestCase):

    def test_writes_zero_to_current_type(self):
        path = self.make(sysfs.PCI_DEVICES, '0000:1b:00.5', 'nvidia',
                         'current_vgpu_type', value='1414\n')
        facts = decide.DeviceFacts(key='0000:1b:00.5',
                                   kind=constants.MODE_VENDOR_VFIO,
                                   parent='0000:1b:00.5', type_id='x')
        self.assertEqual(['current_vgpu_type = 0'],
                         self.remover.remove(facts))
        self.assertEqual([(path, '0')], self.backend.writer.writes)
        self.assertEqual(['current_vgpu_type: already 0'],
                         self.remover.remove(facts))
        self.assertEqual(1, len(self.backend.writer.writes))
        # No libvirt definition to touch for a VF.
        self.assertEqual([], self.libvirt.opened)
