# SPDX-License-Identifier: Apache-2.0

"""Every versioned document: its schema, reader, writer and published form.

Each module of nova_mig.documents has a VERSION, a SCHEMA valid under
JSON Schema 2020-12, a reader that names the file, the key and the reason
in one line, and a writer that refuses what the reader would refuse.
doc/source/reference/documents.rst publishes the schemas (written by
tools/document_schemas.py) with an example of each document, and those
examples validate.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import fixtures
import jsonschema
import yaml

from nova_mig.documents import discover
from nova_mig.documents import layout_file
from nova_mig.documents import simulated_host_file
from nova_mig.documents import targets_file
from nova_mig import exception
from nova_mig.layout import schema
from nova_mig.simulator import hostfile
from nova_mig.simulator import live_state
from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir, os.pardir))
REFERENCE = os.path.join(TOP, 'doc', 'source', 'reference')
TOOL = os.path.join(TOP, 'tools', 'document_schemas.py')
MODULES = (discover, layout_file, simulated_host_file, targets_file)


class HostFileError(Exception):
    pass


def _host_fail(where, reason):
    return HostFileError('%s: %s' % (where, reason))


def _read_example(path):
    """Read a documented example with its document's reader."""
    name = os.path.basename(path)
    if name == 'discover.json':
        return discover.read(path)
    if name == 'targets.yaml':
        return targets_file.read(path)
    if '/layouts/' in path:
        schema.load(path)       # and it builds into a layout
        return layout_file.read(path)
    if '/hosts/' in path:
        hostfile.load(path)     # and the simulator builds the host
        return simulated_host_file.read(path, _host_fail)
    raise AssertionError('no reader for documented example %s' % path)


def _block(page, marker):
    """The first literal block after ``marker`` in an RST page, dedented."""
    with open(page) as stream:
        after = stream.read().split(marker + '\n\n', 1)[1].split('\n')
    end = next(i for i, line in enumerate(after)
               if line and not line.startswith(' '))
    return textwrap.dedent('\n'.join(after[:end]))


class TestSchemas(base.TestCase):

    def test_every_schema_is_a_valid_2020_12_schema(self):
        for module in MODULES:
            jsonschema.Draft202012Validator.check_schema(module.SCHEMA)
            self.assertEqual(1, module.VERSION)
            self.assertEqual({'const': module.VERSION},
                             {k: v for k, v in module.SCHEMA['properties'][
                                 'version'].items() if k != 'x-reason'})

    def test_published_schemas_are_current(self):
        result = subprocess.run([sys.executable, TOOL, '--check'],
                                capture_output=True, text=True)
        self.assertEqual(0, result.returncode, result.stdout)
        for name in ('discover', 'layout', 'targets', 'simulated-host'):
            with open(os.path.join(REFERENCE, 'schemas', name +
                                   '.schema.json')) as stream:
                published = json.load(stream)
            jsonschema.Draft202012Validator.check_schema(published)
            self.assertIn('version 1', published['title'])

    def test_documented_examples_validate(self):
        with open(os.path.join(REFERENCE, 'documents.rst')) as stream:
            page = stream.read()
        included = re.findall(r'^\.\. literalinclude:: (\S+)$', page,
                              re.MULTILINE)
        examples = [os.path.normpath(os.path.join(REFERENCE, p))
                    for p in included if not p.startswith('schemas/')]
        self.assertEqual(4, len(examples), examples)
        for path in examples:
            self.assertIsInstance(_read_example(path), dict, path)
        schemas = {p for p in included if p.startswith('schemas/')}
        self.assertEqual({'schemas/%s.schema.json' % n for n in (
            'discover', 'layout', 'targets', 'simulated-host')}, schemas)

    def test_examples_in_the_format_pages_validate(self):
        text = _block(os.path.join(REFERENCE, 'layout-file.rst'),
                      '.. code-block:: yaml')
        self.assertEqual(2, len(layout_file.loads(text, 'layout-file.rst')[
            'gpus']))
        schema.loads(text, 'layout-file.rst')
        text = _block(os.path.join(TOP, 'doc', 'source', 'admin',
                                   'rebalance.rst'), 'in a YAML file::')
        document = targets_file.check(yaml.safe_load(text), 'rebalance.rst')
        self.assertEqual(3, len(document['targets']))

    def test_simulated_host_states_are_the_simulator_states(self):
        self.assertEqual(live_state.DOMAIN_STATES,
                         simulated_host_file.DOMAIN_STATES)
        self.assertEqual(set(hostfile.MIG_MODES),
                         set(simulated_host_file.MIG_MODES))


