# SPDX-License-Identifier: Apache-2.0

"""Cloud-wide PCI aliases read by Nova's own alias parser.

Two vendor-VFIO hosts of different GPU models (A100 and H100, both with
1g.10gb GPU instances) each generate their aliases; nova-api and
nova-scheduler read the union with ``[filter_scheduler]pci_in_placement``.
"""

import dataclasses
import json

from oslo_config import fixture as config_fixture

from nova_mig.model import constants
from nova_mig import naming
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan
from nova_mig.placement import aliases
from tests import base
from tests.unit.novaconf import fakes
from tests.unit.placement import fakes as placement_fakes


def _host_config(conf, gpu, product_id, hostname):
    vfs = fakes.vfs(gpu.pci_address, 2)
    parents = fakes.vendor_parents(gpu.pci_address, {vfs[0]: 0, vfs[1]: 0})
    report = fakes.report([gpu], parents, mode=constants.MODE_VENDOR_VFIO,
                          hostname=hostname)
    return type_plan.build(conf, report,
                           product_ids={vf: product_id for vf in vfs})


class TestNovaReadsTheMergedAliases(base.TestCase):

    def setUp(self):
        super().setUp()
        # Imported here: Nova is a test requirement, and slow to import.
        import nova.conf
        from nova import exception as nova_exception
        from nova.pci import request
        self.request = request
        self.invalid = nova_exception.PciInvalidAlias
        self.nova_conf = self.useFixture(config_fixture.Config(
            nova.conf.CONF))
        self.nova_conf.config(pci_in_placement=True,
                              group='filter_scheduler')
        gis = [fakes.gi(1, '1g.10gb', 0, 1), fakes.gi(2, '1g.10gb', 1, 1)]
        a100 = fakes.a100(gis=gis)
        h100 = dataclasses.replace(
            fakes.a100(address=fakes.PF1, gis=gis),
            name='NVIDIA H100 80GB HBM3', pci_device_id=0x233010DE)
        self.configs = [_host_config(self.conf, a100, '20b5', 'cn-a100'),
                        _host_config(self.conf, h100, '2330', 'cn-h100')]

    def parse(self, lines):
        self.nova_conf.config(alias=lines, group='pci')
        # Nova caches the aliases for the life of the process.
        self.request.get_alias_from_config.cache_clear()
        self.addCleanup(self.request.get_alias_from_config.cache_clear)
        return self.request.get_alias_from_config()

    def test_merged_host_aliases(self):
        merged = sorted({json.dumps(alias) for config in self.configs
                         for alias in render.aliases(config)})
        self.assertEqual(1, len(merged))
        parsed = self.parse(merged)
        self.assertEqual(['mig-1g-10gb'], list(parsed))
        _policy, (spec,) = parsed['mig-1g-10gb']
        self.assertEqual('CUSTOM_MIG_1G_10GB', spec['resource_class'])
        self.assertNotIn('product_id', spec)

    def test_aliases_with_product_ids_clash(self):
        # What the aliases were: one spec per GPU model under one name.
        old = [json.dumps(dict(alias, vendor_id='10de',
                               product_id=config.assignments[0].product_id))
               for config in self.configs
               for alias in render.aliases(config)]
        self.assertRaises(self.invalid, self.parse, old)

    def test_live_migratable_aliases(self):
        for config in self.configs:
            config.live_migratable = True
        merged = sorted({json.dumps(alias) for config in self.configs
                         for alias in render.aliases(config)})
        _policy, (spec,) = self.parse(merged)['mig-1g-10gb']
        self.assertEqual('true', spec['live_migratable'])

    def test_lines_from_placement(self):
        placement = placement_fakes.FakePlacement()
        for config in self.configs:
            root = placement.add(config.hostname)
            for pf in {a.gpu for a in config.assignments}:
                placement.add(
                    '%s_%s' % (config.hostname, pf.upper()), parent=root,
                    traits={constants.PCI_PROVIDER_TRAIT},
                    inventory={a.resource_class: 2
                               for a in config.assignments})
        text = aliases.render_lines(
            aliases.cloud_aliases(placement, naming.Scheme()))
        lines = [line.split(' = ', 1)[1] for line in text.splitlines()
                 if line.startswith('alias = ')]
        parsed = self.parse(lines)
        self.assertEqual(['mig-1g-10gb'], list(parsed))
