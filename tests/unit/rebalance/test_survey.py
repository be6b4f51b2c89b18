# SPDX-License-Identifier: Apache-2.0

"""``survey``: the capacity and metrics views, one library call each."""

import fixtures
from prometheus_client import exposition

from nova_mig import exception
from nova_mig import naming
from nova_mig.rebalance import history
from nova_mig.rebalance import survey
from tests import base
from tests.unit.flavor import fakes as flavor_fakes
from tests.unit.osc.v1 import fakes
from tests.unit.rebalance import fakes as rebalance_fakes


class SurveyTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.placement = flavor_fakes.FakePlacementAdapter()
        fakes.provider(self.placement, 'cn1', fakes.RC1G, 2, 1)
        fakes.provider(self.placement, 'cn2', fakes.RC3G, 1, 1)
        self.compute = fakes.Compute()
        self.compute.fail_boot(fakes.RC3G, 2)
        self.cloud = rebalance_fakes.Cloud(self.placement, self.compute)
        self.scheme = naming.Scheme()

    def test_profile_lines_count_the_unmet_boots(self):
        lines = survey.profile_lines(self.cloud, self.scheme, 3600)
        self.assertEqual([('1g.10gb', 2, 1, 0), ('3g.40gb', 1, 1, 2)],
                         [(p.profile, p.total, p.used, p.unmet)
                          for p in lines])

    def test_without_unmet_the_compute_api_is_not_asked(self):
        lines = survey.profile_lines(self.cloud, self.scheme, 3600,
                                     unmet=False)
        self.assertEqual([0, 0], [p.unmet for p in lines])
        self.assertNotIn('compute', self.cloud.asked)

    def test_host_lines(self):
        self.assertEqual([('cn1', '1g.10gb', 1), ('cn2', '3g.40gb', 0)],
                         [(h.host, h.profile, h.free)
                          for h in survey.host_lines(self.cloud,
                                                     self.scheme)])

    def test_metrics_count_every_offered_profile(self):
        text = exposition.generate_latest(survey.metrics(
            self.cloud, self.scheme, '1h', 3600)).decode()
        self.assertIn('nova_mig_unmet_boots{profile="1g.10gb",window="1h"} '
                      '0.0', text)
        self.assertIn('nova_mig_unmet_boots{profile="3g.40gb",window="1h"} '
                      '2.0', text)

    def test_a_bad_history_fails_before_the_cloud_is_read(self):
        past = self.useFixture(fixtures.TempDir()).path
        path = history.record(past, 'cn1', ['0000:41:00.0'])
        with open(path, 'a') as stream:
            stream.write('not json\n')
        self.assertRaises(exception.RebalanceInputError, survey.metrics,
                          self.cloud, self.scheme, '1h', 3600,
                          history_dir=past)
        self.assertEqual([], self.cloud.asked)
