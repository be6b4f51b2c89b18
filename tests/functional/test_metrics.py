# SPDX-License-Identifier: Apache-2.0

"""``nova-mig metrics`` on the simulated hosts, read back with Prometheus'
own parser (the one node_exporter's textfile collector agrees with)."""

import collections
import json
import os
import time

from prometheus_client import parser

from nova_mig.metrics import host_gauges
from tests.functional import base
from tests.functional import layout_base


def samples(text):
    """Metric name -> [(labels, value)] of the exposition text."""
    found = collections.defaultdict(list)
    for family in parser.text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name].append((sample.labels, sample.value))
    return found


class TestHostMetrics(base.CliTestCase):

    def run_host(self, host, *args, extra=''):
        conf = self.write_conf(base.host_file(host), extra=extra)
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        report = json.loads(out)
        rc, out, err = self.nova_mig('metrics', *args, conf_file=conf)
        self.assertEqual(0, rc, err)
        return report, out, err

    def test_a100_mixed_matches_discover(self):
        report, text, _ = self.run_host('a100-mixed.yaml')
        found = samples(text)
        host = report['hostname']
        self.assertEqual([({'host': host, 'model': 'NVIDIA A100 80GB PCIe'},
                           2.0)], found['nova_mig_gpus'])
        # GPU instances per GPU and profile, and those in use.
        want = collections.Counter()
        want_used = collections.Counter()
        for gpu in report['gpus']:
            for gi in gpu['gpu_instances']:
                want[(gpu['pci_address'], gi['profile'])] += 1
                want_used[(gpu['pci_address'], gi['profile'])] += gi[
                    'in_use']
        self.assertEqual(dict(want), {
            (s['gpu'], s['profile']): v
            for s, v in found['nova_mig_gpu_instances']})
        self.assertEqual(dict(want_used), {
            (s['gpu'], s['profile']): v
            for s, v in found['nova_mig_gpu_instances_in_use']})
        self.assertIn(1, want_used.values())
        # vGPU devices: every one counted once, in_guest when a domain
        # uses it.
        states = collections.Counter()
        for labels, value in found['nova_mig_vgpu_devices']:
            states[labels['state']] += value
        self.assertEqual(
            {'in_guest': sum(1 for d in report['vgpu_devices']
                             if d['domain']),
             'no_guest': sum(1 for d in report['vgpu_devices']
                             if not d['domain'])},
            {k: states[k] for k in ('in_guest', 'no_guest')})
        # No apply ever ran: the checkpoint time is 0.
        self.assertEqual([({'host': host}, 0.0)], found[
            'nova_mig_layout_checkpoint_timestamp_seconds'])
        # Without Nova's configuration orphans cannot be told apart.
        self.assertEqual(
            {'orphans': 0.0, 'checkpoint': 1.0},
            {s['collector']: v
             for s, v in found['nova_mig_host_collector_success']})
        self.assertNotIn('nova_mig_vgpu_orphans', found)

    def test_slice_map_follows_the_placements(self):
        report, text, _ = self.run_host('a100-mixed.yaml')
        got = {(s['gpu'], int(s['slice'])): (s['profile'], v)
               for s, v in samples(text)['nova_mig_gpu_slice_state']}
        for gpu in report['gpus']:
            covered = {}
            for gi in gpu['gpu_instances']:
                state = (3.0 if gi['in_use'] else
                         2.0 if gi['vgpu_devices'] else 1.0)
                for i in range(gi['placement_start'],
                               gi['placement_start'] +
                               gi['placement_size']):
                    covered[i] = (gi['profile'], state)
            for i in range(gpu['memory_slices']):
                self.assertEqual(covered.get(i, ('', 0.0)),
                                 got[(gpu['pci_address'], i)])
        self.assertEqual({0.0, 1.0, 2.0, 3.0} - {0.0},
                         {v for _, v in got.values()} - {0.0})
        self.assertEqual(set(host_gauges.SLICE_STATES),
                         {0, 1, 2, 3})

    def test_t4_orphans_counted_by_type(self):
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-234\n')
        proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(proc)
        report, text, _ = self.run_host(
            't4-orphans.yaml',
            extra='[reaper]\nnova_config_files = %s\nproc_root = %s\n'
                  % (nova_conf, proc))
        found = samples(text)
        unused = collections.Counter(
            d['type'] for d in report['vgpu_devices']
            if not d['domain'] and d['type'] != 'nvidia-234')
        self.assertTrue(unused)
        self.assertEqual(dict(unused), {
            s['type']: v for s, v in found['nova_mig_vgpu_orphans']})
        # None is nova-mig's: the reaper removes none without
        # --include-foreign.
        self.assertEqual([0.0], [v for _, v in
                                 found['nova_mig_vgpu_removable']])

    def test_textfile_is_replaced_whole(self):
        path = os.path.join(self.tmpdir, 'nova-mig.prom')
        with open(path, 'w') as f:
            f.write('stale\n')
        _, out, err = self.run_host('h100-sxm5-8x.yaml', '--textfile',
                                    path)
        self.assertEqual('', out)
        self.assertIn('Wrote %s' % path, err)
        with open(path) as f:
            found = samples(f.read())
        self.assertEqual(8.0, sum(v for _, v in found['nova_mig_gpus']))
        self.assertEqual(['nova-mig.prom'], os.listdir(self.tmpdir) and
                         [n for n in os.listdir(self.tmpdir)
                          if n.startswith('nova-mig.prom')])

    def test_textfile_must_be_prom_and_nothing_is_written(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        path = os.path.join(self.tmpdir, 'metrics.txt')
        rc, out, err = self.nova_mig('metrics', '--textfile', path,
                                     conf_file=conf)
        self.assertEqual(1, rc)
        self.assertEqual('nova-mig: error: %s: cannot write: node_exporter '
                         'reads only files named *.prom\n' % path, err)
        self.assertFalse(os.path.exists(path))

    def test_unwritable_directory_is_one_line(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        path = os.path.join(self.tmpdir, 'missing', 'nova-mig.prom')
        rc, out, err = self.nova_mig('metrics', '--textfile', path,
                                     conf_file=conf)
        self.assertEqual(1, rc)
        self.assertEqual('nova-mig: error: %s: cannot write: no directory '
                         '%s\n' % (path, os.path.dirname(path)), err)


class TestCheckpointMetrics(layout_base.LayoutTestCase):
    """The last apply's checkpoint: when, and how far each GPU is from it."""

    FORCE = '--force-with-enabled-service'

    def metrics(self):
        rc, out, err = self.cli('metrics')
        self.assertEqual(0, rc, err)
        found = samples(out)
        return ({s['gpu']: v
                 for s, v in found['nova_mig_layout_drift_actions']},
                found['nova_mig_layout_checkpoint_timestamp_seconds'][0][1])

    def test_drift_after_a_reboot_and_back_after_restore(self):
        exported = os.path.join(self.tmpdir, 'exported.yaml')
        rc, _out, err = self.cli('layout', 'export', '-o', exported)
        self.assertEqual(0, rc, err)
        before = time.time()
        rc, out, err = self.cli('layout', 'apply', exported, self.FORCE)
        self.assertEqual(0, rc, out + err)
        drift, written = self.metrics()
        self.assertEqual({'0000:41:00.0': 0.0, '0000:81:00.0': 0.0}, drift)
        self.assertGreaterEqual(written, int(before))

        self.backend.wipe()
        drift, again = self.metrics()
        self.assertEqual(written, again)
        self.assertTrue(all(v > 0 for v in drift.values()), drift)

        rc, out, err = self.cli('layout', 'restore')
        self.assertEqual(0, rc, out + err)
        drift, _ = self.metrics()
        self.assertEqual({0.0}, set(drift.values()))
