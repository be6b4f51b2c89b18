# SPDX-License-Identifier: Apache-2.0

"""Tests of the bounded reads and parses of input files."""

import os

from nova_mig import bounded_input
from tests import base


class TestLoadYaml(base.TestCase):

    def load(self, text):
        return bounded_input.load_yaml(text,
                                       lambda where, why: ValueError(why))

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
        error = self.assertRaises(Refused, bounded_input.load_yaml, content,
                                  _fail, **kwargs)
        self.assertEqual(expected, str(error))

    def test_document(self):
        self.assertEqual({'a': [1, {'b': None}]}, bounded_input.load_yaml(
            b'a: [1, {b: null}]\n', _fail))

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
        error = self.assertRaises(Refused, bounded_input.load_yaml,
                                  '[' * 100000, _fail)
        self.assertIn('nest', str(error))
        self.assertEqual(1, len(bounded_input.load_yaml('[' * 32 + ']' * 32,
                                                        _fail)))

    def test_node_count(self):
        self.assertRefused('[1, 2, 3, 4]', 'line 1 column 11: more than 4 '
                                           'values', max_nodes=4)

    def test_alias_bomb_refused_before_it_is_built(self):
        # A "billion laughs": 1 KB that would expand to 2.5 billion values.
        names = ['a'] + ['b%d' % i for i in range(19)]
        text = 'a: &a [x, x, x, x, x, x, x, x, x]\n' + ''.join(
            'b%d: &b%d [*%s, *%s, *%s, *%s]\n' % (i, i, p, p, p, p)
            for i, p in enumerate(names))
        self.assertLess(len(text), 1024)
        self.assertRefused(text, 'line 9 column 15: more than 500000 values '
                                 'once alias *b6 is expanded')

    def test_alias_of_long_text_counts_its_characters(self):
        text = 'a: &a "%s"\nb: [%s]\n' % ('x' * 100000,
                                          ', '.join(['*a'] * 200))
        self.assertRefused(text, 'line 2 column 669: more than 16777216 '
                                 'characters once alias *a is expanded')

    def test_alias_counts_its_depth(self):
        # *a reaches 3 + 28 levels deep, c's *b would reach 3 + 30.
        text = ('a: &a %s%s\nb: &b [[*a]]\n' % ('[' * 28, ']' * 28))
        self.assertEqual(2, len(bounded_input.load_yaml(text, _fail)))
        self.assertRefused(text + 'c: [[*b]]\n', 'line 3 column 6: nested '
                           'deeper than 32 levels once alias *b is expanded')

    def test_few_aliases_are_fine(self):
        document = bounded_input.load_yaml('a: &a {x: 1}\nb: [*a, *a]\n',
                                           _fail)
        self.assertEqual({'a': {'x': 1}, 'b': [{'x': 1}, {'x': 1}]},
                         document)

    def test_long_integer_refused_before_int_parses_it(self):
        self.assertRefused('count: %s\n' % ('9' * 5000), 'line 1 column 8: '
                           'an integer of 5000 digits; at most 20 are '
                           'accepted')
        self.assertEqual({'n': 10 ** 19},
                         bounded_input.load_yaml('n: %d' % 10 ** 19, _fail))

    def test_read_input(self):
        path = os.path.join(self.tmpdir, 'f.yaml')
        with open(path, 'wb') as f:
            f.write(b'x' * 11)
        self.assertEqual(b'x' * 11, bounded_input.read_input(path, _fail))
        error = self.assertRaises(Refused, bounded_input.read_input, path,
                                  _fail, limit=10)
        self.assertEqual('file: larger than 10 bytes, the most nova-mig '
                         'reads from this file', str(error))
        error = self.assertRaises(Refused, bounded_input.read_input,
                                  self.tmpdir, _fail)
        self.assertEqual('file: Is a directory', str(error))

    def test_read_input_refuses_what_is_not_a_regular_file(self):
        fifo = os.path.join(self.tmpdir, 'fifo')
        os.mkfifo(fifo)
        for path, kind in ((fifo, 'a FIFO'),
                           ('/dev/zero', 'a character device')):
            error = self.assertRaises(Refused, bounded_input.read_input, path,
                                      _fail)
            self.assertEqual('file: %s, not a regular file; nova-mig reads '
                             'only regular files' % kind, str(error))

    def test_read_input_nofollow_and_missing(self):
        path = os.path.join(self.tmpdir, 'state.json')
        link = os.path.join(self.tmpdir, 'link.json')
        with open(path, 'w') as f:
            f.write('{}')
        os.symlink(path, link)
        self.assertEqual(b'{}', bounded_input.read_input(link, _fail))
        error = self.assertRaises(Refused, bounded_input.read_input, link,
                                  _fail, nofollow=True)
        self.assertIn('file: a symbolic link', str(error))
        self.assertIsNone(bounded_input.read_input(path + '.none', _fail,
                                                   missing_ok=True))
        self.assertEqual((False, None),
                         bounded_input.read_json(path + '.none', _fail))
        self.assertEqual((True, {}), bounded_input.read_json(path, _fail))


class TestLoadJson(base.TestCase):

    def assertRefused(self, content: bytes, expected: str) -> None:
        error = self.assertRaises(Refused, bounded_input.load_json, content,
                                  _fail)
        self.assertEqual(expected, str(error))

    def test_document(self):
        self.assertEqual({'a': [1, 2.5, None, True]},
                         bounded_input.load_json(
                             b'{"a": [1, 2.5, null, true]}', _fail))

    def test_refused(self):
        self.assertRefused(b'{"a": ',
                           'line 1 column 7: not JSON: Expecting value')
        self.assertRefused(b'{"a": "\xff"}', 'line 1 column 8: not valid '
                                             'UTF-8 (byte 0xff)')
        self.assertRefused(b'[Infinity]', 'JSON: not JSON: Infinity is not '
                                          'a JSON number')
        self.assertRefused(b'[NaN]', 'JSON: not JSON: NaN is not a JSON '
                                     'number')
        self.assertRefused(b'[1e999]', 'JSON: not JSON: 1e999 is out of '
                                       'range')
        self.assertRefused(b'[%s]' % (b'1' * 5000), 'JSON: not JSON: an '
                           'integer of 5000 digits; at most 20 are accepted')
        self.assertRefused(b'[' * 33 + b']' * 33,
                           'JSON: nested deeper than 32 levels')
        # Past Python's recursion limit: the same one line.
        self.assertRefused(b'[' * 100000, 'JSON: nested deeper than 32 '
                                          'levels')
