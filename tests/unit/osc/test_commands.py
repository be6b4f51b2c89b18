"""Unit tests of the ``openstack mig`` commands over fake clouds."""

import argparse
import importlib.metadata
import io
import json
import subprocess
import sys
import types

import fixtures
from osc_lib import exceptions as osc_exc

from nova_mig.flavor import names
from nova_mig.osc import client as client_mod
from nova_mig.osc import plugin
from nova_mig.osc.v1 import flavor
from nova_mig.osc.v1 import profile
from nova_mig.osc.v1 import trait
from tests import base
from tests.unit.osc import fakes

RC = 'CUSTOM_MIG_1G_10GB'


class PluginTestCase(base.TestCase):

    def test_module_attributes(self):
        self.assertEqual('mig', plugin.API_NAME)
        self.assertEqual('os_mig_api_version', plugin.API_VERSION_OPTION)
        self.assertTrue(plugin.check_api_version('1'))
        self.assertFalse(plugin.check_api_version('2'))

    def test_option_parser_default_and_env(self):
        self.useFixture(_env('OS_MIG_API_VERSION', None))
        parser = plugin.build_option_parser(argparse.ArgumentParser())
        self.assertEqual('1', parser.parse_args([]).os_mig_api_version)

    def test_make_client(self):
        instance = types.SimpleNamespace(_api_version={'mig': '1'})
        self.assertIsInstance(plugin.make_client(instance),
                              client_mod.MigClient)

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
             'mig_flavor_sync': flavor.SyncFlavor,
             'mig_trait_list': trait.ListTrait,
             'mig_trait_sync': trait.SyncTrait}, commands)


def _env(name, value):
    return fixtures.EnvironmentVariable(name, value)


class CommandTestCase(base.TestCase):
    """A fake OSC app whose session reaches the fake Placement and Nova."""

    def setUp(self):
        super().setUp()
        for name in ('NOVA_MIG_RC_TEMPLATE', 'NOVA_MIG_TRAIT_TEMPLATE',
                     'NOVA_MIG_MODEL_TEMPLATE', 'NOVA_MIG_FLAVOR_TEMPLATE',
                     'NOVA_MIG_VGPU_CLASS'):
            self.useFixture(_env(name, None))
        self.placement = fakes.FakePlacementAdapter()
        self.compute = fakes.FakeCompute()
        conn = types.SimpleNamespace(placement=self.placement,
                                     compute=self.compute)
        self.app = types.SimpleNamespace(
            client_manager=types.SimpleNamespace(sdk_connection=conn),
            stdout=io.StringIO(), stderr=io.StringIO(), options=None)

    def run_cmd(self, cls, *argv, expect=0):
        """Run the command as OSC would; return its JSON output."""
        cmd = cls(self.app, None)
        parser = cmd.get_parser('openstack mig')
        args = parser.parse_args(list(argv) + ['-f', 'json'])
        self.app.stdout.seek(0)
        self.app.stdout.truncate()
        self.assertEqual(expect, cmd.run(args) or 0)
        return json.loads(self.app.stdout.getvalue())

    def gpu(self, host, rc=RC, total=2, used=0, traits=()):
        cn = self.placement.add(host)
        return self.placement.add(host + '_gpu', parent=cn,
                                  inventory={rc: {'total': total}},
                                  usages={rc: used}, traits=traits)


class ProfileCommandTestCase(CommandTestCase):

    def test_list_sums_per_profile(self):
        self.gpu('cn1', total=3, used=1)
        self.gpu('cn2', total=2, used=2, traits={'CUSTOM_GPU_A100'})
        rows = self.run_cmd(profile.ListProfile)
        self.assertEqual([{'Profile': '1g.10gb', 'Resource Class': RC,
                           'Hosts': 2, 'GPUs': 2, 'Total': 5, 'Used': 3,
                           'Free': 2}], rows)
        rows = self.run_cmd(profile.ListProfile, '--long')
        self.assertEqual([('cn1', 3, 1, 2, []),
                          ('cn2', 2, 2, 0, ['CUSTOM_GPU_A100'])],
                         [(r['Host'], r['Total'], r['Used'], r['Free'],
                           r['GPU Model']) for r in rows])

    def test_rc_template_option(self):
        self.gpu('cn1', rc='CUSTOM_SLICE_2G_20GB')
        self.assertEqual([], self.run_cmd(profile.ListProfile))
        rows = self.run_cmd(profile.ListProfile, '--rc-template',
                            'SLICE_{profile}')
        self.assertEqual(['2g.20gb'], [r['Profile'] for r in rows])

    def test_forbidden_says_admin_rights_are_needed(self):
        self.placement.status = 403
        cmd = profile.ListProfile(self.app, None)
        args = cmd.get_parser('x').parse_args([])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('Placement refused GET /resource_providers (HTTP '
                      '403): admin rights are needed', str(e))


