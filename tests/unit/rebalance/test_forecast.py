# SPDX-License-Identifier: Apache-2.0

"""The demand forecast: series, Holt-Winters, samples, the plan's rows."""

import math
import os

import fixtures

from nova_mig import exception
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand
from nova_mig.rebalance import forecast
from tests import base

H = forecast.HOUR
CLOUD = demand.CLOUD
SMALL = ('1g.10gb', CLOUD)
LARGE = ('7g.80gb', CLOUD)


def daily(hour):
    """Day/night instances: small ones by day, large ones by night."""
    day = (1 + math.cos(2 * math.pi * (hour % 24 - 14) / 24)) / 2
    return {SMALL: round(20 * day), LARGE: round(4 * (1 - day))}


def samples_of(hours, start=0.0, pattern=daily):
    return [forecast.Sample(start + h * H, pattern(h)) for h in range(hours)]


class SeriesTestCase(base.TestCase):

    def test_instances_weighted_by_slices_and_hours(self):
        samples = [forecast.Sample(0.0, {SMALL: 3, LARGE: 1}),
                   forecast.Sample(H, {SMALL: 1}),
                   forecast.Sample(1.5 * H, {SMALL: 5})]
        start, by_key = forecast.series(samples, 2.5 * H)
        self.assertEqual(0.0, start)
        # A 7g instance weighs seven 1g ones; a key missing from a sample
        # is 0 then; an hour's samples are averaged; the last is carried
        # over an hour without a sample.
        self.assertEqual([3.0, 3.0, 3.0], by_key[SMALL])
        self.assertEqual([7.0, 0.0, 0.0], by_key[LARGE])

    def test_failed_boot_counts_for_its_profile_lifetime(self):
        samples = [forecast.Sample(0.0, {}, {LARGE: 2}),
                   forecast.Sample(3 * H, {}, {SMALL: 1})]
        _, by_key = forecast.series(samples, 4 * H, {'7g.80gb': 2.5})
        # Two 7g boots failed at 00:00, their profile's servers ran 2.5 h:
        # 2 x 7 slices for 2.5 hours.
        self.assertEqual([14.0, 14.0, 7.0, 0.0, 0.0], by_key[LARGE])
        # No lifetime known for 1g.10gb: DEFAULT_LIFETIME hours.
        self.assertEqual(forecast.DEFAULT_LIFETIME,
                         sum(by_key[SMALL]))

    def test_no_samples_no_series(self):
        self.assertEqual({}, forecast.series([], 100.0)[1])


