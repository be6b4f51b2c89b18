# SPDX-License-Identifier: Apache-2.0

"""Tests of the OpenStackClient plugin entry points."""

import argparse
import importlib.metadata
import subprocess
import sys
import types

from nova_mig.osc import client
from nova_mig.osc import plugin
from nova_mig.osc.v1 import alias
from nova_mig.osc.v1 import capacity
from nova_mig.osc.v1 import flavor
from nova_mig.osc.v1 import metrics
from nova_mig.osc.v1 import profile
from nova_mig.osc.v1 import rebalance
from nova_mig.osc.v1 import trait
from tests import base


class PluginTestCase(base.TestCase):

    def test_module_attributes(self):
        self.assertEqual('mig', plugin.API_NAME)
        self.assertEqual('os_mig_api_version', plugin.API_VERSION_OPTION)
        self.assertTrue(plugin.check_api_version('1'))
        self.assertFalse(plugin.check_api_version('2'))

    def test_no_api_version_option(self):
        # One version only: an option choosing it would mean nothing.
        parser = plugin.build_option_parser(argparse.ArgumentParser())
        self.assertNotIn('--os-mig-api-version', parser.format_help())

    def test_make_client(self):
        instance = types.SimpleNamespace(_api_version={'mig': '1'})
        self.assertIsInstance(plugin.make_client(instance),
                              client.MigClient)

    def test_plugin_import_is_light(self):
        # OSC imports the plugin on every run, whatever the command.
        code = ('import sys, nova_mig.osc.plugin; '
                'print(sorted(m for m in sys.modules if m.startswith('
                '"nova_mig.") and m not in ("nova_mig.osc", '
                '"nova_mig.osc.plugin")))')
        out = subprocess.check_output([sys.executable, '-c', code],
                                      text=True)
        self.assertEqual('[]', out.strip())

    def test_entry_points(self):
        eps = importlib.metadata.entry_points()
        self.assertEqual(
            ['nova_mig.osc.plugin'],
            [e.value for e in eps.select(group='openstack.cli.extension',
                                         name='mig')])
        commands = {e.name: e.load()
                    for e in eps.select(group='openstack.mig.v1')}
        self.assertEqual(
            {'mig_profile_list': profile.ListProfile,
             'mig_flavor_create': flavor.CreateFlavor,
             'mig_flavor_list': flavor.ListFlavor,
             'mig_flavor_show': flavor.ShowFlavor,
             'mig_flavor_set': flavor.SetFlavor,
             'mig_flavor_unset': flavor.UnsetFlavor,
             'mig_flavor_delete': flavor.DeleteFlavor,
             'mig_flavor_sync': flavor.SyncFlavor,
             'mig_trait_list': trait.ListTrait,
             'mig_trait_sync': trait.SyncTrait,
             'mig_capacity': capacity.Capacity,
             'mig_capacity_list': capacity.ListCapacity,
             'mig_capacity_show': capacity.ShowCapacity,
             'mig_metrics': metrics.Metrics,
             'mig_rebalance_plan': rebalance.PlanRebalance,
             'mig_alias_list': alias.ListAlias}, commands)
