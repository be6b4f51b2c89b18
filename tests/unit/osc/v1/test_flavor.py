# SPDX-License-Identifier: Apache-2.0

"""Tests of ``openstack mig flavor create|list|sync`` over a fake cloud."""

import io
import types

import fixtures
from openstack import exceptions as sdk_exc
from osc_lib import exceptions as osc_exc

from nova_mig.flavor import manage
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


class FlavorConventionsTestCase(osc_base.CommandTestCase):
    """create fails on an existing flavor; show, set, unset, delete."""

    def setUp(self):
        super().setUp()
        self.gpu('cn1')
        self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb',
                     '--property', 'hw:cpu_policy=dedicated')
        self.flavor = self.compute.named('mig.1g.10gb')[0]

    def test_create_refuses_an_existing_flavor(self):
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(['--profile', '1g.10gb'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('--or-update', str(e))

    def test_or_update_keeps_extra_specs_nova_mig_did_not_set(self):
        self.flavor.extra_specs['quota:cpu_shares'] = '1024'
        self.placement.traits |= {RC}
        row = self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb',
                           '--or-update', '--vgpu-class')
        self.assertEqual('updated', row['status'])
        self.assertEqual('1024', row['properties']['quota:cpu_shares'])
        self.assertEqual('dedicated', row['properties']['hw:cpu_policy'])
        self.assertEqual('1', row['properties']['resources:VGPU'])
        self.assertNotIn('resources:%s' % RC, row['properties'])

    def test_show_by_name_and_id(self):
        by_name = self.run_cmd(flavor.ShowFlavor, 'mig.1g.10gb')
        by_id = self.run_cmd(flavor.ShowFlavor, self.flavor.id)
        self.assertEqual(by_name, by_id)
        self.assertEqual('1g.10gb', by_name['profile'])
        self.assertTrue(by_name['managed'])
        cmd = flavor.ShowFlavor(self.app, None)
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action,
                              cmd.get_parser('x').parse_args(['nope']))
        self.assertIn('No flavor named or with the ID nope', str(e))

    def run_plain(self, cls, *argv):
        cmd = cls(self.app, None)
        return cmd.run(cmd.get_parser('x').parse_args(list(argv)))

    def test_set_and_unset(self):
        self.run_plain(flavor.SetFlavor, 'mig.1g.10gb', '--property',
                       'hw:mem_page_size=large', '--model-trait',
                       'CUSTOM_GPU_X')
        specs = self.compute.named('mig.1g.10gb')[0].extra_specs
        self.assertEqual('large', specs['hw:mem_page_size'])
        self.assertEqual('required', specs['trait:CUSTOM_GPU_X'])
        self.run_plain(flavor.UnsetFlavor, 'mig.1g.10gb', '--property',
                       'hw:cpu_policy', '--model-trait', 'CUSTOM_GPU_X')
        specs = self.compute.named('mig.1g.10gb')[0].extra_specs
        self.assertNotIn('hw:cpu_policy', specs)
        self.assertNotIn('trait:CUSTOM_GPU_X', specs)
        self.assertEqual('1', specs['resources:%s' % RC])

    def test_set_refuses_a_foreign_flavor_without_force(self):
        foreign = fakes.Flavor('theirs', extra_specs={})
        self.compute.flavors_by_id[foreign.id] = foreign
        cmd = flavor.SetFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(['theirs', '--property',
                                               'a=b'])
        self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertEqual({}, foreign.extra_specs)
        self.run_plain(flavor.SetFlavor, 'theirs', '--property', 'a=b',
                       '--force')
        self.assertEqual({'a': 'b', naming.MANAGED_KEY: 'true'},
                         foreign.extra_specs)

    def test_delete_only_nova_migs_flavors(self):
        foreign = fakes.Flavor('theirs', extra_specs={})
        self.compute.flavors_by_id[foreign.id] = foreign
        cmd = flavor.DeleteFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(['mig.1g.10gb', 'theirs'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('1 of 2', str(e))
        self.assertEqual([], self.compute.named('mig.1g.10gb'))
        self.assertEqual([foreign], self.compute.named('theirs'))


class FakeIdentity:
    """find_project and find_domain of an openstacksdk identity proxy."""

    def __init__(self, projects, domains=()):
        self.projects = projects  # (id, name, domain_id)
        self.domains = domains  # (id, name)

    def find_domain(self, name_or_id, ignore_missing=True):
        for id_, name in self.domains:
            if name_or_id in (id_, name):
                return types.SimpleNamespace(id=id_)
        raise sdk_exc.ResourceNotFound('No Domain found for %s'
                                       % name_or_id)

    def find_project(self, name_or_id, ignore_missing=True, domain_id=None):
        found = [p for p in self.projects if name_or_id in p[:2] and
                 domain_id in (None, p[2])]
        if not found:
            raise sdk_exc.ResourceNotFound('No Project found for %s'
                                           % name_or_id)
        return types.SimpleNamespace(id=found[0][0])


class FlavorCreateOptionsTestCase(osc_base.CommandTestCase):
    """The options "openstack mig flavor create" shares with core's."""

    def setUp(self):
        super().setUp()
        self.gpu('cn1')
        self.app.client_manager.sdk_connection.identity = FakeIdentity(
            [('p1', 'research', 'd1'), ('p2', 'research', 'd2')],
            [('d1', 'Default'), ('d2', 'lab')])

    def test_positional_name_id_description_and_default_sizes(self):
        row = self.run_cmd(flavor.CreateFlavor, 'gpu.small', '--profile',
                           '1g.10gb', '--id', 'f-1', '--description',
                           'One 1g.10gb slice')
        made = self.compute.flavors_by_id['f-1']
        self.assertEqual(('gpu.small', 'One 1g.10gb slice', True),
                         (made.name, made.description, made.is_public))
        self.assertEqual((manage.DEFAULT_VCPUS, manage.DEFAULT_RAM_MB,
                          manage.DEFAULT_DISK_GB),
                         (made.vcpus, made.ram, made.disk))
        self.assertEqual(('gpu.small', 'f-1', True, 'One 1g.10gb slice'),
                         (row['name'], row['id'],
                          row['os-flavor-access:is_public'],
                          row['description']))

    def test_no_name_takes_the_template(self):
        self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb')
        self.assertEqual(1, len(self.compute.named('mig.1g.10gb')))

    def test_deprecated_name_option_still_names_the_flavor(self):
        self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb',
                     '--name', 'old-style')
        self.assertEqual(1, len(self.compute.named('old-style')))
        self.assertIn('--name is deprecated', self.app.stderr.getvalue())
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['a', '--name', 'b', '--profile', '1g.10gb'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('Two flavor names: a and --name b', str(e))
        self.assertNotRegex(cmd.get_parser('x').format_help(),
                            r'--name[ \]]')

    def test_private_with_project_in_a_domain(self):
        self.run_cmd(flavor.CreateFlavor, 'lab', '--profile', '1g.10gb',
                     '--private', '--project', 'research',
                     '--project-domain', 'lab')
        made = self.compute.named('lab')[0]
        self.assertEqual((False, ['p2']), (made.is_public, made.projects))

    def test_project_needs_private_and_creates_nothing(self):
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['lab', '--profile', '1g.10gb', '--project', 'research'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertEqual('--project is only allowed with --private', str(e))
        self.assertEqual([], self.compute.named('lab'))

    def test_unknown_project_creates_nothing(self):
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['lab', '--profile', '1g.10gb', '--private', '--project',
             'nobody'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertEqual('No project nobody in the Identity service',
                         str(e))
        self.assertEqual([], self.compute.calls)

    def test_refused_project_access_takes_the_flavor_back(self):
        def refuse(flavor_id, project_id):
            raise sdk_exc.ForbiddenException(message='Policy',
                                             http_status=403)
        self.compute.flavor_add_tenant_access = refuse
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['lab', '--profile', '1g.10gb', '--private', '--project', 'p1'])
        self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertEqual([], self.compute.named('lab'))

    def test_public_and_private_exclude_each_other(self):
        cmd = flavor.CreateFlavor(self.app, None)
        parser = cmd.get_parser('x')
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
        self.assertRaises(SystemExit, parser.parse_args,
                          ['lab', '--profile', '1g.10gb', '--public',
                           '--private'])

    def test_or_update_refuses_another_id(self):
        self.run_cmd(flavor.CreateFlavor, 'lab', '--profile', '1g.10gb',
                     '--id', 'f-1')
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['lab', '--profile', '1g.10gb', '--id', 'f-2', '--or-update'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('exists with id=f-1, not id=f-2', str(e))
