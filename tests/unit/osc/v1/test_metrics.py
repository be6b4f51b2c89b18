# SPDX-License-Identifier: Apache-2.0

"""``openstack mig metrics`` over a fake cloud, read back with Prometheus'
parser."""

import os
import time

import fixtures
from osc_lib import exceptions as osc_exc
from prometheus_client import parser

from nova_mig.osc.v1 import metrics
from nova_mig.rebalance import history
from tests.unit.osc import base
from tests.unit.osc.v1 import fakes


def parse(text):
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for f in parser.text_string_to_metric_families(text)
            for s in f.samples}


class MetricsTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.compute = fakes.Compute()
        self.app.client_manager.sdk_connection.compute = self.compute
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 1, 1)
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 1, 0,
                       name='_pci_0000_41_00_5')
        fakes.provider(self.placement, 'cn2', fakes.RC3G, 2, 2)
        self.compute.fail_boot(fakes.RC3G, 3)

    def run_metrics(self, *argv):
        cmd = metrics.Metrics(self.app, None)
        cmd.run(cmd.get_parser('openstack mig metrics').parse_args(
            list(argv)))
        return self.app.stdout.getvalue()

    def test_capacity_per_host_model_profile_and_demand(self):
        got = parse(self.run_metrics('--window', '1h'))
        model = 'NVIDIA_A100_80GB_PCIE'

        def key(name, host, profile, rc):
            return (name, (('host', host), ('model', model),
                           ('profile', profile), ('resource_class', rc)))
        self.assertEqual(2.0, got[key('nova_mig_placement_slices', 'cn1',
                                      '1g.10gb', fakes.RC1G)])
        self.assertEqual(1.0, got[key('nova_mig_placement_slices_used',
                                      'cn1', '1g.10gb', fakes.RC1G)])
        self.assertEqual(1.0, got[key('nova_mig_placement_slices_free',
                                      'cn1', '1g.10gb', fakes.RC1G)])
        self.assertEqual(2.0, got[key('nova_mig_placement_providers',
                                      'cn1', '1g.10gb', fakes.RC1G)])
        self.assertEqual(0.0, got[key('nova_mig_placement_slices_free',
                                      'cn2', '3g.40gb', fakes.RC3G)])
        self.assertEqual(3.0, got[('nova_mig_unmet_boots', (
            ('profile', '3g.40gb'), ('window', '1h')))])
        # Offered and never refused: 0, not absent.
        self.assertEqual(0.0, got[('nova_mig_unmet_boots', (
            ('profile', '1g.10gb'), ('window', '1h')))])

    def test_no_unmet_reads_no_compute(self):
        got = parse(self.run_metrics('--no-unmet'))
        self.assertFalse([k for k in got if k[0] == 'nova_mig_unmet_boots'])
        self.assertEqual([], self.compute.calls)

    def test_textfile_written_and_bad_name_refused_first(self):
        path = os.path.join(self.tmpdir, 'cloud.prom')
        self.run_metrics('--textfile', path)
        self.assertEqual('', self.app.stdout.getvalue())
        with open(path) as f:
            self.assertIn(('nova_mig_unmet_boots', (('profile', '3g.40gb'),
                                                    ('window', '24h'))),
                          parse(f.read()))
        calls = len(self.compute.calls)
        seen = len(self.placement.seen)
        cmd = metrics.Metrics(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['--textfile', os.path.join(self.tmpdir, 'cloud.txt')])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('node_exporter reads only files named *.prom', str(e))
        self.assertEqual((calls, seen), (len(self.compute.calls),
                                         len(self.placement.seen)))


class HistoryTestCase(MetricsTestCase):
    """--history: the re-partitions the rebalance playbook recorded."""

    def test_repartitions_per_gpu_within_the_window(self):
        past = os.path.join(self.useFixture(
            fixtures.TempDir()).path, 'history')
        now = time.time()
        history.record(past, 'cn1', ['0000:41:00.0', '0000:81:00.0'],
                       now - 600)
        history.record(past, 'cn1', ['0000:41:00.0'], now - 60)
        # Outside a 1h window: not counted.
        history.record(past, 'cn2', ['0000:41:00.0'], now - 7200)
        got = parse(self.run_metrics('--window', '1h', '--no-unmet',
                                     '--history', past))
        done = {dict(k[1])['host'] + ' ' + dict(k[1])['gpu']: v
                for k, v in got.items()
                if k[0] == 'nova_mig_rebalance_repartitions'}
        self.assertEqual({'cn1 0000:41:00.0': 2.0,
                          'cn1 0000:81:00.0': 1.0}, done)
        name = 'nova_mig_rebalance_repartitions'
        self.assertEqual({'1h'}, {dict(k[1])['window'] for k in got
                                  if k[0] == name})

    def test_without_history_no_repartitions_metric(self):
        got = parse(self.run_metrics('--no-unmet'))
        self.assertFalse([k for k in got
                          if k[0] == 'nova_mig_rebalance_repartitions'])

    def test_bad_history_line_is_one_line(self):
        past = self.useFixture(fixtures.TempDir()).path
        path = history.day_file(past, time.time())
        with open(path, 'w') as f:
            f.write('{"time": "noon", "host": "cn1", "gpus": []}\n')
        e = self.assertRaises(osc_exc.CommandError, self.run_metrics,
                              '--no-unmet', '--history', past)
        self.assertTrue(str(e).startswith('%s: line 1.time: expected epoch '
                                          'seconds' % path), str(e))
