"""Unit tests of the inventory comparison behind nova-mig verify."""

from nova_mig.placement import expected as expected_mod
from nova_mig.placement import verify
from tests import base

NAME = 'cn1_pci_0000_41_00_4'


def exp(rc='CUSTOM_MIG_3G_40GB', total=1):
    return expected_mod.ExpectedProvider(
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
