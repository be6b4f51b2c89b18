# SPDX-License-Identifier: Apache-2.0

"""Functional tests: what Placement should show for the example hosts."""

from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import host_offer
from tests.functional import base


class TestExpectedProviders(base.CliTestCase):

    def report(self, host):
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=base.host_file(host), group='simulator')
        return discovery.discover(gpu.load_backend(self.conf))

    def test_mdev_providers_follow_the_nova_config_plan(self):
        report = self.report('a100-mixed.yaml')
        config = type_plan.build(self.conf, report)
        expected = host_offer.providers(config, 'compute-a100-1')
        # One provider per parent nova-compute is configured for, no more.
        self.assertEqual(
            sorted('compute-a100-1_pci_' + a.address.replace(':', '_')
                   .replace('.', '_') for a in config.assignments),
            sorted(expected))
        for provider in expected.values():
            self.assertEqual(1, provider.total)      # a VF holds one vGPU
            self.assertTrue(provider.resource_class.startswith('CUSTOM_MIG_'))
            self.assertIn('CUSTOM_VGPU_MODE_MDEV', provider.traits)

    def test_vendor_vfio_providers_are_per_pf(self):
        report = self.report('h200-vendor-vfio-uniform.yaml')
        expected = host_offer.providers(type_plan.build(self.conf, report),
                                        'compute-h200-2')
        self.assertEqual({'compute-h200-2_0000:1B:00.0',
                          'compute-h200-2_0000:9A:00.0'}, set(expected))
        first = expected['compute-h200-2_0000:1B:00.0']
        second = expected['compute-h200-2_0000:9A:00.0']
        # Every 1g.18gb GPU instance gets a VF; the PF's provider holds
        # them all in one resource class.
        self.assertEqual(('CUSTOM_MIG_1G_18GB', 7),
                         (first.resource_class, first.total))
        self.assertEqual(('CUSTOM_MIG_2G_35GB', 3),
                         (second.resource_class, second.total))
        self.assertEqual('compute-h200-2_', host_offer.provider_prefix(
            'compute-h200-2', report.device_mode))
