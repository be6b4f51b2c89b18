# SPDX-License-Identifier: Apache-2.0

"""The Nova release nova-config targets, and the options it has."""

import ast
import importlib.util
import logging

import fixtures
import testtools

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import release
from nova_mig.novaconf import render
from nova_mig.novaconf import type_plan
from tests import base


class ParseTestCase(base.TimedTestCase):

    def test_series_name_and_versions(self):
        epoxy = release.Release(31, '2025.1', 'Epoxy')
        for text in ('2025.1', 'epoxy', 'Epoxy ', '31', '31.2.0',
                     '31.0.0.0'):
            self.assertEqual(epoxy, release.parse(text), text)

    def test_unknown_newer_major_is_newer_than_every_release(self):
        r = release.parse('40.1.0')
        self.assertEqual(40, r.major)
        self.assertGreater(r, release.RELEASES[-1])
        self.assertEqual('newer than 2026.2', r.series)

    def test_nonsense_names_the_accepted_forms(self):
        e = self.assertRaises(exception.ConfigError, release.parse,
                              'yoga-ish')
        self.assertIn('[nova]release = yoga-ish is not a Nova release', str(e))
        self.assertIn('2024.1/caracal/29', str(e))

    def test_supported_releases_start_with_caracal(self):
        self.assertEqual(['2024.1', '2024.2', '2025.1', '2025.2', '2026.1',
                          '2026.2'], [r.series for r in release.SUPPORTED])


class TargetTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.WARNING))

    def installed(self, version):
        self.useFixture(fixtures.MockPatch(
            'nova_mig.novaconf.release.installed_version',
            return_value=version))

    def test_installed_package_wins_over_the_option(self):
        self.installed('30.1.0')
        target = release.target('2025.1')
        self.assertEqual('Dalmatian', target.release.name)
        self.assertEqual('installed nova package 30.1.0', target.source)
        self.assertIn('[nova]release = 2025.1 ignored: the installed nova '
                      'package is 30.1.0', self.logger.output)

    def test_option_without_package(self):
        self.installed(None)
        target = release.target('flamingo')
        self.assertEqual(32, target.release.major)
        self.assertEqual('[nova]release = flamingo', target.source)

    def test_default_is_the_oldest_supported(self):
        self.installed(None)
        target = release.target(None)
        self.assertEqual(release.OLDEST_SUPPORTED, target.release)
        self.assertFalse(target.has(release.PCI_MANAGED_TAG))
        self.assertTrue(target.has(release.MDEV_MAX_INSTANCES))

    def test_managed_tag_refused_before_epoxy(self):
        target = release.Target(release.parse('2024.2'), 'test')
        e = self.assertRaises(exception.NovaReleaseUnsupported,
                              release.check, target,
                              {release.PCI_MANAGED_TAG})
        self.assertIn('"managed": "no"', str(e))
        self.assertIn('needs Nova 2025.1 Epoxy (31.x) or later; this host '
                      'targets Nova 2024.2 Dalmatian (30.x) (test).', str(e))
        self.assertIn('set [nova]release', str(e))

    def test_max_instances_dropped_before_caracal_with_a_warning(self):
        target = release.Target(release.parse('2023.2'), 'test')
        self.assertEqual(set(), release.check(
            target, {release.MDEV_MAX_INSTANCES}))
        self.assertIn('Leaving out [mdev_<type>]max_instances: it needs Nova '
                      '2024.1 Caracal (29.x) or later', self.logger.output)

    def test_everything_kept_on_a_new_release(self):
        target = release.Target(release.parse('2026.1'), 'test')
        used = {release.MDEV_MAX_INSTANCES, release.PCI_MANAGED_TAG}
        self.assertEqual(used, release.check(target, used))
        self.assertEqual('', self.logger.output)


@testtools.skipIf(importlib.util.find_spec('nova') is None,
                  'the nova package is not installed')
