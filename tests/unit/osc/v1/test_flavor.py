"""Tests of ``openstack mig flavor create|list|sync`` over a fake cloud."""

from osc_lib import exceptions as osc_exc

from nova_mig import naming
from nova_mig.osc.v1 import flavor
from tests.unit.flavor import fakes
from tests.unit.osc import base as osc_base

RC = osc_base.RC


class FlavorCommandTestCase(osc_base.CommandTestCase):

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
             'a': 'b', naming.MANAGED_KEY: 'true'}, row['properties'])

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
                'resources:%s' % RC: '1', naming.MANAGED_KEY: 'true'}),
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
