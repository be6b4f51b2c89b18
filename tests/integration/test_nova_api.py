# SPDX-License-Identifier: Apache-2.0

"""Nova API smoke tests: MIG flavors through openstacksdk, real tokens."""

import uuid

import openstack
from openstack import exceptions as sdk_exc

from tests import base
from tests.integration import services as services_mod

# Nova validates extra specs from this microversion on.
VALIDATING_MICROVERSION = '2.86'
MIG_SPECS = {'resources:CUSTOM_MIG_1G_10GB': '1',
             'trait:CUSTOM_MIG_1G_10GB': 'required'}


class NovaApiTestCase(base.TimedTestCase):
    """Flavors with MIG extra specs, as the flavor issue will make them."""

    def setUp(self):
        super().setUp()
        self.services = self.useFixture(
            services_mod.ServicesFixture()).services

    def connect(self, user: str = 'admin',
                password: str = services_mod.ADMIN_PASSWORD,
                project: str = 'admin') -> openstack.connection.Connection:
        conn = openstack.connect(
            load_yaml_config=False, load_envvars=False,
            auth_type='password',
            auth=self.services.auth(user, password, project),
            region_name=services_mod.REGION, interface='public',
            compute_api_version=VALIDATING_MICROVERSION)
        self.addCleanup(conn.close)
        return conn

    def flavor_name(self) -> str:
        return 'mig-1g.10gb-%s' % uuid.uuid4().hex[:8]

    def test_admin_creates_mig_flavor_and_reads_it_back(self):
        conn = self.connect()
        name = self.flavor_name()
        flavor = conn.compute.create_flavor(name=name, ram=2048, vcpus=2,
                                            disk=20)
        self.addCleanup(conn.compute.delete_flavor, flavor)
        conn.compute.create_flavor_extra_specs(flavor, MIG_SPECS)

        found = conn.compute.find_flavor(name, ignore_missing=False,
                                         get_extra_specs=True)
        self.assertEqual(flavor.id, found.id)
        self.assertEqual(MIG_SPECS, found.extra_specs)
        self.assertEqual((2048, 2, 20), (found.ram, found.vcpus, found.disk))

    def test_nova_validates_the_extra_specs(self):
        conn = self.connect()
        flavor = conn.compute.create_flavor(name=self.flavor_name(),
                                            ram=1024, vcpus=1, disk=1)
        self.addCleanup(conn.compute.delete_flavor, flavor)
        for key, value in (('trait:CUSTOM_MIG_1G_10GB', 'wanted'),
                           ('resources:CUSTOM_MIG_1G_10GB', 'one')):
            e = self.assertRaises(
                sdk_exc.BadRequestException,
                conn.compute.create_flavor_extra_specs, flavor,
                {key: value})
            self.assertIn('Validation failed', str(e))
            self.assertIn(value, str(e))
        self.assertEqual(
            {}, conn.compute.fetch_flavor_extra_specs(flavor).extra_specs)

    def test_member_cannot_create_flavors(self):
        conn = self.connect('demo', services_mod.DEMO_PASSWORD, 'demo')
        name = self.flavor_name()
        e = self.assertRaises(sdk_exc.ForbiddenException,
                              conn.compute.create_flavor, name=name,
                              ram=1024, vcpus=1, disk=1)
        self.assertEqual(403, e.status_code)
        # The member can still read flavors, and none was created.
        self.assertIsNone(conn.compute.find_flavor(name))