class TestVersions(base.TestCase):

    def test_layout_without_version_refused(self):
        e = self.assertRaises(exception.LayoutFileError, layout_file.loads,
                              'gpus: [{select: all}]', 'l.yaml')
        self.assertEqual('l.yaml: version: unsupported version None; this '
                         'nova-mig reads version 1', str(e))

    def test_targets_without_version_refused(self):
        e = self.assertRaises(exception.RebalanceInputError,
                              targets_file.check, {'targets': []}, 't.yaml')
        self.assertEqual('t.yaml: version: unsupported version None; this '
                         'nova-mig reads version 1', str(e))

    def test_simulated_host_without_version_refused(self):
        e = self.assertRaises(HostFileError, simulated_host_file.loads,
                              'hostname: h\n', _host_fail)
        self.assertEqual('version: unsupported version None; this '
                         'nova-mig reads version 1', str(e))

    def test_discover_without_version_read_as_1_with_a_warning(self):
        path = os.path.join(self.tmpdir, 'old.json')
        with open(path, 'w') as stream:
            json.dump({'hostname': 'cn1', 'gpus': []}, stream)
        logs = self.useFixture(fixtures.FakeLogger(
            name='nova_mig.documents.discover'))
        self.assertEqual({'hostname': 'cn1', 'gpus': []},
                         discover.read(path))
        self.assertIn('%s: no "version"; read as version 1' % path,
                      logs.output)
        self.assertIn('deprecated', logs.output)

    def test_newer_versions_refused_everywhere(self):
        e = self.assertRaises(exception.LayoutFileError, layout_file.loads,
                              'version: 2\ngpus: 7', 'l.yaml')
        self.assertEqual('l.yaml: version: unsupported version 2; this '
                         'nova-mig reads version 1', str(e))
        e = self.assertRaises(HostFileError, simulated_host_file.check,
                              {'version': 2, 'hostname': 'h'}, _host_fail)
        self.assertIn('version: unsupported version 2', str(e))