class InstalledNovaTestCase(base.TimedTestCase):
    """The table agrees with the nova package the test tier installs."""

    def setUp(self):
        super().setUp()
        self.target = release.target(None)

    def test_installed_release_is_known_and_supported(self):
        self.assertIn(self.target.release, release.SUPPORTED)

    def source(self, module):
        # Read, not imported: importing nova starts its eventlet set-up.
        with open(importlib.util.find_spec(module).origin) as f:
            return f.read()

    def test_max_instances_matches_nova_conf_devices(self):
        has = "'max_instances'" in self.source('nova.conf.devices')
        self.assertEqual(has, self.target.has(release.MDEV_MAX_INSTANCES))

    def test_managed_tag_matches_nova_pci_devspec(self):
        has = '"managed"' in self.source('nova.pci.devspec')
        self.assertEqual(has, self.target.has(release.PCI_MANAGED_TAG))

    def test_libvirt_live_migration_options_exist_in_nova(self):
        source = self.source('nova.conf.libvirt')
        for name, _value in render.LIBVIRT_LIVE_MIGRATION:
            self.assertIn("'%s'" % name, source)

    def test_live_migratable_tag_matches_nova_pci_devspec(self):
        has = 'live_migratable' in self.source('nova.pci.devspec')
        self.assertEqual(has, self.target.has(release.PCI_LIVE_MIGRATABLE))

    def test_provider_trait_matches_nova_pci_placement_translator(self):
        has = ('HW_PCI_LIVE_MIGRATABLE' in
               self.source('nova.compute.pci_placement_translator'))
        self.assertEqual(has,
                         self.target.has(release.PCI_LIVE_MIGRATABLE_TRAIT))

    def test_release_table_matches_nova_service_version_aliases(self):
        # Nova's aliases name every release from Victoria (22.0.0) on, in
        # order: the n-th name is major 22 + n.
        tree = ast.parse(self.source('nova.objects.service'))
        names = next(
            [k.value for k in node.value.keys]
            for node in tree.body if isinstance(node, ast.Assign) and
            getattr(node.targets[0], 'id', '') == 'SERVICE_VERSION_ALIASES')
        majors = {name: 22 + i for i, name in enumerate(names)}
        for r in release.RELEASES:
            if r.name in majors:
                self.assertEqual(majors[r.name], r.major, r.name)
        self.assertEqual(self.target.release.major, majors[names[-1]])
        self.assertEqual(names[-1], self.target.release.name)
        self.assertGreaterEqual(len(majors.keys() & {
            r.name for r in release.SUPPORTED}), 6)


class ForReleaseTestCase(base.TestCase):
    """The Nova-config write path drops or refuses per release."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatch(
            'nova_mig.novaconf.release.installed_version',
            return_value=None))

    def config(self, mode, caps):
        return type_plan.NovaConfig(hostname='h', device_mode=mode,
                                    assignments=[], max_instances=caps)

    def test_max_instances_kept_from_caracal(self):
        self.flags(release='2024.1', group='nova')
        config = config_writer.for_release(self.conf, self.config(
            constants.MODE_MDEV, {'nvidia-699': 4}))
        self.assertEqual({'nvidia-699': 4}, config.max_instances)

    def test_max_instances_dropped_before_caracal(self):
        self.flags(release='bobcat', group='nova')
        config = config_writer.for_release(self.conf, self.config(
            constants.MODE_MDEV, {'nvidia-699': 4}))
        self.assertEqual({}, config.max_instances)

    def test_libvirt_live_migration_settings_from_caracal(self):
        config = self.config(constants.MODE_MDEV, {})
        config.live_migration = True
        self.flags(release='2024.1', group='nova')
        self.assertTrue(config_writer.for_release(self.conf,
                                                  config).live_migration)
        self.flags(release='bobcat', group='nova')
        self.assertFalse(config_writer.for_release(self.conf,
                                                   config).live_migration)

    def test_vendor_vfio_refused_before_epoxy(self):
        self.flags(release='2024.2', group='nova')
        self.assertRaises(exception.NovaReleaseUnsupported,
                          config_writer.for_release, self.conf,
                          self.config(constants.MODE_VENDOR_VFIO, {}))
        self.flags(release='2025.1', group='nova')
        config_writer.for_release(self.conf, self.config(
            constants.MODE_VENDOR_VFIO, {}))

    def test_unset_without_package_is_caracal(self):
        e = self.assertRaises(exception.NovaReleaseUnsupported,
                              config_writer.for_release, self.conf,
                              self.config(constants.MODE_VENDOR_VFIO, {}))
        self.assertIn('no nova package installed and [nova]release unset',
                      str(e))
