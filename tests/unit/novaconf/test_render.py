# SPDX-License-Identifier: Apache-2.0

"""Tests for rendering the Nova configuration and checking Nova's rules."""

import configparser
import dataclasses
import json
import os

import fixtures
import jsonschema
from oslo_config import cfg
import yaml

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan
from tests import base
from tests.unit.novaconf import fakes

#: The parts of Nova's provider config schema 1.0
#: (nova/compute/provider_config.py SCHEMA_V1) nova-mig relies on.
PROVIDER_SCHEMA = {
    'type': 'object',
    'required': ['meta'],
    'properties': {
        'meta': {'type': 'object', 'required': ['schema_version'],
                 'properties': {'schema_version': {
                     'type': 'string',
                     'pattern': '^1.([0-9]|[1-9][0-9]+)$'}}},
        'providers': {'type': 'array', 'items': {
            'type': 'object', 'required': ['identification'],
            'properties': {
                'identification': {
                    'type': 'object', 'minProperties': 1,
                    'maxProperties': 1, 'additionalProperties': False,
                    'properties': {'name': {'type': 'string',
                                            'minLength': 1,
                                            'maxLength': 200}}},
                'traits': {'type': 'object', 'properties': {
                    'additional': {'type': 'array', 'items': {
                        'type': 'string',
                        'pattern': '^CUSTOM_[A-Z0-9_]{1,248}$'}}}}}}},
    },
}


def nova_conf(path):
    """Load a snippet the way nova-compute does (nova/conf/devices.py)."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.ListOpt('enabled_mdev_types', default=[])],
                       group='devices')
    conf.register_opts([cfg.MultiStrOpt('device_spec', default=[]),
                        cfg.MultiStrOpt('alias', default=[]),
                        cfg.BoolOpt('report_in_placement', default=False)],
                       group='pci')
    conf(['--config-file', path], project='nova')
    for mdev_type in conf.devices.enabled_mdev_types:
        group = 'mdev_%s' % mdev_type
        conf.register_opts([
            cfg.ListOpt('device_addresses', default=[]),
            cfg.StrOpt('mdev_class', default='VGPU',
                       regex=r'^(VGPU|CUSTOM_[A-Z0-9_]+)$', max_length=255),
            cfg.IntOpt('max_instances', default=None, min=1)], group=group)
    return conf


class TestMdevSnippet(base.TestCase):

    def setUp(self):
        super().setUp()
        self.report, self.vfs = fakes.mixed_report()
        self.config = type_plan.build(self.conf, self.report)
        self.text = render.render_snippet(self.config)
        self.path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(self.path, 'w') as f:
            f.write(self.text)

    def test_header_and_determinism(self):
        self.assertTrue(self.text.startswith(render.HEADER + '\n'))
        shuffled = dataclasses.replace(
            self.config, assignments=self.config.assignments[::-1])
        self.assertEqual(self.text, render.render_snippet(shuffled))

    def test_configparser(self):
        parser = configparser.ConfigParser()
        parser.read_string(self.text)
        self.assertEqual('nvidia-902,nvidia-904',
                         parser['devices']['enabled_mdev_types'])
        self.assertEqual('%s,%s' % (self.vfs[1], self.vfs[2]),
                         parser['mdev_nvidia-904']['device_addresses'])
        self.assertEqual('2', parser['mdev_nvidia-904']['max_instances'])

    def test_oslo_config_as_nova_reads_it(self):
        conf = nova_conf(self.path)
        self.assertEqual(['nvidia-902', 'nvidia-904'],
                         conf.devices.enabled_mdev_types)
        group = conf['mdev_nvidia-902']
        self.assertEqual([self.vfs[0]], group.device_addresses)
        self.assertEqual('CUSTOM_MIG_3G_40GB', group.mdev_class)
        self.assertEqual(1, group.max_instances)
        # Nova's rule: no address under two types.
        seen = [a for t in conf.devices.enabled_mdev_types
                for a in conf['mdev_%s' % t].device_addresses]
        self.assertEqual(len(seen), len(set(seen)))

    def test_provider_config(self):
        document = yaml.safe_load(
            render.render_provider_config(self.config))
        jsonschema.validate(document, PROVIDER_SCHEMA)
        self.assertEqual({'schema_version': '1.0'}, document['meta'])
        names = [p['identification']['name']
                 for p in document['providers']]
        self.assertEqual(['cn1_pci_0000_41_00_4', 'cn1_pci_0000_41_00_5',
                          'cn1_pci_0000_41_00_6'], names)
        self.assertEqual(['CUSTOM_CUDA_COMPUTE_CAPABILITY_V8_0',
                          'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                          'CUSTOM_MIG_1G_10GB', 'CUSTOM_VGPU_MODE_MDEV'],
                         document['providers'][1]['traits']['additional'])

    def test_standard_traits_left_out_of_provider_config(self):
        a = self.config.assignments[0]
        config = dataclasses.replace(self.config, assignments=[
            dataclasses.replace(a, traits=a.traits + ('HW_GPU_API_VULKAN',))
        ])
        traits = render.providers(config)[0]['traits']['additional']
        self.assertNotIn('HW_GPU_API_VULKAN', traits)
        self.assertIn('CUSTOM_MIG_3G_40GB', traits)


class TestLibvirtLiveMigration(base.TestCase):
    """[nova]live_migratable writes the [libvirt] settings of Nova's guide."""

    def snippet(self, report):
        path = os.path.join(self.tmpdir, 'snippet.conf')
        with open(path, 'w') as f:
            f.write(render.render_snippet(type_plan.build(self.conf, report)))
        conf = cfg.ConfigOpts()
        # As nova/conf/libvirt.py declares them (types and minimums).
        conf.register_opts([
            cfg.IntOpt('live_migration_downtime', default=500, min=100),
            cfg.IntOpt('live_migration_downtime_steps', default=10, min=3),
            cfg.IntOpt('live_migration_downtime_delay', default=75, min=3),
            cfg.BoolOpt('live_migration_permit_post_copy', default=True),
        ], group='libvirt')
        conf(['--config-file', path], project='nova')
        return conf.libvirt

    def assert_guide_values(self, libvirt):
        self.assertEqual(500000, libvirt.live_migration_downtime)
        self.assertEqual(3, libvirt.live_migration_downtime_steps)
        self.assertEqual(3, libvirt.live_migration_downtime_delay)
        self.assertFalse(libvirt.live_migration_permit_post_copy)

    def test_mdev_host(self):
        self.flags(live_migratable=True, group='nova')
        self.assert_guide_values(self.snippet(fakes.mixed_report()[0]))

    def test_vendor_vfio_host(self):
        self.flags(live_migratable=True, group='nova')
        self.flags(release='2025.1', group='nova')
        self.useFixture(fixtures.MockPatch(
            'nova_mig.novaconf.release.installed_version',
            return_value=None))
        self.assert_guide_values(self.snippet(fakes.rtx_report(
            8, [fakes.rtx_gi(1, '1g.24gb+gfx', 0)])[0]))

    def test_not_written_unless_wanted(self):
        libvirt = self.snippet(fakes.mixed_report()[0])
        # Nova's own defaults stay: nova-mig writes no [libvirt] group.
        self.assertEqual(500, libvirt.live_migration_downtime)
        self.assertTrue(libvirt.live_migration_permit_post_copy)


