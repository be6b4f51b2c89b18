# SPDX-License-Identifier: Apache-2.0

"""``openstack mig capacity list|show`` over a fake cloud."""

from osc_lib import exceptions as osc_exc

from nova_mig.osc.v1 import capacity
from tests.unit.osc import base
from tests.unit.osc.v1 import fakes


class CapacityTestCase(base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.compute = fakes.Compute()
        self.app.client_manager.sdk_connection.compute = self.compute

    def provider(self, *args, **kwargs):
        return fakes.provider(self.placement, *args, **kwargs)

    def test_per_profile_with_unmet(self):
        self.provider('cn1', fakes.RC1G, 1, 1)
        self.provider('cn1', fakes.RC1G, 1, 0, name='_pci_0000_41_00_5')
        self.provider('cn2', fakes.RC1G, 1, 1)
        self.compute.fail_boot(fakes.RC3G, 2)
        rows = self.run_cmd(capacity.ListCapacity)
        self.assertEqual([
            {'Profile': '1g.10gb', 'Resource Class': fakes.RC1G,
             'GPU Models': ['NVIDIA_A100_80GB_PCIE'], 'Hosts': 2,
             'Providers': 3, 'Total': 3, 'Used': 2, 'Free': 1, 'Unmet': 0},
            {'Profile': '3g.40gb', 'Resource Class': fakes.RC3G,
             'GPU Models': [], 'Hosts': 0, 'Providers': 0, 'Total': 0,
             'Used': 0, 'Free': 0, 'Unmet': 2}], rows)

    def test_long_per_host_and_model(self):
        self.provider('cn1', fakes.RC1G, 1, 1)
        self.provider('cn1', fakes.RC1G, 1, 0, name='_pci_0000_41_00_5')
        rows = self.run_cmd(capacity.ListCapacity, '--long')
        self.assertEqual([{'Host': 'cn1',
                           'GPU Model': 'NVIDIA_A100_80GB_PCIE',
                           'Profile': '1g.10gb', 'Providers': 2, 'Total': 2,
                           'Used': 1, 'Free': 1}], rows)
        self.assertEqual([], self.compute.calls)

    def test_unreachable_compute_is_one_line(self):
        self.compute.down = True
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              capacity.ListCapacity)
        self.assertIn('Compute is unreachable', str(e))
        self.assertIn('http://127.0.0.1:8774', str(e))
        self.assertNotIn('\n', str(e))

    def test_bad_window(self):
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              capacity.ListCapacity, '--window', 'soon')
        self.assertEqual("--window: 'soon' is not a duration such as 30m, "
                         "24h or 7d", str(e))

    def test_show_one_profile(self):
        self.provider('cn1', fakes.RC1G, 1, 1)
        self.provider('cn2', fakes.RC1G, 1, 0)
        self.compute.fail_boot(fakes.RC1G, 3)
        row = self.run_cmd(capacity.ShowCapacity, '1g.10gb')
        self.assertEqual(
            {'profile': '1g.10gb', 'resource_class': fakes.RC1G,
             'gpu_models': ['NVIDIA_A100_80GB_PCIE'], 'hosts': 2,
             'providers': 2, 'total': 2, 'used': 1, 'free': 1, 'unmet': 3},
            row)

    def test_show_unknown_profile_names_the_known_ones(self):
        self.provider('cn1', fakes.RC1G, 1, 1)
        e = self.assertRaises(osc_exc.CommandError, self.run_cmd,
                              capacity.ShowCapacity, '7g.80gb',
                              '--no-unmet')
        self.assertEqual('No capacity of MIG profile 7g.80gb: no GPU '
                         'provider offers it. Profiles: 1g.10gb', str(e))

    def test_deprecated_command_warns_and_lists(self):
        self.provider('cn1', fakes.RC1G, 1, 1)
        self.assertEqual(self.run_cmd(capacity.ListCapacity),
                         self.run_cmd(capacity.Capacity))
        self.assertIn('use "openstack mig capacity list"',
                      self.app.stderr.getvalue())
        self.assertTrue(capacity.Capacity.deprecated)
