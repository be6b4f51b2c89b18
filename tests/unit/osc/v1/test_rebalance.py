# SPDX-License-Identifier: Apache-2.0

"""``openstack mig rebalance plan`` over a fake cloud."""

import datetime
import os
import sys
import time
import types
from unittest import mock

import fixtures
from osc_lib import exceptions as osc_exc

from nova_mig import naming
from nova_mig.osc.v1 import rebalance
from nova_mig.rebalance import forecast
from nova_mig.rebalance import history
from tests.unit.osc import base
from tests.unit.osc.v1 import fakes
from tests.unit.rebalance import fakes as rebalance_fakes


class PlanTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.compute = fakes.Compute()
        self.app.client_manager.sdk_connection.compute = self.compute
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.hosts = os.path.join(self.dir, 'hosts')
        os.mkdir(self.hosts)
        gpu = rebalance_fakes.gpu_doc(0, instances=rebalance_fakes.SEVEN_1G)
        rebalance_fakes.write(self.hosts,
                              rebalance_fakes.host_doc('cn1', gpu))
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 7, 0)

    def test_plan_covers_unmet_and_writes_layouts(self):
        self.compute.fail_boot(fakes.RC3G, 2)
        out = os.path.join(self.dir, 'out')
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--output-dir', out)
        self.assertEqual([{'Profile': '3g.40gb', 'Scope': 'cloud',
                           'Wanted': 2, 'Free Before': 0, 'Free After': 2,
                           'Covered Before': 0, 'Covered After': 2}], rows)
        self.assertEqual(['cn1.yaml', 'plan.json'], sorted(os.listdir(out)))
        self.assertIn('1 GPU(s) on 1 host(s) to change',
                      self.app.stderr.getvalue())

    def test_disagreeing_host_is_left_out(self):
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 1, 1,
                       name='_pci_0000_41_00_5')
        self.compute.fail_boot(fakes.RC3G)
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts)
        self.assertEqual(0, rows[0]['Covered After'])
        self.assertIn('left out: cn1: Placement counts 1 used 1g.10gb',
                      self.app.stderr.getvalue())

    def test_targets_with_unknown_profile(self):
        targets = os.path.join(self.dir, 't.yaml')
        with open(targets, 'w') as stream:
            stream.write('version: 1\ntargets:\n'
                         '  - {profile: 2g.24gb, min_free: 1}\n')
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts',
                              self.hosts, '--targets', targets)
        self.assertTrue(str(e).startswith(
            '%s: profile 2g.24gb: no GPU of the planned hosts offers it'
            % targets), str(e))

    def test_scoped_target_reads_aggregates(self):
        targets = os.path.join(self.dir, 't.yaml')
        with open(targets, 'w') as stream:
            stream.write('version: 1\ntargets:\n  - {profile: 7g.80gb, '
                         'min_free: 1, aggregate: train}\n')
        self.compute.aggs = [types.SimpleNamespace(
            name='train', hosts=['cn1'], availability_zone=None)]
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--targets', targets, '--no-unmet')
        self.assertEqual([('aggregate:train', 1)],
                         [(r['Scope'], r['Covered After']) for r in rows])

    def test_missing_hosts_directory_is_one_line(self):
        missing = os.path.join(self.dir, 'nowhere')
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts', missing)
        self.assertTrue(str(e).startswith(missing + ': --hosts: '), str(e))
        self.assertNotIn('\n', str(e))

    def test_placement_refusing_is_one_line(self):
        self.placement.status = 403
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts',
                              self.hosts)
        self.assertIn('Placement', str(e))
        self.assertNotIn('\n', str(e))

    def test_bad_max_gpus(self):
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts',
                              self.hosts, '--max-gpus', '-1')
        self.assertEqual('--max-gpus: must be 0 or more', str(e))

    def test_without_scipy_names_the_extra(self):
        # A host installed without the "rebalance" extra: SciPy cannot be
        # imported. One line naming the extra, before anything is read.
        self.compute.fail_boot(fakes.RC3G, 2)
        with mock.patch.dict(sys.modules, {'scipy': None, 'numpy': None}):
            e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                                  rebalance.PlanRebalance, '--hosts',
                                  os.path.join(self.dir, 'nowhere'))
        self.assertEqual(
            "The rebalance planner needs SciPy, which is not installed "
            "(import of numpy halted; None in sys.modules): pip install "
            "'nova-mig[rebalance]' on the host that plans (an admin "
            "workstation, not a compute host).", str(e))

    def test_gpu_at_its_daily_budget_keeps_its_geometry(self):
        self.compute.fail_boot(fakes.RC3G, 2)
        past = os.path.join(self.dir, 'history')
        history.record(past, 'cn1', ['0000:41:00.0'])
        out = os.path.join(self.dir, 'out')
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--history', past, '--output-dir', out)
        self.assertEqual(0, rows[0]['Free After'])
        self.assertEqual(['plan.json'], sorted(os.listdir(out)))
        err = self.app.stderr.getvalue()
        self.assertIn('at most 1 re-partition(s) per GPU per UTC day; 1 '
                      'GPU(s) reached it', err)
        self.assertIn('at budget: cn1 0000:41:00.0', err)
        # A budget of 2 lets the same GPU change once more today.
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--history', past, '--max-per-gpu-day', '2')
        self.assertEqual(2, rows[0]['Free After'])

    def test_bad_history_line_is_one_line(self):
        self.compute.fail_boot(fakes.RC3G)
        past = os.path.join(self.dir, 'history')
        path = history.record(past, 'cn1', ['0000:41:00.0'])
        with open(path, 'a') as stream:
            stream.write('{"time": "noon", "host": "cn1", "gpus": []}\n')
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts',
                              self.hosts, '--history', past)
        self.assertTrue(str(e).startswith('%s: line 2.time: expected epoch '
                                          'seconds' % path), str(e))

    def test_bad_max_per_gpu_day(self):
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              rebalance.PlanRebalance, '--hosts',
                              self.hosts, '--max-per-gpu-day', '-1')
        self.assertEqual('--max-per-gpu-day: must be 0 or more', str(e))

    def test_boots_before_their_profile_grew_are_not_counted_again(self):
        self.compute.fail_boot(fakes.RC3G, 3)
        for server, hours in zip(self.compute.failed, (3, 2, 0)):
            server.created_at = (datetime.datetime.now(
                datetime.timezone.utc) - datetime.timedelta(
                hours=hours, minutes=5)).isoformat()
        past = os.path.join(self.dir, 'history')
        history.record(past, 'cn9', ['0000:41:00.0'],
                       time.time() - 3600, ['3g.40gb'])
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--history', past)
        self.assertEqual(1, rows[0]['Wanted'])
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts)
        self.assertEqual(3, rows[0]['Wanted'])

    def test_history_records_a_demand_sample_and_forecasts(self):
        past = os.path.join(self.dir, 'history')
        now = time.time()
        # A day of samples: 3g.40gb instances in use every hour, the
        # fleet now has none of it (7 x 1g.10gb free).
        for h in range(24, 0, -1):
            forecast.record(past, forecast.Sample(
                now - h * 3600, {('3g.40gb', ''): 2}))
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--history', past)
        self.assertEqual([('3g.40gb', 'cloud', 2, 2)],
                         [(r['Profile'], r['Scope'], r['Wanted'],
                           r['Free After']) for r in rows])
        last = forecast.load(past, time.time())[-1]
        self.assertGreaterEqual(last.time, now)
        self.assertEqual({}, dict(last.used))
        # --no-forecast: the boots counted once only (none), no sample.
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--history', past, '--no-forecast')
        self.assertEqual([], rows)
        self.assertEqual(last.time, forecast.load(past, time.time())[-1].time)

    def test_boots_requiring_a_gpu_model_ask_for_that_model(self):
        scheme = naming.Scheme()
        for model, free_after in (('NVIDIA H100 80GB HBM3', 0),
                                  (rebalance_fakes.MODEL_NAMES[
                                      rebalance_fakes.A100_80], 2)):
            self.compute.failed.clear()
            self.compute.fail_boot(fakes.RC3G, 2)
            trait = scheme.model_trait(model)
            for server in self.compute.failed:
                server.flavor.extra_specs['trait:' + trait] = 'required'
            rows = self.run_cmd(rebalance.PlanRebalance, '--hosts',
                                self.hosts)
            self.assertEqual([('3g.40gb', 'trait:' + trait, 2, free_after)],
                             [(r['Profile'], r['Scope'], r['Wanted'],
                               r['Free After']) for r in rows])

    def test_foreign_device_stays_unless_include_foreign(self):
        doc = rebalance_fakes.host_doc(
            'cn1', rebalance_fakes.gpu_doc(
                0, instances=rebalance_fakes.SEVEN_1G),
            devices=tuple({'uuid': 'u%d' % gi, 'gpu': '0000:41:00.0',
                           'gpu_instance_id': gi, 'owned': False,
                           'type_name': 'NVIDIA A100D-1-10C'}
                          for gi in (1, 2)))
        rebalance_fakes.write(self.hosts, doc)
        self.compute.fail_boot(fakes.RC3G, 2)
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts)
        # Slices 0 and 1 stay: one 3g.40gb fits (at 4), not two.
        self.assertEqual(1, rows[0]['Free After'])
        rows = self.run_cmd(rebalance.PlanRebalance, '--hosts', self.hosts,
                            '--include-foreign')
        self.assertEqual(2, rows[0]['Free After'])
