# SPDX-License-Identifier: Apache-2.0

"""Unmet boots and the targets file."""

import datetime
import os
import types

import fixtures

from nova_mig import exception
from nova_mig import naming
from nova_mig.rebalance import demand
from tests import base

SPECS = {'resources:CUSTOM_MIG_3G_40GB': '1'}


def _server(message, specs=SPECS, id='s', status='ERROR'):
    return types.SimpleNamespace(
        id=id, status=status, fault={'message': message, 'code': 500},
        flavor=types.SimpleNamespace(extra_specs=specs))


class FakeCompute:

    def __init__(self, servers=(), error=None, aggregates=()):
        self._servers = list(servers)
        self.error = error
        self._aggregates = list(aggregates)
        self.queries = []

    def servers(self, details=True, **query):
        self.queries.append(query)
        if self.error:
            raise self.error
        return iter(s for s in self._servers
                    if getattr(s, 'status', 'ERROR') == query['status'])

    def aggregates(self):
        return iter(self._aggregates)


class TargetsTestCase(base.TestCase):

    def write(self, text):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'targets.yaml')
        with open(path, 'wb') as stream:
            stream.write(text if isinstance(text, bytes)
                         else text.encode('utf-8'))
        return path

    def test_targets_parse(self):
        path = self.write(
            'version: 1\ntargets:\n'
            '  - {profile: 1g.10gb, min_free: 8}\n'
            '  - {profile: 3g.40gb, min_free: 2, availability_zone: az1}\n'
            '  - {profile: 7g.80gb, min_free: 1, aggregate: train}\n')
        self.assertEqual(
            [demand.Demand('1g.10gb', 8),
             demand.Demand('3g.40gb', 2, 'az:az1'),
             demand.Demand('7g.80gb', 1, 'aggregate:train')],
            demand.load_targets(path))

    def test_numeric_names_are_names(self):
        path = self.write(
            'version: 1\ntargets:\n'
            '  - {profile: 1g.10gb, min_free: 1, aggregate: 2024}\n'
            '  - {profile: 1g.10gb, min_free: 2, availability_zone: 3}\n')
        self.assertEqual([demand.Demand('1g.10gb', 1, 'aggregate:2024'),
                          demand.Demand('1g.10gb', 2, 'az:3')],
                         demand.load_targets(path))

    def test_bad_targets_make_one_line_naming_file_and_key(self):
        cases = [
            ('version: 2\ntargets: []\n', 'version'),
            ('version: 1\ntargetz: []\n', 'top level'),
            ('version: 1\ntargets: {}\n', 'targets'),
            ('version: 1\ntargets: [{profile: big, min_free: 1}]\n',
             'targets[0].profile'),
            ('version: 1\ntargets: [{profile: 1g.10gb, min_free: -1}]\n',
             'targets[0].min_free'),
            ('version: 1\ntargets: [{profile: 1g.10gb, min_free: 1, '
             'zone: a}]\n', 'targets[0]'),
            ('version: 1\ntargets: [{profile: 1g.10gb, min_free: 1, '
             'aggregate: a, availability_zone: b}]\n', 'targets[0]'),
            ('version: 1\ntargets: [\n', 'line 3 column 1'),
            ('version: 1\ntargets: %s1%s\n' % ('[' * 40, ']' * 40),
             'line 2 column 41'),
            (b'version: 1\ntargets: [\xff]\n', 'line 2 column 11'),
        ]
        for text, where in cases:
            path = self.write(text)
            e = self.assertRaises(exception.RebalanceInputError,
                                  demand.load_targets, path)
            self.assertTrue(str(e).startswith('%s: %s: ' % (path, where)),
                            str(e))
            self.assertNotIn('\n', str(e))

    def test_missing_file(self):
        e = self.assertRaises(exception.RebalanceInputError,
                              demand.load_targets, '/nonexistent/t.yaml')
        self.assertIn('/nonexistent/t.yaml: file: ', str(e))

    def test_unknown_profile(self):
        e = self.assertRaises(
            exception.RebalanceInputError, demand.check_profiles,
            [demand.Demand('9g.99gb', 1)], {'1g.10gb'}, 't.yaml')
        self.assertEqual('t.yaml: profile 9g.99gb: no GPU of the planned '
                         'hosts offers it (known: 1g.10gb)', str(e))

    def test_window(self):
        self.assertEqual(86400, demand.parse_window('24h'))
        self.assertEqual(1800, demand.parse_window('30m'))
        self.assertEqual(604800, demand.parse_window('1w'))
        self.assertEqual(90, demand.parse_window('90'))
        self.assertRaises(ValueError, demand.parse_window, '0h')
        self.assertRaises(ValueError, demand.parse_window, 'a day')

    def test_combine_takes_the_larger_cloud_wide(self):
        rows = demand.combine({'1g.10gb': 5, '3g.40gb': 1},
                              [demand.Demand('1g.10gb', 3),
                               demand.Demand('3g.40gb', 2),
                               demand.Demand('3g.40gb', 1, 'az:a')])
        self.assertEqual(
            [demand.Demand('1g.10gb', 5, '', 'unmet'),
             demand.Demand('3g.40gb', 2),
             demand.Demand('3g.40gb', 1, 'az:a')], rows)


