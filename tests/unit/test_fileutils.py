# SPDX-License-Identifier: Apache-2.0

"""Tests of the atomic, change-only file writes."""

import os
from unittest import mock

from nova_mig import fileutils
from tests import base


class TestFileutils(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.tmpdir, 'd', 'f.conf')

    def test_write_if_changed(self):
        self.assertTrue(fileutils.write_if_changed(self.path, 'a\n'))
        self.assertEqual(0o644, os.stat(self.path).st_mode & 0o777)
        inode = os.stat(self.path).st_ino
        self.assertFalse(fileutils.write_if_changed(self.path, 'a\n'))
        self.assertEqual(inode, os.stat(self.path).st_ino)
        self.assertTrue(fileutils.write_if_changed(self.path, 'b\n'))
        self.assertEqual('b\n', fileutils.read_text(self.path))
        self.assertEqual(['f.conf'], os.listdir(os.path.dirname(self.path)))

    def test_failed_replace_keeps_old_file(self):
        fileutils.write_if_changed(self.path, 'old\n')
        with mock.patch.object(os, 'replace',
                               side_effect=OSError(28, 'No space')):
            self.assertRaises(OSError, fileutils.write_if_changed,
                              self.path, 'new\n')
        self.assertEqual('old\n', fileutils.read_text(self.path))
        # No temporary file left behind.
        self.assertEqual(['f.conf'], os.listdir(os.path.dirname(self.path)))

    def test_special_target_is_neither_read_nor_replaced(self):
        fifo = os.path.join(self.tmpdir, 'fifo')
        os.mkfifo(fifo)
        link = os.path.join(self.tmpdir, 'zero')
        os.symlink('/dev/zero', link)
        for path, kind in ((fifo, 'a FIFO'), (link, 'a character device')):
            e = self.assertRaises(OSError, fileutils.write_if_changed, path,
                                  'x')
            self.assertEqual('%s, not a regular file; nova-mig writes only '
                             'regular files' % kind, e.strerror)
            e = self.assertRaises(OSError, fileutils.read_text, path)
            self.assertIn('%s, not a regular file' % kind, e.strerror)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(['fifo', 'zero'], sorted(os.listdir(self.tmpdir)))
        e = self.assertRaises(IsADirectoryError, fileutils.write_if_changed,
                              self.tmpdir, 'x')
        self.assertEqual('Is a directory', e.strerror)

    def test_remove(self):
        self.assertFalse(fileutils.remove(self.path))
        fileutils.write_if_changed(self.path, 'x')
        self.assertTrue(fileutils.remove(self.path))
        self.assertIsNone(fileutils.read_text(self.path))

    def test_missing_parents_are_0755_whatever_the_umask(self):
        # The privsep daemon runs with umask 0: os.makedirs would leave
        # /etc/nova 0777 when it creates /etc/nova/provider_config/.
        path = os.path.join(self.tmpdir, 'etc', 'nova', 'pc', 'f.yaml')
        old = os.umask(0)
        try:
            fileutils.write_if_changed(path, 'x\n')
        finally:
            os.umask(old)
        for d in ('etc', 'etc/nova', 'etc/nova/pc'):
            self.assertEqual(
                0o755, os.stat(os.path.join(self.tmpdir, d)).st_mode & 0o7777,
                d)
        # An existing directory keeps its mode.
        os.chmod(os.path.join(self.tmpdir, 'etc'), 0o750)
        fileutils.write_if_changed(os.path.join(self.tmpdir, 'etc', 'g'), 'y')
        self.assertEqual(
            0o750, os.stat(os.path.join(self.tmpdir, 'etc')).st_mode & 0o7777)

    def test_read_text_of_damaged_file(self):
        path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(path, 'wb') as f:
            f.write(b'[devices]\n\xff\n')
        self.assertEqual('[devices]\n\ufffd\n', fileutils.read_text(path))
        self.assertTrue(fileutils.write_if_changed(path, '[devices]\n'))
        self.assertEqual('[devices]\n', fileutils.read_text(path))
