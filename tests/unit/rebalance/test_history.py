# SPDX-License-Identifier: Apache-2.0

"""The re-partition history the per-GPU daily budget counts."""

import datetime
import os

import fixtures

from nova_mig import exception
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import history
from tests import base
from tests.unit.rebalance import fakes

NOON = datetime.datetime(2026, 12, 4, 12, 0,
                         tzinfo=datetime.timezone.utc).timestamp()
DAY = 86400.0
GPU0 = '0000:41:00.0'
GPU1 = '0000:42:00.0'


def _hosts():
    gpus = [fakes.gpu_doc(i, instances=fakes.SEVEN_1G) for i in range(2)]
    doc = fakes.host_doc('cn1.example.org', *gpus)
    return [fleet.host_state(doc, 'cn1.json', 0)]


class HistoryTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.useFixture(fixtures.TempDir()).path,
                                'history')

    def test_only_the_days_lines_count(self):
        history.record(self.dir, 'cn1', [GPU0], NOON - DAY)
        history.record(self.dir, 'cn1', [GPU0, GPU1], NOON)
        history.record(self.dir, 'cn1', [GPU0], NOON + 3600)
        self.assertEqual(['2026-12-03.jsonl', '2026-12-04.jsonl'],
                         sorted(os.listdir(self.dir)))
        counts = history.load(self.dir, NOON + 7200).today
        self.assertEqual({('cn1', GPU0): 2, ('cn1', GPU1): 1}, dict(counts))
        self.assertEqual({}, dict(history.load(self.dir,
                                               NOON + 2 * DAY).today))

    def test_last_grow_per_profile_within_the_window(self):
        history.record(self.dir, 'cn1', [GPU0], NOON - DAY, ['7g.80gb'])
        history.record(self.dir, 'cn1', [GPU0], NOON - 3600,
                       ['3g.40gb', '7g.80gb'])
        history.record(self.dir, 'cn2', [GPU1], NOON - 600, ['3g.40gb'])
        past = history.load(self.dir, NOON, window=2 * DAY)
        self.assertEqual({'7g.80gb': NOON - 3600, '3g.40gb': NOON - 600},
                         past.grown)
        # Yesterday's file is read for the window, not for the budget.
        self.assertEqual({('cn1', GPU0): 1, ('cn2', GPU1): 1},
                         dict(past.today))
        past = history.load(self.dir, NOON, window=1800)
        self.assertEqual({'3g.40gb': NOON - 600}, past.grown)

    def test_missing_directory_is_an_empty_history(self):
        past = history.load(self.dir, NOON, window=DAY)
        self.assertEqual(({}, {}), (dict(past.today), past.grown))

    def test_short_host_name_matches(self):
        hosts = _hosts()
        history.record(self.dir, 'cn1', [GPU1], NOON)
        history.apply(hosts, history.load(self.dir, NOON).today)
        self.assertEqual({GPU0: 0, GPU1: 1},
                         {g.pci_address: g.changes_today
                          for g in hosts[0].gpus})

    def test_bad_lines_name_line_and_key(self):
        cases = [('not json', 'line 1: not JSON'),
                 ('[1]', 'line 1: expected an object with the keys'),
                 ('{"time": 1, "host": "h", "gpus": [], "profiles": "x"}',
                  'line 1.profiles: expected a list of MIG profile names'),
                 ('{"time": 1, "host": "", "gpus": []}',
                  'line 1.host: expected a host name'),
                 ('{"time": true, "host": "h", "gpus": []}',
                  'line 1.time: expected epoch seconds'),
                 ('{"time": 1, "host": "h", "gpus": [3]}',
                  'line 1.gpus: expected a list of PCI addresses'),
                 ('{"time": 1, "host": "h", "gpus": [], "x": 1}',
                  'line 1: expected an object with the keys gpus, host, '
                  'time (and optionally profiles)')]
        for text, message in cases:
            e = self.assertRaises(exception.RebalanceInputError,
                                  history.parse, text + '\n', 'f.jsonl')
            self.assertTrue(str(e).startswith('f.jsonl: ' + message),
                            (text, str(e)))


class BudgetTestCase(base.TestCase):

    def test_gpu_at_budget_is_not_planned(self):
        wanted = [demand.Demand('7g.80gb', 2)]
        hosts = _hosts()
        hosts[0].gpus[0].changes_today = 1
        result = fleet_plan.build(hosts, wanted, max_per_gpu_day=1)
        self.assertEqual([GPU1], [c.pci_address for c in result.changes])
        self.assertEqual(['cn1.example.org %s' % GPU0], result.at_budget)
        self.assertEqual(1, result.rows[0].free_after)
        document = result.as_dict()
        self.assertEqual((1, ['cn1.example.org %s' % GPU0]),
                         (document['max_per_gpu_day'],
                          document['at_budget']))

    def test_no_budget_plans_every_gpu(self):
        hosts = _hosts()
        hosts[0].gpus[0].changes_today = 5
        result = fleet_plan.build(hosts, [demand.Demand('7g.80gb', 2)])
        self.assertEqual(2, len(result.changes))
        self.assertEqual([], result.at_budget)
        result = fleet_plan.build(hosts, [demand.Demand('7g.80gb', 2)],
                                  max_per_gpu_day=0)
        self.assertEqual([], result.changes)
        self.assertEqual(2, len(result.at_budget))