class UnmetBootsTestCase(base.TestCase):

    since = datetime.datetime(2026, 11, 29, tzinfo=datetime.timezone.utc)

    def test_counts_no_valid_host_per_profile(self):
        compute = FakeCompute([
            _server('No valid host was found. There are not enough '
                    'hosts available.', id='a'),
            _server('No valid host was found.', id='b', status='DELETED'),
            _server('Build of instance aborted: disk full', id='c'),
            _server('No valid host was found.', specs={}, id='d'),
            _server('No valid host was found.', specs={
                'resources:VGPU': '1',
                'trait:CUSTOM_MIG_1G_10GB': 'required'}, id='e'),
        ])
        result = demand.unmet_boots(compute, naming.Scheme(), self.since)
        self.assertEqual({'3g.40gb': 2, '1g.10gb': 1}, result.by_profile)
        self.assertEqual(1, result.other)
        self.assertEqual(['a', 'b', 'e'], sorted(result.servers))
        self.assertEqual([{'all_projects': True, 'status': status,
                           'changes_since': self.since.isoformat()}
                          for status in ('ERROR', 'DELETED')],
                         compute.queries)

    def test_unreachable_compute_is_one_line(self):
        compute = FakeCompute(error=ConnectionError(
            'Unable to establish connection to http://nova:8774\nmore'))
        e = self.assertRaises(exception.CloudUnreachable,
                              demand.unmet_boots, compute, naming.Scheme(),
                              self.since)
        self.assertIn('http://nova:8774', str(e))
        self.assertNotIn('more', str(e))

    def test_host_scopes(self):
        compute = FakeCompute(aggregates=[
            types.SimpleNamespace(name='train', hosts=['cn1', 'cn2'],
                                  availability_zone='az1'),
            types.SimpleNamespace(name='infer', hosts=['cn3'],
                                  availability_zone=None)])
        self.assertEqual({'cn1': {'aggregate:train', 'az:az1'},
                          'cn2': {'aggregate:train', 'az:az1'},
                          'cn3': {'aggregate:infer'}},
                         demand.host_scopes(compute))


class ScopedCombineTestCase(base.TestCase):

    def test_model_bound_boots_leave_the_cloud_wide_row(self):
        rows = demand.combine({'3g.40gb': 5, '1g.10gb': 2}, [],
                              {('3g.40gb', 'trait:CUSTOM_H100'): 2,
                               ('1g.10gb', 'trait:CUSTOM_H100'): 2})
        self.assertEqual([('1g.10gb', 'trait:CUSTOM_H100', 2),
                          ('3g.40gb', '', 3),
                          ('3g.40gb', 'trait:CUSTOM_H100', 2)],
                         [(r.profile, r.scope, r.wanted) for r in rows])
