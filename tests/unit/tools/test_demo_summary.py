# SPDX-License-Identifier: Apache-2.0

"""tools/demo_summary.py: the demo's one-screen summaries, from JSON."""

import json
import os
import subprocess
import sys

from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir, os.pardir))
TOOL = os.path.join(TOP, 'tools', 'demo_summary.py')


def gpu(index, instances, slices=8, mig='enabled'):
    return {'index': index, 'pci_address': '0000:%02x:00.0' % index,
            'model': 'NVIDIA A100', 'mig_mode': mig,
            'memory_slices': slices if mig == 'enabled' else 0,
            'gpu_instances': [
                {'profile': p, 'placement_start': s, 'placement_size': n,
                 'in_use': use, 'vgpu_devices': ['u'] if dev else []}
                for p, s, n, use, dev in instances]}


class DemoSummaryTestCase(base.TestCase):

    def summary(self, kind, doc, *args):
        result = subprocess.run([sys.executable, TOOL, kind] + list(args),
                                input=json.dumps(doc), capture_output=True,
                                text=True, check=True)
        return result.stdout

    def test_discover_draws_one_line_per_gpu(self):
        doc = {'hostname': 'cn1', 'device_mode': 'mdev', 'domains': [{}],
               'gpus': [gpu(0, [('3g.40gb', 4, 4, True, True),
                                ('1g.10gb', 0, 1, False, True),
                                ('2g.20gb', 2, 2, False, False)])],
               'vgpu_devices': [
                   {'type': 'nvidia-1', 'type_name': 'A-3-40C',
                    'domain': 'i-1'},
                   {'type': 'nvidia-2', 'type_name': 'A-1-10C',
                    'domain': None}]}
        out = self.summary('discover', doc)
        self.assertIn('GPU 0 0000:00:00.0 |=.--####| 1 1g.10gb, 1 2g.20gb, '
                      '1 3g.40gb', out)
        self.assertIn('vGPU devices: 2 (1 A-1-10C, 1 A-3-40C), 1 used by a '
                      'guest, 1 by none; 1', out)

    def test_no_mig_says_why_nothing_is_drawn(self):
        doc = {'hostname': 'cn1', 'device_mode': 'mdev', 'domains': [],
               'gpus': [gpu(0, [], mig='disabled')], 'vgpu_devices': []}
        out = ' '.join(self.summary('discover', doc).split())
        self.assertIn('MIG enabled on 0', out)
        self.assertIn('No GPU has MIG enabled, so there are no slices to '
                      'draw', out)
        path = os.path.join(self.tmpdir, 'discover.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        out = ' '.join(self.summary('profiles', {}, path).split())
        self.assertIn('The table is empty', out)

    def test_plan_counts_and_refusals(self):
        rows = [{'GPU': 'a', 'Action': 'create-gi', 'Description': 'x',
                 'Reason': 'r', 'Status': 'planned'},
                {'GPU': 'b', 'Action': 'refused', 'Description': 'y',
                 'Reason': 'in use', 'Status': 'refused'}]
        out = self.summary('plan', rows)
        self.assertIn('2 action(s) on 2 GPU(s): 1 create-gi, 1 refused.',
                      out)
        self.assertIn('Refused on 1 GPU(s), which keep what is in use: b.',
                      out)
        self.assertEqual('The host already matches the layout: nothing to '
                         'do.\n', self.summary('plan', []))

    def test_nova_config_diffstat(self):
        doc = {'snippet_path': '/s.conf', 'provider_config_path': '/p.yaml',
               'device_mode': 'mdev', 'enabled_mdev_types': ['nvidia-1'],
               'pci_devices': [], 'warnings': [],
               'restart_nova_compute': True,
               'snippet': '[devices]\nenabled_mdev_types = nvidia-1\n'
                          '[mdev_nvidia-1]\ndevice_addresses = a,b,c\n',
               'provider_config': '- identification:\n- identification:\n',
               'diff': '--- /s.conf\n+++ /s.conf (generated)\n@@\n-old\n'
                       '+new\n+more\n'}
        out = self.summary('nova-config', doc)
        self.assertIn('/s.conf: +2 -1 lines', out)
        self.assertIn('/p.yaml: unchanged', out)
        self.assertIn('1 [mdev_*] group(s) with 3 device address(es).', out)
        self.assertIn('traits for 2 GPU resource provider(s).', out)
