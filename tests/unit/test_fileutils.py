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


class Refused(Exception):
    pass


def _fail(where: str, reason: str) -> Refused:
    return Refused('%s: %s' % (where, reason))


class TestLoadYamlBounds(base.TestCase):

    def assertRefused(self, content, expected: str, **kwargs) -> None:
        error = self.assertRaises(Refused, fileutils.load_yaml, content,
                                  _fail, **kwargs)
        self.assertEqual(expected, str(error))

    def test_document(self):
        self.assertEqual({'a': [1, {'b': None}]},
                         fileutils.load_yaml(b'a: [1, {b: null}]\n', _fail))

    def test_invalid_utf8_named_by_line_and_column(self):
        self.assertRefused(b'a: 1\nbb: "\xc3("\n',
                           'line 2 column 6: not valid UTF-8 (byte 0xc3)')

    def test_invalid_yaml(self):
        self.assertRefused('a: [\n', 'line 2 column 1: not valid YAML: did '
                                     'not find expected node content')

    def test_nesting_refused_before_building(self):
        self.assertRefused('a: ' + '[' * 33 + ']' * 33,
                           'line 1 column 35: nested deeper than 32 levels')
        # Far past Python's recursion limit: still one refusal (libyaml's
        # scanner stops at its own limit before the first event).
        error = self.assertRaises(Refused, fileutils.load_yaml,
                                  '[' * 100000, _fail)
        self.assertIn('nest', str(error))
        self.assertEqual(1, len(fileutils.load_yaml('[' * 32 + ']' * 32,
                                                    _fail)))

    def test_node_count(self):
        self.assertRefused('[1, 2, 3, 4]', 'line 1 column 11: more than 4 '
                                           'values', max_nodes=4)

    def test_aliases_are_not_expanded(self):
        # A "billion laughs" document: aliases are shared, not copied.
        names = ['a'] + ['b%d' % i for i in range(19)]
        text = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + ''.join(
            'b%d: &b%d [*%s, *%s, *%s, *%s]\n' % (i, i, p, p, p, p)
            for i, p in enumerate(names))
        document = fileutils.load_yaml(text, _fail)
        self.assertIs(document['b0'][0], document['a'])

    def test_read_input(self):
        path = os.path.join(self.tmpdir, 'f.yaml')
        with open(path, 'wb') as f:
            f.write(b'x' * 11)
        self.assertEqual(b'x' * 11, fileutils.read_input(path, _fail))
        error = self.assertRaises(Refused, fileutils.read_input, path,
                                  _fail, limit=10)
        self.assertEqual('file: larger than 10 bytes; not a nova-mig input '
                         'file', str(error))
        error = self.assertRaises(Refused, fileutils.read_input,
                                  self.tmpdir, _fail)
        self.assertEqual('file: Is a directory', str(error))

    def test_read_text_of_damaged_file(self):
        path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(path, 'wb') as f:
            f.write(b'[devices]\n\xff\n')
        self.assertEqual('[devices]\n\ufffd\n', fileutils.read_text(path))
        self.assertTrue(fileutils.write_if_changed(path, '[devices]\n'))
        self.assertEqual('[devices]\n', fileutils.read_text(path))