class TestMdevRules(base.TestCase):

    def setUp(self):
        super().setUp()
        self.report, self.vfs = fakes.mixed_report()
        self.config = type_plan.build(self.conf, self.report)

    def test_valid(self):
        render.check_rules(self.config, self.report)

    def _broken(self, index, **changes):
        assignments = list(self.config.assignments)
        assignments[index] = dataclasses.replace(assignments[index],
                                                 **changes)
        return dataclasses.replace(self.config, assignments=assignments)

    def test_address_under_two_types(self):
        config = self._broken(1, address=self.vfs[0])
        e = self.assertRaises(exception.NovaConfigRuleViolation,
                              render.check_rules, config, self.report)
        self.assertIn('PCI address %s is listed under types' % self.vfs[0],
                      str(e))

    def test_type_not_on_parent(self):
        config = self._broken(0, type_id='nvidia-999')
        e = self.assertRaises(exception.NovaConfigRuleViolation,
                              render.check_rules, config, self.report)
        self.assertIn('nvidia-999 does not exist on vGPU parent %s'
                      % self.vfs[0], str(e))

    def test_group_without_addresses(self):
        config = self._broken(0, address='')
        self.assertRaises(exception.NovaConfigRuleViolation,
                          render.check_rules, config, self.report)
        group = render.MdevGroup('nvidia-1', 'X', None, 'CUSTOM_X', (), None)
        self.patch_groups([group])
        e = self.assertRaises(exception.NovaConfigRuleViolation,
                              render.check_mdev_rules, self.config,
                              self.report)
        self.assertIn('[mdev_nvidia-1] has no device_addresses', str(e))

    def patch_groups(self, groups):
        self.useFixture(fixtures.MockPatchObject(
            render, 'mdev_groups', return_value=groups))

    def test_bad_mdev_class(self):
        config = self._broken(0, resource_class='MIG_3G')
        e = self.assertRaises(exception.NovaConfigRuleViolation,
                              render.check_rules, config, self.report)
        self.assertIn('mdev_class MIG_3G', str(e))


