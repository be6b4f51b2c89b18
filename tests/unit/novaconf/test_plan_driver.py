# SPDX-License-Identifier: Apache-2.0

"""nova-config's plan on a GPU whose driver maps types to profiles.

The RTX PRO 6000 Blackwell: types on ``+gfx`` GPU instances that no name
reveals, and several vGPUs sharing one GPU instance.
"""

import logging

import fixtures

from nova_mig import exception
from nova_mig.model import vgpu_types
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan
from tests import base
from tests.unit.novaconf import fakes

GIS = [fakes.rtx_gi(1, '1g.24gb+gfx', 0), fakes.rtx_gi(2, '1g.24gb+gfx', 1),
       fakes.rtx_gi(3, '2g.48gb+gfx', 2)]


class TestDriverMapping(base.TestCase):

    def build(self, report):
        return type_plan.build(self.conf, report)

    def test_types_follow_the_driver_and_fill_each_instance(self):
        report, vfs = fakes.rtx_report(8, GIS)
        config = self.build(report)
        by_vf = {a.address: a for a in config.assignments}
        # Three DC-1-8Q per 1g.24gb+gfx instance, two DC-2-12C on the
        # 2g.48gb+gfx one: one VF per vGPU.
        self.assertEqual(['1402'] * 6 + ['1403'] * 2,
                         [by_vf[vf].type_id for vf in vfs])
        self.assertEqual({'1402': 6, '1403': 2}, config.max_instances)
        first = by_vf[vfs[0]]
        self.assertEqual(('1g.24gb+gfx', 'CUSTOM_MIG_1G_24GB_GFX'),
                         (first.profile, first.resource_class))
        self.assertIn('CUSTOM_MIG_1G_24GB_GFX', first.traits)

    def test_too_few_vfs_for_every_vgpu(self):
        report, vfs = fakes.rtx_report(4, GIS)
        config = self.build(report)
        self.assertEqual(['1402'] * 3 + ['1402'],
                         [a.type_id for a in config.assignments])
        self.assertIn('1 GPU instance(s) have no free VF',
                      '\n'.join(config.warnings))

    def test_carried_vgpus_keep_their_instance_and_count(self):
        # The layout put one DC-1-24Q on GI 1: that instance offers it
        # alone; the others are filled.
        report, vfs = fakes.rtx_report(8, GIS, current={0: 1401})
        config = self.build(report)
        self.assertEqual(['1401'] + ['1402'] * 3 + ['1403'] * 2,
                         [a.type_id for a in config.assignments])
        self.assertEqual({'1401': 1, '1402': 3, '1403': 2},
                         config.max_instances)

    def test_without_the_driver_the_name_decides(self):
        # An old driver: no profile IDs; DC-1-8Q reads as 1g.8gb, which
        # this GPU does not have; DC-1-24Q could be 1g.24gb or
        # 1g.24gb+gfx: nova-mig refuses to guess, in one line with the fix.
        old = tuple(fakes.gpu_records.VgpuType(
            t.id, t.name, None, t.framebuffer_mb, t.max_instances,
            profile_from_driver=False) for t in fakes.RTX_TYPES)
        report, _vfs = fakes.rtx_report(8, GIS, vgpu_types=old)
        e = self.assertRaises(exception.ProfileNotKnown, self.build, report)
        self.assertNotIn('\n', str(e))
        self.assertIn('Refusing to guess: the GPU instance profile of vGPU '
                      'type DC-1-24Q on GPU %s' % fakes.RTX_PF, str(e))
        self.assertIn('install nvidia-ml-py 11.460.79 or later', str(e))
        self.assertIn('a vGPU 20 driver whose type names say GFX', str(e))

    def test_vgpu20_gfx_names_decide_without_the_driver(self):
        # vGPU 20 names say GFX: the name rule is exact again.
        names = (('DC-1-24Q', 14, 1), ('DC-1-24QGFX', 47, 1),
                 ('DC-2-48QGFX', 35, 1))
        old = tuple(fakes.gpu_records.VgpuType(
            1500 + n, 'NVIDIA RTX Pro 6000 Blackwell ' + name, None,
            24576, 4, per_gi, profile_from_driver=False)
            for n, (name, _profile, per_gi) in enumerate(names))
        report, _vfs = fakes.rtx_report(8, GIS, vgpu_types=old)
        gpu = report.gpus[0]
        self.assertEqual(
            ['1g.24gb', '1g.24gb+gfx', '2g.48gb+gfx'],
            [vgpu_types.backing(t.name, gpu).profile for t in old])
        self.assertEqual({vgpu_types.MAPPING_NAME},
                         {vgpu_types.backing(t.name, gpu).mapping
                          for t in old})


