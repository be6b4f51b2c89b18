# SPDX-License-Identifier: Apache-2.0

"""The Grafana dashboard of etc/grafana asks only for what nova-mig emits."""

import json
import os
import re

from prometheus_client import parser

from nova_mig.metrics import cloud_gauges
from nova_mig.metrics import host_gauges
from nova_mig.metrics import textfile
from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir, os.pardir))
DASHBOARD = os.path.join(TOP, 'etc', 'grafana', 'nova-mig-dashboard.json')

REPORT = {
    'hostname': 'cn1',
    'gpus': [{'pci_address': '0000:41:00.0', 'model': 'NVIDIA A100',
              'mig_mode': 'enabled', 'mig_pending': 'enabled',
              'memory_slices': 8, 'gpu_instances': [
                  {'id': 1, 'profile': '3g.40gb', 'placement_start': 4,
                   'placement_size': 4, 'in_use': True,
                   'vgpu_devices': ['u1']}]}],
    'vgpu_devices': [{'gpu': '0000:41:00.0', 'type': 'nvidia-700',
                      'type_name': 'A100D-3-40C', 'profile': '3g.40gb',
                      'domain': 'instance-1'}],
}


def emitted():
    """Metric name -> label names, over every metric nova-mig writes."""
    registries = [
        host_gauges.registry(REPORT, host_gauges.Extra(
            orphans={'nvidia-699': 1},
            removable=0, checkpoint_time=1.0,
            drift={'0000:41:00.0': 0})),
        cloud_gauges.registry([cloud_gauges.Slices('cn1', 'A100', '3g.40gb',
                                                   'CUSTOM_MIG_3G_40GB', 2, 2,
                                                   1)],
                              {'3g.40gb': 1}, '24h',
                              {('cn1', '0000:41:00.0'): 1})]
    names = {}
    for registry in registries:
        for family in parser.text_string_to_metric_families(
                textfile.text(registry)):
            for sample in family.samples:
                names.setdefault(sample.name, set()).update(sample.labels)
    return names


def expressions(panels):
    for panel in panels:
        yield from ((panel['title'], t['expr'])
                    for t in panel.get('targets', ()))
        yield from expressions(panel.get('panels', ()))


class DashboardTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        with open(DASHBOARD) as f:
            self.dashboard = json.load(f)
        self.names = emitted()

    def test_every_expression_uses_emitted_metrics_and_labels(self):
        exprs = list(expressions(self.dashboard['panels']))
        self.assertGreaterEqual(len(exprs), 10)
        used = set()
        for title, expr in exprs:
            metrics = re.findall(r'\bnova_mig_\w+', expr)
            self.assertTrue(metrics, title)
            for name in metrics:
                self.assertIn(name, self.names, '%s: %s' % (title, expr))
                used.add(name)
            labels = set().union(*(self.names[m] for m in metrics))
            for group in re.findall(r'by \(([^)]*)\)', expr):
                for label in group.split(','):
                    self.assertIn(label.strip(), labels, title)
            for selector in re.findall(r'nova_mig_\w+\{([^}]*)\}', expr):
                for label in re.findall(r'(\w+)\s*=~?', selector):
                    self.assertIn(label, labels, title)
        # The host variable reads a metric every host writes.
        host_var = [v for v in self.dashboard['templating']['list']
                    if v['name'] == 'host'][0]
        self.assertIn('nova_mig_gpus', host_var['definition'])
        # The picture of the slice map is there, from the slice states.
        self.assertIn('nova_mig_gpu_slice_state', used)
        self.assertIn('nova_mig_unmet_boots', used)

    def test_slice_map_colours_name_every_state(self):
        panel = [p for p in self.dashboard['panels']
                 if p['type'] == 'status-history'][0]
        options = panel['fieldConfig']['defaults']['mappings'][0]['options']
        self.assertEqual(
            {str(k): v for k, v in host_gauges.SLICE_STATES.items()},
            {k: v['text'] for k, v in options.items()})
