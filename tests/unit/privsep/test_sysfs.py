# SPDX-License-Identifier: Apache-2.0

"""The privileged sysfs entry points refuse everything outside their job.

Each entry point is called through the privsep API (a msgpack channel as
oslo.privsep's, and a real forked daemon) against a tree laid out like
``/sys`` (:mod:`tests.unit.privsep.fake_sysfs`) standing in for the
daemon's ``/sys``: the writes it should do land, and PCI addresses, UUIDs
and type names of the wrong shape, ``..``, symlinks out of the device,
devices of another vendor and values outside their domain are refused
with EACCES, leaving every file as it was.
"""

import errno
import os

import fixtures
from oslo_privsep.test import fixture as privsep_fixture

from nova_mig import privsep
from nova_mig.privsep import sysfs_writes
from tests import base as test_base
from tests.unit.privsep import fake_sysfs as fake
from tests.unit.privsep import privsep_fixtures


class SysfsTestCase(test_base.TestCase):
    privsep_fixture = privsep_fixtures.WirePrivsepFixture

    def setUp(self):
        super().setUp()
        self.paths = fake.build(self.tmpdir)
        self.root = self.paths['sys']
        # The daemon's /sys becomes the temporary tree.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.sysfs_writes.SYSFS_ROOT', self.root))
        if self.privsep_fixture:
            self.privsep = self.useFixture(
                self.privsep_fixture(privsep.sysfs_pctxt))
        self.writer = sysfs_writes.PrivsepSysfsWriter(self.root)

    def snapshot(self):
        """Every regular file below the test's folder, with its content."""
        found = {}
        for dirpath, _dirs, names in os.walk(self.tmpdir):
            for name in names:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path) and os.stat(path).st_mode & 0o444:
                    found[path] = fake.read(path)
        return found

    def assertRefused(self, reason, func, *args):
        before = self.snapshot()
        error = self.assertRaises(PermissionError, func, *args)
        self.assertEqual(errno.EACCES, error.errno)
        self.assertIn(reason, str(error))
        self.assertEqual(before, self.snapshot())
        self.assertEqual('keep', fake.read(self.paths['outside']))
        return error


