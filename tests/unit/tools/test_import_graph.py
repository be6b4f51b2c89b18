# SPDX-License-Identifier: Apache-2.0

"""Tests for tools/import_graph.py, the layer checker of nova_mig."""

import os
import subprocess
import sys
import textwrap

from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__),
                                   os.pardir, os.pardir, os.pardir))
TOOL = os.path.join(TOP, 'tools', 'import_graph.py')
# The fake package's layers: base below mid below top; sim is private.
LAYERS = ['--layer', 'base=0', '--layer', 'mid=1', '--layer', 'top=2',
          '--layer', 'sim=3', '--private', 'sim']


class TestImportGraph(base.TestCase):

    def _package(self, files):
        root = os.path.join(self.tmpdir, 'fakepkg')
        for rel, text in dict({'__init__.py': ''}, **files).items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as f:
                f.write(textwrap.dedent(text))
        return root

    def _run(self, root, *args):
        return subprocess.run(
            [sys.executable, TOOL, '--root', root] + list(args),
            capture_output=True, text=True, cwd=self.tmpdir)

    def test_layered_package_passes(self):
        root = self._package({
            'base.py': '',
            'mid/__init__.py': '',
            'mid/one.py': 'from fakepkg import base\n',
            'mid/two.py': 'from fakepkg.mid import one\n',
            'top/__init__.py': 'import fakepkg.mid.two\n',
            'sim/__init__.py': 'from fakepkg import top\n'})
        result = self._run(root, *LAYERS)
        self.assertEqual(0, result.returncode, result.stderr)
        result = self._run(root, '--format', 'text', *LAYERS)
        self.assertEqual('base (layer 0) -> -\n'
                         'mid (layer 1) -> base\n'
                         'top (layer 2) -> mid\n'
                         'sim (layer 3) -> top\n', result.stdout)

    def test_upward_import_inside_a_function_fails(self):
        root = self._package({
            'base.py': 'def f():\n    from fakepkg.mid import one\n',
            'mid/__init__.py': '',
            'mid/one.py': ''})
        result = self._run(root, *LAYERS)
        self.assertEqual(1, result.returncode)
        self.assertIn('fakepkg/base.py:2: upward import: base (layer 0) '
                      'imports mid (layer 1)', result.stderr)

    def test_cycle_fails(self):
        # Two packages of one layer importing each other, relatively.
        root = self._package({
            'mid/__init__.py': '',
            'mid/one.py': 'from .. import top\n',
            'top/__init__.py': '\n\nfrom fakepkg.mid import one\n'})
        result = self._run(root, '--layer', 'mid=1', '--layer', 'top=1')
        self.assertEqual(1, result.returncode)
        self.assertIn('fakepkg/mid/one.py:1: cyclic import: mid imports top '
                      '(cycle: mid, top)', result.stderr)
        self.assertIn('fakepkg/top/__init__.py:3: cyclic import: top '
                      'imports mid (cycle: mid, top)', result.stderr)

    def test_module_cycle_inside_a_package_fails(self):
        root = self._package({
            'mid/__init__.py': '',
            'mid/one.py': 'from fakepkg.mid import two\n',
            'mid/two.py': 'def f():\n    from fakepkg.mid import one\n'})
        result = self._run(root, *LAYERS)
        self.assertEqual(1, result.returncode)
        self.assertIn('fakepkg/mid/two.py:2: cyclic import: '
                      'fakepkg.mid.two imports fakepkg.mid.one',
                      result.stderr)

    def test_private_package_imported_fails(self):
        root = self._package({
            'sim/__init__.py': '',
            'top.py': 'import fakepkg.sim\n'})
        result = self._run(root, *LAYERS)
        self.assertEqual(1, result.returncode)
        self.assertIn('fakepkg/top.py:1: top imports sim, which only '
                      'stevedore may load', result.stderr)

    def test_package_missing_from_the_table_fails(self):
        root = self._package({
            'base.py': '', 'extra.py': 'from fakepkg import base\n'})
        result = self._run(root, *LAYERS)
        self.assertEqual(1, result.returncode)
        self.assertIn('extra has no layer in the table', result.stderr)

    def test_nova_mig_follows_its_layers(self):
        result = self._run(os.path.join(TOP, 'nova_mig'))
        self.assertEqual(0, result.returncode, result.stderr)
        result = self._run(os.path.join(TOP, 'nova_mig'), '--format', 'dot')
        self.assertIn('"cli" -> "layout";', result.stdout)
        self.assertNotIn('-> "simulator"', result.stdout)

    def test_architecture_doc_shows_the_layer_table(self):
        diagram = subprocess.run(
            [sys.executable, TOOL, '--format', 'ascii'], check=True,
            capture_output=True, text=True).stdout
        doc = os.path.join(TOP, 'doc', 'source', 'contributor',
                           'architecture.rst')
        with open(doc) as f:
            text = f.read()
        self.assertIn(textwrap.indent(diagram, '   '), text,
                      'paste "tools/import_graph.py --format ascii" into '
                      'the diagram of %s' % doc)
