# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the inventory comparison behind nova-mig verify."""

from nova_mig.novaconf import type_plan
from nova_mig.placement import host_offer
from nova_mig.placement import verify
from tests import base
from tests.unit.placement import fakes

NAME = 'cn1_pci_0000_41_00_4'


def exp(rc='CUSTOM_MIG_3G_40GB', total=1):
    return host_offer.ExpectedProvider(
        name=NAME, address='0000:41:00.4', pf_address='0000:41:00.0',
        type_name='NVIDIA A100D-3-40C', resource_class=rc, total=total,
        traits=frozenset())


class CompareTestCase(base.TestCase):

    def kinds(self, expected, actual):
        return [d.kind for d in verify.compare(NAME, expected, actual)]

    def test_match(self):
        self.assertEqual([], self.kinds(exp(), {'CUSTOM_MIG_3G_40GB': 1}))

    def test_old_class_after_type_change(self):
        drift = verify.compare(NAME, exp(), {'CUSTOM_MIG_4G_40GB': 1})
        self.assertEqual([verify.STALE_CLASS], [d.kind for d in drift])
        self.assertEqual('CUSTOM_MIG_4G_40GB: 1', drift[0].actual)
        self.assertEqual('CUSTOM_MIG_3G_40GB: 1', drift[0].expected)
        self.assertIn('old vGPU type', drift[0].hint)

    def test_wrong_total_and_missing_class(self):
        self.assertEqual([verify.WRONG_TOTAL],
                         self.kinds(exp(total=2), {'CUSTOM_MIG_3G_40GB': 1}))
        self.assertEqual([verify.MISSING_CLASS], self.kinds(exp(), {}))

    def test_unexpected_provider_only_when_it_offers_something(self):
        self.assertEqual([], self.kinds(None, {}))
        self.assertEqual([verify.UNEXPECTED_PROVIDER],
                         self.kinds(None, {'CUSTOM_MIG_1G_10GB': 1}))


class WaitTestCase(base.TestCase):
    """Waiting for a provider whose inventory is still the old type's."""

    def setUp(self):
        super().setUp()
        self.fake = fakes.FakePlacement()
        root = self.fake.add('cn1')
        self.vf4 = self.fake.add(NAME, parent=root,
                                 inventory={'CUSTOM_MIG_1G_10GB': 1})
        self.config = type_plan.NovaConfig(
            hostname='cn1', device_mode='mdev', max_instances={},
            assignments=[type_plan.Assignment(
                '0000:41:00.4', '0000:41:00.0', 'nvidia-902', 'A100D-3-40C',
                '3g.40gb', 'CUSTOM_MIG_3G_40GB', (), True, '20b5')])
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) == self.fixed_after:
            # nova-compute restarted and reported the new inventory.
            self.fake.rps[self.vf4]['inventory'] = {'CUSTOM_MIG_3G_40GB': 1}

    def wait(self, fixed_after, **kw):
        self.fixed_after = fixed_after
        return verify.wait_until_ok(self.conf, self.config, self.fake, 10, 3,
                                    sleep=self.sleep, clock=lambda: self.now,
                                    **kw)

    def test_returns_once_placement_matches(self):
        result = self.wait(fixed_after=2)
        self.assertTrue(result.ok)
        self.assertEqual([3, 3], self.sleeps)

    def test_time_up_returns_the_drift(self):
        result = self.wait(fixed_after=None)
        self.assertFalse(result.ok)
        self.assertEqual([verify.STALE_CLASS],
                         [d.kind for d in result.drift])
        # Polled at 0, 3, 6 and 9 seconds, and once more at 12.
        self.assertEqual([3, 3, 3, 3], self.sleeps)

    def test_stop_early(self):
        result = self.wait(fixed_after=None, stop_early=lambda: True)
        self.assertFalse(result.ok)
        self.assertEqual([], self.sleeps)
