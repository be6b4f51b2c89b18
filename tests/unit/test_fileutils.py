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

    def test_remove(self):
        self.assertFalse(fileutils.remove(self.path))
        fileutils.write_if_changed(self.path, 'x')
        self.assertTrue(fileutils.remove(self.path))
        self.assertIsNone(fileutils.read_text(self.path))


class TestLoadYaml(base.TestCase):

    def load(self, text):
        return fileutils.load_yaml(text, lambda where, why: ValueError(why))

    def test_unquoted_pci_address_is_a_string(self):
        # YAML 1.1 would read the base-60 float 2460.0.
        self.assertEqual({'pci_address': '0000:41:00.0', 'parent': '1:30'},
                         self.load('pci_address: 0000:41:00.0\n'
                                   'parent: 1:30\n'))

    def test_numbers_stay_numbers(self):
        self.assertEqual([12, -3, 8, 16, 1000, 1.5, float('inf')],
                         self.load('[12, -3, 010, 0x10, 1_000, 1.5, .inf]'))