class TestVendorVfio(base.TestCase):

    def build(self, current):
        vfs = fakes.vfs(fakes.PF0, 4)
        gpu = fakes.a100(gis=[fakes.gi(1, '3g.40gb', 0, 4),
                              fakes.gi(2, '3g.40gb', 4, 4)])
        parents = fakes.vendor_parents(
            fakes.PF0, dict(zip(vfs, current)))
        report = fakes.report([gpu], parents, mode=constants.MODE_VENDOR_VFIO)
        config = type_plan.build(self.conf, report,
                                 product_ids={v: '2321' for v in vfs})
        return report, config, vfs

    def test_device_spec_and_alias(self):
        report, config, vfs = self.build([1416, 0, 0, 0])
        render.check_rules(config, report)
        text = render.render_snippet(config)
        path = os.path.join(self.tmpdir, 'pci.conf')
        with open(path, 'w') as f:
            f.write(text)
        conf = nova_conf(path)
        self.assertTrue(conf.pci.report_in_placement)
        specs = [json.loads(s) for s in conf.pci.device_spec]
        self.assertEqual(vfs[:2], [s['address'] for s in specs])
        self.assertEqual({
            'address': vfs[0], 'vendor_id': '10de', 'product_id': '2321',
            'managed': 'no', 'resource_class': 'CUSTOM_MIG_3G_40GB',
            'traits': 'CUSTOM_MIG_3G_40GB,CUSTOM_GPU_NVIDIA_A100_80GB_PCIE,'
                      'CUSTOM_CUDA_COMPUTE_CAPABILITY_V8_0,'
                      'CUSTOM_VGPU_MODE_VENDOR_VFIO'}, specs[0])
        # The alias matches on the resource class alone: the same alias
        # serves every GPU model of the cloud.
        self.assertEqual([{
            'name': 'mig-3g-40gb', 'device_type': 'type-VF',
            'resource_class': 'CUSTOM_MIG_3G_40GB'}],
            [json.loads(a) for a in conf.pci.alias])
        # No [mdev_*] or [devices] in vendor-VFIO mode; no provider entry.
        self.assertNotIn('[devices]', text)
        self.assertEqual([], render.providers(config))

    def test_alias_without_product_when_products_differ(self):
        report, config, vfs = self.build([1416, 0, 0, 0])
        config.assignments[1] = dataclasses.replace(
            config.assignments[1], product_id='2322')
        alias, = render.aliases(config)
        self.assertNotIn('product_id', alias)
        self.assertEqual('CUSTOM_MIG_3G_40GB', alias['resource_class'])

    def test_mixed_profiles_on_one_pf_refused(self):
        vfs = fakes.vfs(fakes.PF0, 2)
        gpu = fakes.a100(gis=[fakes.gi(1, '3g.40gb', 0, 4),
                              fakes.gi(2, '1g.10gb', 4, 1)])
        parents = fakes.vendor_parents(fakes.PF0, {vfs[0]: 0, vfs[1]: 0})
        report = fakes.report([gpu], parents, mode=constants.MODE_VENDOR_VFIO)
        config = type_plan.build(self.conf, report)
        e = self.assertRaises(exception.NovaConfigRuleViolation,
                              render.check_rules, config, report)
        self.assertIn('one resource provider', str(e))
        self.assertIn(fakes.PF0, str(e))

    def test_alias_names(self):
        a = type_plan.Assignment(
            '0000:41:00.4', fakes.PF0, '1', 'A100D-1-10CME',
            '1g.10gb+me', 'CUSTOM_MIG_1G_10GB_ME', (), True,
            '20b5')
        self.assertEqual('mig-1g-10gb-me', render.alias_name(a))
        # -me (no media extension) must not take +me's alias name.
        nome = type_plan.Assignment('0000:41:00.5', fakes.PF0, '2',
                                    'A100D-1-10CNOME', '1g.10gb-me',
                                    'CUSTOM_MIG_1G_10GB_NOME', (), True,
                                    '20b5')
        self.assertEqual('mig-1g-10gb-nome', render.alias_name(nome))
        a = dataclasses.replace(a, type_name='A100D-20C', profile=None)
        self.assertEqual('vgpu-a100d-20c', render.alias_name(a))
