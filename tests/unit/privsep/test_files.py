# SPDX-License-Identifier: Apache-2.0

"""Tests of the configuration file writer and its privileged path."""

import errno
import os

import fixtures

from nova_mig import privsep
from nova_mig.privsep import files
from tests import base as test_base
from tests.unit.privsep import privsep_fixtures

WRITE = 'nova_mig.privsep.files.write_if_changed'
REMOVE = 'nova_mig.privsep.files.remove'


class TestFileWriter(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.files_pctxt))
        # The daemon's only writable tree becomes a temporary one.
        self.root = os.path.join(self.tmpdir, 'etc', 'nova')
        os.makedirs(self.root)
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.files.NOVA_CONFIG_ROOT', self.root))
        self.writer = files.FileWriter()
        self.path = os.path.join(self.root, 'nova-mig.conf')

    def unprivileged(self, writable_dirs=()):
        """Run as a user who may write only ``writable_dirs``, even as root."""
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=1000))
        real = os.access

        def access(path, mode):
            if mode & os.W_OK:
                return path in writable_dirs
            return real(path, mode)
        self.useFixture(fixtures.MockPatch('os.access', access))

    def read(self):
        with open(self.path) as f:
            return f.read()

    def test_writable_directory_in_process(self):
        self.unprivileged(writable_dirs=(self.root,))
        self.assertTrue(self.writer.write_if_changed(self.path, 'a\n'))
        self.assertFalse(self.writer.write_if_changed(self.path, 'a\n'))
        self.assertTrue(self.writer.remove(self.path))
        self.assertFalse(self.writer.remove(self.path))
        self.assertEqual([], self.privsep.channel.calls)

    def test_unwritable_directory_through_privsep(self):
        self.unprivileged()
        self.assertTrue(self.writer.write_if_changed(self.path, 'a\n',
                                                     0o640))
        self.assertEqual('a\n', self.read())
        self.assertEqual(0o640, os.stat(self.path).st_mode & 0o777)
        self.assertFalse(self.writer.write_if_changed(self.path, 'a\n',
                                                      0o640))
        self.assertTrue(self.writer.remove(self.path))
        self.assertFalse(os.path.exists(self.path))
        self.assertEqual([WRITE, WRITE, REMOVE], self.privsep.channel.calls)

    def test_missing_directory_judged_by_its_parent(self):
        self.unprivileged()
        path = os.path.join(self.root, 'nova.conf.d', 'nova-mig.conf')
        self.writer.write_if_changed(path, 'a\n')
        self.assertEqual([WRITE], self.privsep.channel.calls)
        self.assertTrue(os.path.exists(path))

    def test_root_writes_in_process(self):
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=0))
        self.writer.write_if_changed(self.path, 'a\n')
        self.assertEqual([], self.privsep.channel.calls)

    def test_daemon_refuses_outside_its_tree(self):
        self.unprivileged()
        outside = os.path.join(self.tmpdir, 'outside.conf')
        for call in (lambda: self.writer.write_if_changed(outside, 'x'),
                     lambda: self.writer.remove(outside)):
            error = self.assertRaises(PermissionError, call)
            self.assertEqual(errno.EACCES, error.errno)
        self.assertFalse(os.path.exists(outside))

    def test_daemon_refuses_dotdot_symlinks_out_and_bad_values(self):
        self.unprivileged()
        outside = os.path.join(self.tmpdir, 'outside.conf')
        with open(outside, 'w') as f:
            f.write('keep')
        # A folder below /etc/nova that is a symlink out of it.
        os.symlink(self.tmpdir, os.path.join(self.root, 'escape'))
        os.symlink(outside, os.path.join(self.root, 'link.conf'))
        for path, args, reason in (
                (os.path.join(self.root, '..', 'outside.conf'),
                 ('x', 0o644), 'outside'),
                (os.path.join(self.root, 'escape', 'outside.conf'),
                 ('x', 0o644), 'outside'),
                (os.path.join(self.root, 'link.conf'), ('x', 0o644),
                 'a symlink'),
                (self.path, ('x', 0o4755), 'refused mode'),
                (self.path, ('x', '644'), 'refused mode')):
            error = self.assertRaises(PermissionError, files.write_if_changed,
                                      path, *args)
            self.assertEqual(errno.EACCES, error.errno)
            self.assertIn(reason, str(error))
        self.assertRaises(PermissionError, files.remove,
                          os.path.join(self.root, 'escape', 'outside.conf'))
        with open(outside) as f:
            self.assertEqual('keep', f.read())
        self.assertFalse(os.path.exists(self.path))


class TestMdevctlDefinition(test_base.TestCase):
    """Deleting mdevctl's definition of one mdev, as root, by intent."""

    PARENT = '0000:41:00.4'
    UUID = 'c0ffee00-0000-4000-8000-000000000001'

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.files_pctxt))
        self.root = os.path.join(self.tmpdir, 'mdevctl.d')
        os.makedirs(os.path.join(self.root, self.PARENT))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.files.MDEVCTL_ROOT', self.root))
        self.definition = os.path.join(self.root, self.PARENT, self.UUID)
        with open(self.definition, 'w') as f:
            f.write('{}')

    def test_deletes_the_definition_once(self):
        self.assertTrue(files.remove_mdevctl_definition(self.PARENT,
                                                        self.UUID))
        self.assertFalse(os.path.exists(self.definition))
        self.assertFalse(files.remove_mdevctl_definition(self.PARENT,
                                                         self.UUID))
        self.assertEqual(
            ['nova_mig.privsep.files.remove_mdevctl_definition'] * 2,
            self.privsep.channel.calls)

    def test_anything_but_a_parent_and_a_uuid_is_refused(self):
        victim = os.path.join(self.tmpdir, 'victim')
        with open(victim, 'w') as f:
            f.write('keep')
        os.symlink(self.tmpdir, os.path.join(self.root, '0000:41:00.5'))
        for parent, uuid, reason in (
                ('..', 'victim', 'refused PCI address'),
                (self.PARENT, '../../victim', 'refused UUID'),
                (self.PARENT, self.UUID.upper(), 'refused UUID'),
                ('0000:41:00.5', self.UUID, 'outside')):
            error = self.assertRaises(
                PermissionError, files.remove_mdevctl_definition, parent,
                uuid)
            self.assertEqual(errno.EACCES, error.errno)
            self.assertIn(reason, str(error))
        self.assertTrue(os.path.exists(victim))
        self.assertTrue(os.path.exists(self.definition))
