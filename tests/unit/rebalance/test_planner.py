# SPDX-License-Identifier: Apache-2.0

"""``planner.plan_cloud``: the whole rebalance plan in one library call."""

import json
import os
import sys
import types
from unittest import mock

import fixtures

from nova_mig import exception
from nova_mig.rebalance import planner
from tests import base
from tests.unit.flavor import fakes as flavor_fakes
from tests.unit.osc.v1 import fakes
from tests.unit.rebalance import fakes as rebalance_fakes


class PlanCloudTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.hosts = os.path.join(self.dir, 'hosts')
        os.mkdir(self.hosts)
        rebalance_fakes.write(self.hosts, rebalance_fakes.host_doc(
            'cn1', rebalance_fakes.gpu_doc(
                0, instances=rebalance_fakes.SEVEN_1G)))
        self.placement = flavor_fakes.FakePlacementAdapter()
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 7, 0)
        self.compute = fakes.Compute()
        self.cloud = rebalance_fakes.Cloud(self.placement, self.compute)

    def targets(self, line):
        path = os.path.join(self.dir, 'targets.yaml')
        with open(path, 'w') as stream:
            stream.write('version: 1\ntargets:\n  - %s\n' % line)
        return path

    def test_unmet_boots_are_planned_for_and_the_layouts_written(self):
        self.compute.fail_boot(fakes.RC3G, 2)
        out = os.path.join(self.dir, 'out')
        outcome = planner.plan_cloud(self.cloud, planner.Request(
            hosts_dir=self.hosts, window=86400, output_dir=out))
        [row] = outcome.plan.rows
        self.assertEqual(('3g.40gb', 2, 0, 2),
                         (row.profile, row.wanted, row.free_before,
                          row.free_after))
        self.assertEqual(['cn1'], outcome.plan.hosts_touched)
        self.assertEqual(['cn1.yaml', 'plan.json'], sorted(os.listdir(out)))
        with open(os.path.join(out, planner.PLAN_FILE)) as stream:
            self.assertEqual(1, json.load(stream)['gpus_touched'])
        self.assertGreaterEqual(outcome.seconds, 0.0)

    def test_the_compute_api_is_left_alone_when_not_needed(self):
        # Cloud-wide targets and no failed boots counted: Placement only,
        # so a cloud without a Compute API can still be planned.
        outcome = planner.plan_cloud(self.cloud, planner.Request(
            hosts_dir=self.hosts, window=86400, unmet=False,
            targets=self.targets('{profile: 7g.80gb, min_free: 1}')))
        self.assertEqual([('7g.80gb', '', 1)],
                         [(r.profile, r.scope, r.free_after)
                          for r in outcome.plan.rows])
        self.assertEqual(['placement'], sorted(set(self.cloud.asked)))

    def test_scoped_targets_read_the_aggregates(self):
        self.compute.aggs = [types.SimpleNamespace(
            name='train', hosts=['cn1'], availability_zone='az1')]
        outcome = planner.plan_cloud(self.cloud, planner.Request(
            hosts_dir=self.hosts, window=86400, unmet=False,
            targets=self.targets('{profile: 7g.80gb, min_free: 1, '
                                 'availability_zone: az1}')))
        self.assertEqual([('az:az1', 1)],
                         [(r.scope, r.covered_after)
                          for r in outcome.plan.rows])
        self.assertIn('compute', self.cloud.asked)

    def test_without_the_solver_nothing_is_read(self):
        with mock.patch.dict(sys.modules, {'scipy': None, 'numpy': None}):
            self.assertRaises(exception.RebalanceExtraMissing,
                              planner.plan_cloud, self.cloud,
                              planner.Request(hosts_dir=self.hosts,
                                              window=86400))
        self.assertEqual([], self.cloud.asked)

    def test_a_bad_targets_file_is_refused_before_the_cloud_is_read(self):
        path = self.targets('{profile: 2g.24gb, min_free: 1}')
        e = self.assertRaises(exception.RebalanceInputError,
                              planner.plan_cloud, self.cloud,
                              planner.Request(hosts_dir=self.hosts,
                                              window=86400, targets=path))
        self.assertTrue(str(e).startswith(path), str(e))
        self.assertEqual([], self.cloud.asked)