class HoltWintersTestCase(base.TestCase):

    def test_daily_pattern_recovered(self):
        values = [10 + 8 * math.sin(2 * math.pi * h / 24) for h in range(96)]
        found = forecast.holt_winters(values, 24)
        expected = [10 + 8 * math.sin(2 * math.pi * h / 24)
                    for h in range(96, 120)]
        for f, e in zip(found, expected):
            self.assertAlmostEqual(e, f, delta=0.5)
        # The peak is forecast at the hour it comes, not now.
        self.assertEqual(expected.index(max(expected)),
                         found.index(max(found)))

    def test_weekly_pattern_weighs_last_week(self):
        # A quiet day once a week (day 6): a daily season alone forecasts
        # an ordinary day; last week's same hours pull it down.
        def value(h):
            return 2.0 if (h // 24) % 7 == 6 else 12.0
        values = [value(h) for h in range(2 * 168 - 24)]
        quiet = forecast.holt_winters(values, 24)
        plain = forecast.holt_winters(
            values, 24, forecast.Params(weekly=0.0))
        self.assertLess(max(quiet), max(plain) - 2)
        self.assertGreater(min(plain), 10)

    def test_short_series_smooths_the_level(self):
        self.assertEqual([5.0, 5.0], forecast.holt_winters([5.0] * 6, 2))
        self.assertEqual([], forecast.holt_winters([], 3))

    def test_never_negative(self):
        values = [0.0] * 23 + [50.0] + [0.0] * 48
        self.assertTrue(all(f >= 0 for f in forecast.holt_winters(values,
                                                                  48)))


class WantedTestCase(base.TestCase):

    def test_targets_the_coming_peak_not_the_current_mix(self):
        # Three days of day/night demand; now is 20:00 of day 4: few large
        # in use now, the night's peak coming.
        now = (3 * 24 + 20) * H
        samples = samples_of(3 * 24 + 21)
        used = daily(3 * 24 + 20)
        rows = forecast.wanted(samples, now, used, ahead=8)
        self.assertGreaterEqual(rows[LARGE], 4 - used[LARGE] - 1)
        self.assertNotIn(SMALL, rows)
        # The hour ahead only: no room for the night yet.
        near = forecast.wanted(samples, now, used, ahead=1)
        self.assertLess(near.get(LARGE, 0), rows[LARGE])

    def test_per_model_scope_is_its_own_row(self):
        scoped = ('7g.80gb', demand.trait_scope('CUSTOM_H100'))
        samples = [forecast.Sample(h * H, {SMALL: 2}, {scoped: 1})
                   for h in range(6)]
        rows = forecast.wanted(samples, 5 * H, {SMALL: 2}, ahead=2,
                               lifetimes={'7g.80gb': 3.0})
        # The model-bound failures form their own series (3 boots
        # running at once), the cloud-wide instances theirs.
        self.assertEqual({scoped: 3}, rows)

    def test_scaled_to_the_free_slices(self):
        samples = [forecast.Sample(0.0, {SMALL: 14, LARGE: 2})]
        rows = forecast.wanted(samples, 0.0, {}, ahead=1)
        self.assertEqual({SMALL: 14, LARGE: 2}, rows)
        # 28 slices wanted, 14 free: half of each.
        rows = forecast.wanted(samples, 0.0, {}, ahead=1, free_slices=14)
        self.assertEqual({SMALL: 7, LARGE: 1}, rows)

    def test_no_samples_falls_back_to_the_counted_demand(self):
        self.assertIsNone(forecast.wanted([], 0.0, {}, ahead=4))
        counted = [demand.Demand('3g.40gb', 2, CLOUD, 'unmet')]
        self.assertEqual(counted, forecast.merge(counted, {}))

    def test_merge_keeps_the_larger_row(self):
        counted = [demand.Demand('3g.40gb', 2, CLOUD, 'unmet'),
                   demand.Demand('1g.10gb', 5, CLOUD, 'target')]
        merged = forecast.merge(counted, {('3g.40gb', CLOUD): 1,
                                          ('1g.10gb', CLOUD): 6,
                                          LARGE: 1})
        self.assertEqual([('1g.10gb', 6, 'forecast'),
                          ('3g.40gb', 2, 'unmet'),
                          ('7g.80gb', 1, 'forecast')],
                         [(d.profile, d.wanted, d.source) for d in merged])


class HorizonTestCase(base.TestCase):

    def test_until_the_next_allowed_repartition(self):
        day = 86400.0
        self.assertEqual(24, forecast.horizon(10 * day, H, limit=24))
        self.assertEqual(4, forecast.horizon(10 * day + 20 * H, H))
        self.assertEqual(1, forecast.horizon(10 * day + 23.5 * H, H))
        # At most the shipped FORECAST_HOURS.
        self.assertEqual(defaults.FORECAST_HOURS,
                         forecast.horizon(10 * day, H))
        # Without a budget, until the next run.
        self.assertEqual(2, forecast.horizon(10 * day, 2 * H, None))


class SamplesFileTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_record_and_load_round_trip(self):
        scoped = ('7g.80gb', 'trait:CUSTOM_H100')
        first = forecast.Sample(86400.0 * 3 + 10, {SMALL: 3}, {scoped: 1})
        second = forecast.Sample(86400.0 * 4 + 10, {SMALL: 1, LARGE: 2})
        path = forecast.record(self.dir, first)
        self.assertEqual('demand-1970-01-04.jsonl', os.path.basename(path))
        forecast.record(self.dir, second)
        found = forecast.load(self.dir, 86400.0 * 4 + 20, days=2)
        self.assertEqual([first.time, second.time], [s.time for s in found])
        self.assertEqual({SMALL: 3, scoped: 0}, dict(found[0].used))
        self.assertEqual({SMALL: 0, scoped: 1}, dict(found[0].unmet))
        # Older than the days read: left out.
        self.assertEqual([second.time], [s.time for s in forecast.load(
            self.dir, 86400.0 * 4 + 20, days=1)])
        self.assertEqual([], forecast.load(os.path.join(self.dir, 'no'),
                                           0.0))

    def test_bad_line_names_file_line_and_key(self):
        path = forecast.day_file(self.dir, 0.0)
        with open(path, 'w') as stream:
            stream.write('{"time": 1, "demand": []}\n'
                         '{"time": 2, "demand": [{"profile": "1g.10gb", '
                         '"scope": "", "used": -1, "unmet": 0}]}\n')
        e = self.assertRaises(exception.RebalanceInputError,
                              forecast.load, self.dir, 10.0)
        self.assertIn(path, str(e))
        self.assertIn('line 2.demand[0].used', str(e))
        self.assertIn('expected an integer >= 0', str(e))
        self.assertNotIn('\n', str(e))


class PlanDemandTestCase(base.TestCase):

    def test_records_a_sample_and_merges_the_forecast(self):
        directory = self.useFixture(fixtures.TempDir()).path
        now = 86400.0 * 5 + 20 * H
        for h in range(3 * 24 + 20):
            forecast.record(directory, forecast.Sample(
                now - (3 * 24 + 20 - h) * H, daily(h)))
        boots = demand.UnmetBoots(
            {'3g.40gb': 1}, created=[(now - 60, '3g.40gb', CLOUD),
                                     (now - 2 * H, '3g.40gb', CLOUD)])
        rows = forecast.plan_demand(
            directory, now, boots,
            [demand.Demand('3g.40gb', 1, CLOUD, 'unmet')], used=(),
            free=['1g.10gb'] * 7)
        by_key = {(d.profile, d.scope): d for d in rows}
        self.assertEqual('unmet', by_key[('3g.40gb', CLOUD)].source)
        self.assertEqual('forecast', by_key[LARGE].source)
        # The run's own sample: nothing in use, the boot since the last
        # sample (an hour ago) only.
        last = forecast.load(directory, now)[-1]
        self.assertEqual(now, last.time)
        self.assertEqual({('3g.40gb', CLOUD): 1}, dict(last.unmet))
        self.assertEqual({('3g.40gb', CLOUD): 0}, dict(last.used))

    def test_unwritable_history_is_one_line(self):
        directory = self.useFixture(fixtures.TempDir()).path
        blocker = os.path.join(directory, 'history')
        with open(blocker, 'w') as stream:
            stream.write('not a directory')
        e = self.assertRaises(
            exception.RebalanceInputError, forecast.plan_demand,
            os.path.join(blocker, 'sub'), 0.0, demand.UnmetBoots({}), [],
            used=(), free=())
        self.assertIn(os.path.join(blocker, 'sub', 'demand-1970-01-01.jsonl'),
                      str(e))
        self.assertIn('cannot be written', str(e))
        self.assertNotIn('\n', str(e))
