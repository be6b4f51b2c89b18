# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide PCI aliases read from Placement."""

import json

from nova_mig.model import constants
from nova_mig import naming
from nova_mig.placement import aliases
from tests import base
from tests.unit.placement import fakes

PCI = constants.PCI_PROVIDER_TRAIT
LIVE = constants.PCI_LIVE_MIGRATABLE_TRAIT


def cloud():
    """Two vendor-VFIO hosts of different GPU models, one mdev host."""
    placement = fakes.FakePlacement()
    for host, traits in (('cn-a100', {PCI}),
                         ('cn-h100', {PCI, LIVE})):
        root = placement.add(host)
        placement.add('%s_0000:41:00.0' % host, parent=root, traits=traits,
                      inventory={'CUSTOM_MIG_1G_10GB': 7})
    placement.add('cn-rtx_0000:61:00.0', parent=placement.add('cn-rtx'),
                  traits={PCI}, inventory={'CUSTOM_MIG_1G_24GB_GFX': 4,
                                           'CUSTOM_VGPU_A100D_20C': 1,
                                           'CUSTOM_OTHER': 1})
    mdev = placement.add('cn-mdev')
    placement.add('cn-mdev_pci_0000_81_00_4', parent=mdev,
                  inventory={'CUSTOM_MIG_3G_40GB': 1})
    return placement


class TestCloudAliases(base.TestCase):

    def setUp(self):
        super().setUp()
        self.found = aliases.cloud_aliases(cloud(), naming.Scheme())

    def test_one_alias_per_class_across_models(self):
        self.assertEqual(
            [('mig-1g-10gb', 'CUSTOM_MIG_1G_10GB', {'cn-a100', 'cn-h100'},
              2, 1),
             ('mig-1g-24gb-gfx', 'CUSTOM_MIG_1G_24GB_GFX', {'cn-rtx'}, 1, 0),
             ('vgpu-a100d-20c', 'CUSTOM_VGPU_A100D_20C', {'cn-rtx'}, 1, 0)],
            [(a.name, a.resource_class, a.hosts, a.providers,
              a.live_migratable) for a in self.found])

    def test_lines_match_on_the_resource_class_alone(self):
        first = self.found[0]
        self.assertEqual({'name': 'mig-1g-10gb', 'device_type': 'type-VF',
                          'resource_class': 'CUSTOM_MIG_1G_10GB'},
                         json.loads(first.line().split(' = ', 1)[1]))
        self.assertEqual('yes', first.alias(True)['live_migratable'])

    def test_render_lines(self):
        text = aliases.render_lines(self.found)
        self.assertTrue(text.startswith('[pci]\nalias = {'))
        self.assertIn('[filter_scheduler]\npci_in_placement = True\n', text)
        self.assertEqual(3, text.count('alias = '))

    def test_names_follow_the_hosts(self):
        scheme = naming.Scheme()
        self.assertIsNone(aliases.alias_name('CUSTOM_OTHER', scheme))
        self.assertEqual('mig-1g-10gb-me', aliases.alias_name(
            'CUSTOM_MIG_1G_10GB_ME', scheme))