class TestLiveMigratable(base.TestCase):

    def setUp(self):
        super().setUp()
        # nova-compute in a container: [nova]release decides.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.novaconf.release.installed_version', lambda: None))
        self.flags(live_migratable=True, group='nova')

    def test_device_specs_and_aliases_say_so(self):
        self.flags(release='2025.1', group='nova')
        report, _vfs = fakes.rtx_report(8, GIS)
        config = type_plan.build(self.conf, report)
        self.assertTrue(config.live_migratable)
        self.assertEqual({'yes'}, {s['live_migratable']
                                   for s in render.device_specs(config)})
        self.assertEqual({'yes'}, {a['live_migratable']
                                   for a in render.aliases(config)})

    def test_no_provider_trait_before_2026_2_is_a_warning(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        report, _vfs = fakes.rtx_report(8, GIS)
        for series in ('2025.1', '2025.2', '2026.1'):
            self.flags(release=series, group='nova')
            self.assertTrue(type_plan.build(self.conf, report).live_migratable)
        self.assertEqual(3, logger.output.count(
            'Nova reports no HW_PCI_LIVE_MIGRATABLE trait'))
        self.assertIn('needs Nova 2026.2 Hibiscus (34.x) or later',
                      logger.output)
        self.assertIn('pci_passthrough:alias', logger.output)

    def test_provider_trait_from_2026_2_without_a_warning(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        self.flags(release='2026.2', group='nova')
        report, _vfs = fakes.rtx_report(8, GIS)
        self.assertTrue(type_plan.build(self.conf, report).live_migratable)
        self.assertNotIn('HW_PCI_LIVE_MIGRATABLE', logger.output)

    def test_refused_before_2025_1(self):
        self.flags(release='2024.2', group='nova')
        report, _vfs = fakes.rtx_report(8, GIS)
        error = self.assertRaises(exception.NovaReleaseUnsupported,
                                  type_plan.build, self.conf, report)
        self.assertIn('live_migratable', str(error))

    def test_not_in_mdev_mode(self):
        self.flags(release='2024.1', group='nova')
        report, _vfs = fakes.mixed_report()
        self.assertFalse(type_plan.build(self.conf, report).live_migratable)


class TestMdevSharedInstances(base.TestCase):

    def test_one_vf_per_vgpu_and_the_host_cap(self):
        vfs = fakes.vfs(fakes.RTX_PF, 8)
        types = {'nvidia-%d' % t.id: t.name for t in fakes.RTX_TYPES
                 if t.gpu_instance_profile_id}
        report = fakes.report([fakes.rtx_pro_6000(GIS)],
                              fakes.mdev_parents(fakes.RTX_PF, vfs, types))
        config = type_plan.build(self.conf, report)
        self.assertEqual(['nvidia-1402'] * 6 + ['nvidia-1403'] * 2,
                         [a.type_id for a in config.assignments])
        self.assertEqual({'nvidia-1402': 6, 'nvidia-1403': 2},
                         config.max_instances)
        (group, _other) = render.mdev_groups(config)
        self.assertEqual((tuple(vfs[:6]), 6),
                         (group.addresses, group.max_instances))
