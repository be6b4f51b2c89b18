# SPDX-License-Identifier: Apache-2.0

"""tools/fleet_sim.py on a tiny fleet: baselines computed, invariants hold.

Not the headline ratios (a tiny fleet says nothing about them): that each
strategy is measured, that the searched best fixed fleet is at least the
last week's fleet it starts from, that rebalancing runs with the shipped
defaults, keeps the per-GPU daily budget and never moves a GPU instance
in use, and that nothing serves more than was offered.
"""

import json
import os
import subprocess
import sys

from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir, os.pardir))
TOOL = os.path.join(TOP, 'tools', 'fleet_sim.py')
STRATEGIES = {'a_best_fixed_requests', 'a_best_fixed_slice_hours',
              'b_fixed_last_week', 'c_rebalance_shipped'}


def hours(text):
    return demand.parse_window(text) / 3600.0


class FleetSimTestCase(base.TestCase):

    def simulate(self, *args):
        env = dict(os.environ, PYTHONPATH=TOP)
        result = subprocess.run(
            [sys.executable, TOOL, '--hosts', '4', '--gpus-per-host', '2',
             '--days', '1', '--search', '2', '--json'] + list(args),
            capture_output=True, text=True, env=env, timeout=600)
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout)

    def test_baselines_and_invariants_on_each_trace(self):
        results = self.simulate('--traces', 'drifting,stationary,scarce')
        self.assertEqual(['drifting', 'stationary', 'scarce'],
                         [r['trace'] for r in results])
        for result in results:
            kind = result['trace']
            runs = result['strategies']
            self.assertEqual(STRATEGIES, set(runs), kind)
            offered = result['offered']
            self.assertGreater(offered['requests'], 0, kind)
            for name, run in runs.items():
                self.assertLessEqual(run['served'], offered['requests'])
                self.assertEqual(offered['requests'],
                                 run['served'] + run['failed'], name)
                self.assertLessEqual(run['slice_hours'],
                                     offered['slice_hours'] + 1e-6, name)
                self.assertEqual(0, run['moved_in_use'], name)
                if not name.startswith('c_'):
                    self.assertEqual(0, run['reconfigurations'], name)
            fixed = runs['b_fixed_last_week']
            self.assertGreaterEqual(runs['a_best_fixed_requests']['served'],
                                    fixed['served'], kind)
            self.assertGreaterEqual(
                runs['a_best_fixed_slice_hours']['slice_hours'],
                fixed['slice_hours'], kind)
            self.assertGreaterEqual(result['fixed_fleets_searched'], 5)
            shipped = runs['c_rebalance_shipped']
            self.assertLessEqual(shipped['per_gpu_day_max'],
                                 defaults.MAX_PER_GPU_DAY, kind)
            self.assertAlmostEqual(
                shipped['served'] / runs['a_best_fixed_requests']['served'],
                result['ratios']['c/a requests'])
            self.assertEqual({'period': hours(defaults.RUN_PERIOD),
                              'window': hours(defaults.WINDOW),
                              'max_per_gpu_day': defaults.MAX_PER_GPU_DAY,
                              'demand': defaults.DEMAND, 'ahead': 0.0},
                             result['policy'])

    def test_a_budget_of_zero_changes_no_gpu(self):
        result, = self.simulate('--traces', 'drifting',
                                '--max-per-gpu-day', '0')
        shipped = result['strategies']['c_rebalance_shipped']
        self.assertEqual(0, shipped['reconfigurations'])
        self.assertEqual(0, result['policy']['max_per_gpu_day'])
        # Without a change the rebalanced fleet is last week's fleet.
        self.assertEqual(result['strategies']['b_fixed_last_week']['served'],
                         shipped['served'])
