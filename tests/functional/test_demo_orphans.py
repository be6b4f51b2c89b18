# SPDX-License-Identifier: Apache-2.0

"""The orphan story of ``tools/quickstart.sh demo --scenario orphans``.

On the simulated T4 host with the embedded cloud: the reaper reads the
instances' allocations from the embedded Placement and the nova-compute
service from the embedded cloud's records, and removes the device
nova-mig created once the service is disabled.
"""

import json
import os

from nova_mig.simulator import cloud
from tests.functional import base

LAYOUTS = os.path.join(base.REPO, 'etc', 'nova-mig', 'layouts')
FOREIGN_8C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000801'


class TestOrphanStory(base.CliTestCase):

    def setUp(self):
        super().setUp()
        state = os.path.join(self.tmpdir, 'state')
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        os.makedirs(os.path.join(self.tmpdir, 'proc'))
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-234\n')
        self.conf = self.write_conf(
            base.host_file('t4-orphans.yaml'),
            extra='[placement_sync]\nembedded = true\n'
                  '[reaper]\ngrace_period = 0\nnova_config_files = %s\n'
                  'proc_root = %s\n'
                  '[nova]\nconfig_snippet = %s\n'
                  % (nova_conf, os.path.join(self.tmpdir, 'proc'),
                     os.path.join(self.tmpdir, 'none.conf')))
        self.services = cloud.ComputeServices(state)

    def cli(self, *args):
        return self.nova_mig(*args, conf_file=self.conf)

    def decisions(self, *args):
        rc, out, err = self.cli('reap', *args, '-f', 'json')
        return rc, {r['device']: r for r in json.loads(out or '[]')}, err

    def test_reap_apply_under_the_embedded_cloud(self):
        rc, out, err = self.cli('layout', 'apply',
                                os.path.join(LAYOUTS, 't4-8c.yaml'))
        self.assertEqual(0, rc, out + err)
        rc, rows, err = self.decisions()
        self.assertEqual(0, rc, err)
        owned = [d for d, r in rows.items() if r['decision'] == 'remove']
        self.assertEqual(1, len(owned))
        reasons = rows[owned[0]]['reasons']
        self.assertIn('no in-flight Placement allocation on its parent',
                      reasons)
        self.assertIn('created by nova-mig', reasons)
        self.assertIn('not created by nova-mig (foreign; see '
                      '--include-foreign)', rows[FOREIGN_8C]['reasons'])

        # The embedded cloud's nova-compute is enabled: nothing removed.
        rc, _out, err = self.cli('reap', '--apply')
        self.assertEqual(1, rc)
        self.assertIn('is enabled in the Compute API', err)

        self.services.set('compute-t4-1', enabled=False, reason='drained')
        rc, rows, err = self.decisions('--apply')
        self.assertEqual(0, rc, err)
        self.assertTrue(rows[owned[0]]['result'].startswith('removed'))
        self.assertEqual('kept', rows[FOREIGN_8C]['result'])

    def test_reaper_reads_the_embedded_placement(self):
        # Without [placement_sync]embedded the reaper would say "Placement
        # allocations unknown" for every device.
        rc, rows, err = self.decisions()
        self.assertEqual(0, rc, err)
        for row in rows.values():
            self.assertNotIn('Placement allocations unknown',
                             row['reasons'])

    def test_service_records(self):
        self.assertEqual('enabled', self.services.get('h').status)
        self.services.set('h', enabled=False, reason='r')
        found = list(self.services.services(binary='nova-compute',
                                            host='h'))
        self.assertEqual([('h', 'disabled', 'r')],
                         [(s.host, s.status, s.disabled_reason)
                          for s in found])
