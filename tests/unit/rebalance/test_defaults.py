# SPDX-License-Identifier: Apache-2.0

"""One set of rebalance defaults for the CLI, the playbook and the sim."""

import ast
import json
import os

import jinja2
import yaml

from nova_mig.osc.v1 import capacity
from nova_mig.osc.v1 import metrics
from nova_mig.osc.v1 import rebalance
from nova_mig.rebalance import defaults
from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir, os.pardir))
PLAYBOOK = os.path.join(TOP, 'playbooks', 'rebalance.yaml')


def plan_argv(**variables):
    """The plan command the playbook runs, rendered with ``variables``."""
    with open(PLAYBOOK, encoding='utf-8') as stream:
        plays = yaml.safe_load(stream)
    task = next(t for p in plays for t in p.get('tasks', ())
                if t.get('name') == 'Plan')
    play = next(p for p in plays if task in p['tasks'])
    env = jinja2.Environment()
    # Ansible's "bool" filter, for the strings -e gives.
    env.filters['bool'] = lambda v: str(v).lower() in ('true', 'yes', '1')
    scope = dict(variables)
    for name, template in play['vars'].items():
        scope[name] = env.from_string(template).render(scope)
    text = env.from_string(task['ansible.builtin.command']['argv']).render(
        scope)
    return ast.literal_eval(text.strip())


class DefaultsTestCase(base.TestCase):

    def test_the_commands_take_the_shared_defaults(self):
        parser = rebalance.PlanRebalance(None, None).get_parser('plan')
        args = parser.parse_args(['--hosts', 'h'])
        self.assertEqual(
            (defaults.WINDOW, defaults.MAX_PER_GPU_DAY, defaults.TIME_LIMIT),
            (args.window, args.max_per_gpu_day, args.time_limit))
        for cls in (capacity.ListCapacity, metrics.Metrics):
            args = cls(None, None).get_parser('mig').parse_args([])
            self.assertEqual(defaults.WINDOW, args.window)

    def test_the_plan_forecasts_as_the_shared_default_says(self):
        parser = rebalance.PlanRebalance(None, None).get_parser('plan')
        self.assertEqual(defaults.DEMAND == 'forecast',
                         parser.parse_args(['--hosts', 'h']).forecast)
        self.assertFalse(parser.parse_args(
            ['--hosts', 'h', '--no-forecast']).forecast)

    def test_the_playbook_leaves_the_defaults_to_the_command(self):
        argv = plan_argv()
        self.assertEqual(['openstack', 'mig', 'rebalance', 'plan'],
                         argv[:4])
        self.assertNotIn('--window', argv)
        self.assertNotIn('--max-per-gpu-day', argv)
        self.assertNotIn('--time-limit', argv)
        self.assertEqual('/var/tmp/nova-mig-rebalance/history',
                         argv[argv.index('--history') + 1])

    def test_the_playbook_passes_what_the_operator_sets(self):
        argv = plan_argv(rebalance_window='2h', rebalance_max_per_gpu_day=2,
                         rebalance_dir='/srv/rb')
        self.assertEqual('2h', argv[argv.index('--window') + 1])
        self.assertEqual('2', argv[argv.index('--max-per-gpu-day') + 1])
        self.assertEqual('/srv/rb/history',
                         argv[argv.index('--history') + 1])
        self.assertNotIn('--include-foreign', argv)
        argv = plan_argv(rebalance_include_foreign='true')
        self.assertIn('--include-foreign', argv)


def apply_task(name):
    with open(PLAYBOOK, encoding='utf-8') as stream:
        plays = yaml.safe_load(stream)
    return next(t for p in plays for t in p.get('tasks', ())
                if t.get('name') == name)


class RefusalTestCase(base.TestCase):
    """A host refusing GPUs is left out; any other failure stops the run."""

    def failed(self, rc, rows=None, stdout=None):
        expression = apply_task('Apply it GPU by GPU (a dry run unless '
                                'rebalance_apply)')['failed_when']
        env = jinja2.Environment()
        env.filters['from_json'] = json.loads
        if stdout is None:
            stdout = json.dumps([{'GPU': g, 'Status': s, 'Detail': ''}
                                 for g, s in rows or ()])
        text = env.from_string('{{ %s }}' % expression).render(
            applied={'rc': rc, 'stdout': stdout})
        return text.strip() == 'True'

    def test_verdicts(self):
        self.assertFalse(self.failed(0, [('0000:41:00.0', 'changed')]))
        self.assertFalse(self.failed(1, [('0000:41:00.0', 'changed'),
                                         ('0000:81:00.0', 'refused')]))
        self.assertTrue(self.failed(1, [('0000:41:00.0', 'failed'),
                                        ('0000:81:00.0', 'refused')]))
        self.assertTrue(self.failed(1, stdout=''))
        self.assertTrue(self.failed(2, [('0000:81:00.0', 'refused')]))
        # A dry run that would refuse a GPU exits 3 (REFUSED): reported,
        # the run goes on; a failed GPU in it still stops the run.
        self.assertFalse(self.failed(3, [('0000:41:00.0', 'would change'),
                                         ('0000:81:00.0', 'refused')]))
        self.assertTrue(self.failed(3, [('0000:41:00.0', 'failed')]))
