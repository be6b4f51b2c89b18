# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the providers expected from a Nova configuration plan."""

from nova_mig.model import constants
from nova_mig.novaconf import type_plan
from nova_mig.placement import host_offer
from tests import base
from tests.unit.novaconf import fakes

HOST = 'cn1'
VF4, VF5, VF6 = '0000:41:00.4', '0000:41:00.5', '0000:41:00.6'


def assignment(address, type_id='nvidia-904', rc='CUSTOM_MIG_1G_10GB',
               capacity=1, gpu=fakes.PF0):
    return type_plan.Assignment(
        address=address, gpu=gpu, type_id=type_id, type_name='A100D-1-10C',
        profile='1g.10gb', resource_class=rc, traits=(rc, 'CUSTOM_X'),
        is_vf=True, product_id='20b5', capacity=capacity)


def config(*assignments, mode=constants.MODE_MDEV, caps=None):
    return type_plan.NovaConfig(hostname=HOST, device_mode=mode,
                                assignments=list(assignments),
                                max_instances=caps or {})


class TestProviders(base.TestCase):

    def test_one_provider_per_planned_mdev_parent(self):
        report, _ = fakes.mixed_report()
        the_plan = type_plan.build(self.conf, report)
        providers = host_offer.providers(the_plan, HOST)
        self.assertEqual(
            sorted('cn1_pci_' + a.address.replace(':', '_').replace('.', '_')
                   for a in the_plan.assignments), sorted(providers))
        for a in the_plan.assignments:
            provider = providers[host_offer.provider_name(HOST, a.address)]
            self.assertEqual((a.resource_class, frozenset(a.traits), 1),
                             (provider.resource_class, provider.traits,
                              provider.total))
        self.assertEqual({'CUSTOM_MIG_1G_10GB', 'CUSTOM_MIG_3G_40GB'},
                         host_offer.custom_classes(providers))

    def test_type_cap_bounds_the_total(self):
        providers = host_offer.providers(config(
            assignment(VF4, capacity=4), assignment(VF5, 'nvidia-902',
                                                    capacity=3),
            caps={'nvidia-904': 2}), HOST)
        self.assertEqual(
            {'cn1_pci_0000_41_00_4': 2, 'cn1_pci_0000_41_00_5': 3},
            {name: p.total for name, p in providers.items()})

    def test_vendor_vfio_one_provider_per_pf(self):
        providers = host_offer.providers(config(
            assignment(VF4), assignment(VF5), assignment(VF6),
            mode=constants.MODE_VENDOR_VFIO), HOST)
        self.assertEqual(['cn1_0000:41:00.0'], list(providers))
        provider = providers['cn1_0000:41:00.0']
        self.assertEqual((fakes.PF0, 3), (provider.address, provider.total))
        self.assertEqual('cn1_', host_offer.provider_prefix(
            HOST, constants.MODE_VENDOR_VFIO))

    def test_custom_traits_leave_standard_ones_out(self):
        providers = host_offer.providers(config(assignment(VF4)), HOST)
        self.assertEqual({'CUSTOM_MIG_1G_10GB', 'CUSTOM_X'},
                         host_offer.custom_traits(providers))


class TestHypervisorHostname(base.TestCase):

    def test_nova_then_placement_sync_then_the_host(self):
        the_plan = config()
        self.assertEqual(HOST, host_offer.hypervisor_hostname(self.conf,
                                                              the_plan))
        self.flags(hypervisor_hostname='ps', group='placement_sync')
        self.assertEqual('ps', host_offer.hypervisor_hostname(self.conf,
                                                              the_plan))
        self.flags(hypervisor_hostname='nova', group='nova')
        self.assertEqual('nova', host_offer.hypervisor_hostname(self.conf,
                                                                the_plan))