class TestIntents(SysfsTestCase):

    def test_each_intent_writes_its_one_attribute(self):
        self.writer.set_sriov_numvfs(fake.NVIDIA_PF, 16)
        self.assertEqual('16', fake.read(os.path.join(self.paths['pf'],
                                                      'sriov_numvfs')))
        self.writer.create_mdev(fake.NVIDIA_PF, fake.TYPE, fake.MDEV)
        self.assertEqual(fake.MDEV, fake.read(os.path.join(
            self.paths['pf'], 'mdev_supported_types', fake.TYPE, 'create')))
        self.writer.remove_mdev(fake.MDEV)
        self.assertEqual('1', fake.read(os.path.join(self.paths['mdev'],
                                                     'remove')))
        current = os.path.join(self.paths['vf'], 'nvidia',
                               'current_vgpu_type')
        self.writer.set_vgpu_type(fake.NVIDIA_VF, 1414)
        self.assertEqual('1414', fake.read(current))
        self.writer.clear_vgpu_type(fake.NVIDIA_VF)
        self.assertEqual('0', fake.read(current))
        self.assertEqual(
            ['nova_mig.privsep.sysfs_writes.%s' % name for name in (
                'set_sriov_numvfs', 'create_mdev', 'remove_mdev',
                'set_vgpu_type', 'clear_vgpu_type')],
            self.privsep.channel.calls)

    def test_malformed_addresses_uuids_and_types_are_refused(self):
        for address in ('../../..', '0000:41:00.0/../../..', '0000:41:00.0/',
                        '0000:41:00.0\n', '0000:41:00.0 ', '0000:41:00.8',
                        '0000:41:00.0/sriov_numvfs', 41, None):
            self.assertRefused('refused PCI address',
                               self.writer.set_sriov_numvfs, address, 1)
        for uuid in ('../../outside', fake.MDEV.upper(), fake.MDEV + '/..',
                     'not-a-uuid', ''):
            self.assertRefused('refused UUID', self.writer.remove_mdev, uuid)
            self.assertRefused('refused UUID', self.writer.create_mdev,
                               fake.NVIDIA_PF, fake.TYPE, uuid)
        for type_id in ('..', 'nvidia-500/../nvidia-501', '../../../..',
                        'nvidia-0', 'intel-500', 'nvidia-500/create'):
            self.assertRefused('refused mdev type', self.writer.create_mdev,
                               fake.NVIDIA_PF, type_id, fake.MDEV)

    def test_other_vendors_and_escaping_devices_are_refused(self):
        self.assertRefused('vendor 0x8086 is not NVIDIA',
                           self.writer.set_sriov_numvfs, fake.INTEL_PF, 1)
        self.assertRefused('vendor 0x8086 is not NVIDIA',
                           self.writer.create_mdev, fake.INTEL_PF, fake.TYPE,
                           fake.MDEV)
        self.assertRefused('vendor 0x8086 is not NVIDIA',
                           self.writer.remove_mdev, fake.INTEL_MDEV)
        # Entries that lead out of the tree, and devices that do not exist.
        self.assertRefused('no such device below',
                           self.writer.set_sriov_numvfs, fake.ESCAPED, 1)
        self.assertRefused('no such device below',
                           self.writer.remove_mdev, fake.ESCAPED_MDEV)
        # An absent device is ENOENT, as a device gone under the writer.
        e = self.assertRaises(FileNotFoundError, self.writer.set_vgpu_type,
                              '0000:99:00.4', 5)
        self.assertIn('no PCI device 0000:99:00.4', str(e))
        e = self.assertRaises(FileNotFoundError, self.writer.remove_mdev,
                              'c0ffee00-0000-4000-8000-0000000000ff')
        self.assertIn('no mdev', str(e))

    def test_symlinks_out_of_the_device_are_refused(self):
        # sriov_numvfs links to a file outside the tree.
        self.assertRefused('outside the device',
                           self.writer.set_sriov_numvfs, fake.LINKED, 1)
        # An mdev type folder that is another device's.
        self.assertRefused('outside the device', self.writer.create_mdev,
                           fake.NVIDIA_PF, fake.FOREIGN_TYPE, fake.MDEV)

    def test_values_outside_their_domain_are_refused(self):
        for count in (-1, 17, 2 ** 40, True, '4', 1.0, None):
            self.assertRefused('refused VF count',
                               self.writer.set_sriov_numvfs,
                               fake.NVIDIA_PF, count)
        for type_id in (0, -1, 2 ** 32, '1414', True, 1414.0):
            self.assertRefused('refused vGPU type ID',
                               self.writer.set_vgpu_type, fake.NVIDIA_VF,
                               type_id)

    def test_absent_attribute_is_enoent_and_not_created(self):
        # The Intel-free NVIDIA VF has no SR-IOV, and no such type.
        e = self.assertRaises(OSError, self.writer.set_sriov_numvfs,
                              fake.NVIDIA_VF, 1)
        self.assertEqual(errno.ENOENT, e.errno)
        e = self.assertRaises(OSError, self.writer.create_mdev,
                              fake.NVIDIA_PF, 'nvidia-999', fake.MDEV)
        self.assertEqual(errno.ENOENT, e.errno)
        self.assertFalse(os.path.exists(os.path.join(
            self.paths['pf'], 'mdev_supported_types', 'nvidia-999')))

    def test_other_root_is_changed_without_privsep(self):
        other = fake.build(os.path.join(self.tmpdir, 'copy'))
        sysfs_writes.PrivsepSysfsWriter(other['sys']).set_sriov_numvfs(
            fake.NVIDIA_PF, 4)
        self.assertEqual('4', fake.read(os.path.join(other['pf'],
                                                     'sriov_numvfs')))
        self.assertEqual([], self.privsep.channel.calls)
        # With the same checks.
        self.assertRefused('vendor 0x8086 is not NVIDIA',
                           sysfs_writes.PrivsepSysfsWriter(other['sys']).
                           set_sriov_numvfs, fake.INTEL_PF, 1)


class TestIntentsInTheDaemon(SysfsTestCase):
    """A real (forked, unprivileged) privsep daemon of the sysfs context."""

    privsep_fixture = None

    def setUp(self):
        super().setUp()
        self.useFixture(privsep_fixture.UnprivilegedPrivsepFixture(
            privsep.sysfs_pctxt, {}))

    def test_writes_and_refusals_cross_the_daemon(self):
        self.writer.set_sriov_numvfs(fake.NVIDIA_PF, 2)
        self.assertEqual('2', fake.read(os.path.join(self.paths['pf'],
                                                     'sriov_numvfs')))
        self.assertRefused("refused PCI address '../..'",
                           self.writer.set_sriov_numvfs, '../..', 2)
        self.assertRefused('outside the device',
                           self.writer.set_sriov_numvfs, fake.LINKED, 1)
        error = self.assertRaises(FileNotFoundError,
                                  self.writer.create_mdev, fake.NVIDIA_PF,
                                  'nvidia-999', fake.MDEV)
        self.assertIn('nvidia-999', str(error))