class TestTargetsFile(base.TestCase):

    def write(self, text):
        path = os.path.join(self.tmpdir, 'targets.yaml')
        with open(path, 'w') as stream:
            stream.write(text)
        return path

    def assertRefused(self, text, expected):
        path = self.write(text)
        e = self.assertRaises(exception.RebalanceInputError,
                              targets_file.read, path)
        self.assertEqual('%s: %s' % (path, expected), str(e))

    def test_errors_name_file_key_and_reason(self):
        for text, expected in [
                ('[]', 'top level: expected a mapping, found []'),
                ('version: 1\ntargetz: []', 'top level: unknown key(s) '
                 'targetz; allowed: targets, version'),
                ('version: 1\ntargets: {}', 'targets: expected a list of '
                 'at most 1024 targets'),
                ('version: 1\ntargets: [{profile: big, min_free: 1}]',
                 "targets[0].profile: not a MIG profile name such as "
                 "1g.10gb: 'big'"),
                ('version: 1\ntargets: [{profile: 1g.10gb}]',
                 'targets[0].min_free: expected an integer from 0 to '
                 '1000000, found None'),
                ('version: 1\ntargets: [{profile: 1g.10gb, min_free: true}]',
                 'targets[0].min_free: expected an integer from 0 to '
                 '1000000, found True'),
                ('version: 1\ntargets: [{profile: 1g.10gb, min_free: 1, '
                 'aggregate: a, availability_zone: b}]',
                 'targets[0]: "aggregate" and "availability_zone" exclude '
                 'each other'),
                ('version: 1\ntargets: [{profile: 1g.10gb, min_free: 1, '
                 'aggregate: [a]}]',
                 "targets[0].aggregate: expected the name of a host "
                 "aggregate, found ['a']"),
                ('version: 1\ntargets: [{profile: 1g.10gb, min_free: 1, '
                 'availability_zone: ""}]',
                 "targets[0].availability_zone: expected the name of an "
                 "availability zone, found ''"),
        ]:
            self.assertRefused(text, expected)

    def test_yaml_alias_expansion_capped(self):
        lines = ['version: 1', 'a0: &a0 [1g.10gb, 1g.10gb, 1g.10gb]']
        for i in range(1, 25):
            lines.append('a%d: &a%d [*a%d, *a%d, *a%d, *a%d]'
                         % (i, i, i - 1, i - 1, i - 1, i - 1))
        path = self.write('\n'.join(lines) + '\ntargets: []\n')
        e = self.assertRaises(exception.RebalanceInputError,
                              targets_file.read, path)
        self.assertEqual('%s: line 11 column 10: more than 500000 values '
                         'once alias *a8 is expanded' % path, str(e))

    def test_writer_round_trips_and_refuses_an_invalid_document(self):
        document = {'version': 1, 'targets': [
            {'profile': '3g.40gb', 'min_free': 2,
             'availability_zone': 'az1'}]}
        path = self.write(targets_file.dumps(document))
        self.assertEqual(document, targets_file.read(path))
        e = self.assertRaises(ValueError, targets_file.dumps,
                              {'version': 1, 'targets': [{'profile': 'x'}]})
        self.assertIn('targets[0].min_free', str(e))


class TestWriters(base.TestCase):

    def test_layout_writer_is_what_the_reader_reads(self):
        text = 'version: 1\ngpus:\n- select: {pci_address: "0000:41:00.0"}\n'
        layout = schema.loads(text, 'l.yaml')
        path = os.path.join(self.tmpdir, 'l.yaml')
        self.assertTrue(layout_file.write(path, layout.as_dict(), '# x\n'))
        self.assertFalse(layout_file.write(path, layout.as_dict(), '# x\n'))
        with open(path) as stream:
            self.assertEqual('# x\n' + layout.dump(), stream.read())
        self.assertEqual(layout.as_dict(), layout_file.read(path))
        e = self.assertRaises(ValueError, layout_file.dumps,
                              {'version': 1, 'gpus': [{'mig': 'maybe'}]})
        self.assertEqual("nova-mig built an invalid document: gpus[0].mig: "
                         "expected one of enabled, disabled, found 'maybe'",
                         str(e))

    def test_host_file_writer_round_trips(self):
        path = os.path.join(TOP, 'etc', 'nova-mig', 'hosts',
                            'a100-mixed.yaml')
        document = simulated_host_file.read(path, _host_fail)
        out = os.path.join(self.tmpdir, 'h.yaml')
        simulated_host_file.write(out, document, '# captured\n')
        self.assertEqual(document, simulated_host_file.read(out, _host_fail))
        self.assertEqual(hostfile.load(path).data['gpus'],
                         hostfile.load(out).data['gpus'])
        self.assertRaises(ValueError, simulated_host_file.dumps,
                          dict(document, hostname=''))

    def test_discover_writer_round_trips(self):
        path = os.path.join(REFERENCE, 'examples', 'discover.json')
        document = discover.read(path)
        out = os.path.join(self.tmpdir, 'd.json')
        with open(out, 'w') as stream:
            stream.write(discover.dumps(document))
        self.assertEqual(document, discover.read(out))
        self.assertRaises(ValueError, discover.dumps,
                          dict(document, hostname='../etc'))
