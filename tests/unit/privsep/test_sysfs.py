"""Tests of the privileged sysfs writer."""

import errno
import os

import fixtures
from oslo_privsep.test import fixture as privsep_fixture

from nova_mig import privsep
from nova_mig.privsep import sysfs
from tests import base as test_base
from tests.unit.privsep import privsep_fixtures


class SysfsTestCase(test_base.TestCase):
    privsep_fixture = privsep_fixtures.DirectPrivsepFixture

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmpdir, 'sys')
        os.makedirs(os.path.join(self.root, 'bus'))
        self.target = os.path.join(self.root, 'bus', 'remove')
        with open(self.target, 'w') as f:
            f.write('')
        # The daemon's only writable tree becomes the temporary one.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.sysfs.SYSFS_ROOT', self.root))
        if self.privsep_fixture:
            self.privsep = self.useFixture(
                self.privsep_fixture(privsep.sys_admin_pctxt))
        self.writer = sysfs.PrivsepSysfsWriter(self.root)

    def read(self, path):
        with open(path) as f:
            return f.read()


class TestPrivsepSysfsWriter(SysfsTestCase):

    def test_write(self):
        self.writer.write(self.target, '1')
        self.assertEqual('1', self.read(self.target))

    def test_missing_file_is_not_created(self):
        missing = os.path.join(self.root, 'bus', 'create')
        error = self.assertRaises(OSError, self.writer.write, missing, 'x')
        self.assertEqual(errno.ENOENT, error.errno)
        self.assertEqual(missing, error.filename)
        self.assertFalse(os.path.exists(missing))

    def test_path_outside_root_is_refused(self):
        outside = os.path.join(self.tmpdir, 'outside')
        with open(outside, 'w') as f:
            f.write('keep')
        for path in (outside, os.path.join(self.root, '..', 'outside')):
            error = self.assertRaises(OSError, self.writer.write, path, 'x')
            self.assertEqual(errno.EACCES, error.errno)
        self.assertEqual('keep', self.read(outside))

    def test_symlink_out_of_root_is_refused(self):
        outside = os.path.join(self.tmpdir, 'outside')
        with open(outside, 'w') as f:
            f.write('keep')
        link = os.path.join(self.root, 'bus', 'link')
        os.symlink(outside, link)
        error = self.assertRaises(OSError, self.writer.write, link, 'x')
        self.assertEqual(errno.EACCES, error.errno)
        self.assertEqual('keep', self.read(outside))


class TestPrivsepSysfsWriterOverTheWire(TestPrivsepSysfsWriter):
    privsep_fixture = privsep_fixtures.WirePrivsepFixture

    def test_write_through_entrypoint(self):
        self.writer.write(self.target, '1')
        self.assertEqual(['nova_mig.privsep.sysfs.write_sysfs'],
                         self.privsep.channel.calls)
        self.assertEqual('1', self.read(self.target))

    def test_other_root_is_written_without_privsep(self):
        other = os.path.join(self.tmpdir, 'copy')
        os.makedirs(other)
        path = os.path.join(other, 'sriov_numvfs')
        with open(path, 'w') as f:
            f.write('0')
        sysfs.PrivsepSysfsWriter(other).write(path, '4')
        self.assertEqual('4', self.read(path))
        self.assertEqual([], self.privsep.channel.calls)


class TestPrivsepSysfsWriterDaemon(SysfsTestCase):
    """A real (forked, unprivileged) privsep daemon."""

    privsep_fixture = None

    def setUp(self):
        super().setUp()
        self.useFixture(privsep_fixture.UnprivilegedPrivsepFixture(
            privsep.sys_admin_pctxt, {}))

    def test_write_and_errno_cross_the_daemon(self):
        self.writer.write(self.target, 'uuid')
        self.assertEqual('uuid', self.read(self.target))
        missing = os.path.join(self.root, 'bus', 'nope')
        error = self.assertRaises(FileNotFoundError, self.writer.write,
                                  missing, 'x')
        self.assertEqual((errno.ENOENT, missing),
                         (error.errno, error.filename))