class FlavorCommandTestCase(CommandTestCase):

    def test_create_with_model_name_and_vgpu_class(self):
        self.gpu('cn1')
        self.placement.traits |= {RC, 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'}
        row = self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb',
                           '--vgpu-class', '--model-trait',
                           'NVIDIA A100 80GB PCIe', '--property', 'a=b')
        self.assertEqual('created', row['status'])
        self.assertEqual(
            {'resources:VGPU': '1', 'trait:%s' % RC: 'required',
             'trait:CUSTOM_GPU_NVIDIA_A100_80GB_PCIE': 'required',
             'a': 'b', names.MANAGED_KEY: 'true'}, row['properties'])

    def test_create_unknown_profile_creates_nothing(self):
        self.gpu('cn1')
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(['--profile', '2g.20gb'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('Known profiles: 1g.10gb', str(e))
        self.assertEqual([], self.compute.calls)

    def test_list_shows_profile_and_ownership(self):
        self.compute.flavors_by_id = {f.id: f for f in (
            fakes.Flavor('mine', extra_specs={
                'resources:%s' % RC: '1', names.MANAGED_KEY: 'true'}),
            fakes.Flavor('theirs', extra_specs={
                'resources:VGPU': '1', 'trait:%s' % RC: 'required'}),
            fakes.Flavor('plain', extra_specs={}))}
        rows = self.run_cmd(flavor.ListFlavor)
        self.assertEqual(
            [('mine', '1g.10gb', {RC: '1'}, {}, True),
             ('theirs', '1g.10gb', {'VGPU': '1'}, {RC: 'required'}, False)],
            [(r['Name'], r['Profile'], r['Resources'], r['Traits'],
              r['Managed']) for r in rows])

    def test_sync_exit_code_is_1_when_a_flavor_is_refused(self):
        self.gpu('cn1')
        self.gpu('cn2', rc='CUSTOM_MIG_2G_20GB')
        rows = self.run_cmd(flavor.SyncFlavor)
        self.assertEqual([('mig.1g.10gb', 'created'),
                          ('mig.2g.20gb', 'created')],
                         [(r['Name'], r['Status']) for r in rows])
        foreign = fakes.Flavor('mig.3g.40gb', extra_specs={})
        self.compute.flavors_by_id[foreign.id] = foreign
        self.gpu('cn3', rc='CUSTOM_MIG_3G_40GB')
        rows = self.run_cmd(flavor.SyncFlavor, expect=1)
        self.assertEqual(['unchanged', 'unchanged', 'refused'],
                         [r['Status'] for r in rows])
        self.assertIn('Flavor mig.3g.40gb', self.app.stderr.getvalue())

    def test_sync_profile_filter_checks_the_profile(self):
        self.gpu('cn1')
        cmd = flavor.SyncFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(['--profile', '4g.40gb'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('MIG profile 4g.40gb is not known', str(e))


class TraitCommandTestCase(CommandTestCase):

    def test_sync_then_list(self):
        self.gpu('cn1')
        rows = self.run_cmd(trait.SyncTrait, '--profile', '2g.20gb')
        self.assertEqual([(RC, 'created'), ('CUSTOM_MIG_2G_20GB',
                                            'created')],
                         [(r['Name'], r['Status']) for r in rows])
        rows = self.run_cmd(trait.ListTrait)
        self.assertEqual([RC, 'CUSTOM_MIG_2G_20GB'],
                         [r['Name'] for r in rows])

    def test_sync_rejects_malformed_profile(self):
        cmd = trait.SyncTrait(self.app, None)
        args = cmd.get_parser('x').parse_args(['--profile', 'huge'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn("'huge' is not a MIG profile name", str(e))
