# SPDX-License-Identifier: Apache-2.0

"""Unit tests of choosing the cloud's Placement or the embedded one."""

import io
import os
from unittest import mock

from nova_mig.cli import app
from nova_mig import exception
from nova_mig.placement import api_client
from nova_mig.placement import connect
from tests import base
from tests import fake_keystone
from tests.functional import base as functional_base


class TestUseEmbedded(base.TestCase):

    def test_embedded_only_when_chosen(self):
        # tests.base chose it for every test.
        self.assertTrue(connect.use_embedded(self.conf))
        self.flags(embedded=False, group='placement_sync')
        self.assertFalse(connect.use_embedded(self.conf))
        self.assertFalse(connect.configured(self.conf))

    def test_configured_cloud_wins(self):
        # nova-mig.conf choosing the embedded Placement, plus each way
        # nova.conf's [placement] names a cloud, as files: the command
        # line talks to the cloud (its closed Placement), never to the
        # embedded one (which would make "sync" succeed).
        placement = base.closed_port_url()
        keystone = self.useFixture(fake_keystone.FakeKeystone(
            [('RegionOne', 'public', placement)]))
        password = ('auth_url = %s\nusername = nova\npassword = pw\n'
                    'project_name = service\nuser_domain_name = Default\n'
                    'project_domain_name = Default\n' % keystone.url)
        for option, section, requests in (
                ('endpoint_override',
                 '[placement]\nauth_type = none\nendpoint_override = %s\n'
                 % placement, 0),
                ('auth_type',
                 '[placement]\nauth_type = password\n' + password, 1),
                ('auth_section',
                 '[placement]\nauth_section = keystone_authtoken\n'
                 '[keystone_authtoken]\nauth_type = password\n' + password,
                 1)):
            text = ('[gpu]\nbackend = simulated\n'
                    '[simulator]\nhost_file = %s\n[host]\nstate_dir = %s\n'
                    '[placement_sync]\nembedded = true\n%s' % (
                        os.path.join(base.TOP_DIR, 'etc', 'nova-mig',
                                     'hosts', 'a100-mixed.yaml'),
                        os.path.join(self.tmpdir, 'state'), section))
            path = os.path.join(self.tmpdir, '%s.conf' % option)
            with open(path, 'w') as f:
                f.write(text)
            with open(path) as f:
                self.assertEqual(text, f.read())
            before = len(keystone.token_requests)
            self.useFixture(functional_base.RootLogger())
            out, err = io.StringIO(), io.StringIO()
            rc = app.NovaMigApp(stdout=out, stderr=err).run(
                ['--config-file', path, 'sync'])
            self.assertEqual(1, rc, option + out.getvalue() + err.getvalue())
            self.assertEqual(
                'nova-mig: error: Placement at %s is unreachable: '
                'Connection refused. Check [placement]endpoint_override, '
                'valid_interfaces and region_name, and that the placement '
                'service runs.\n' % placement, err.getvalue(), option)
            self.assertEqual(requests,
                             len(keystone.token_requests) - before, option)
            conf = self.read_conf(path)
            self.assertTrue(connect.configured(conf), option)
            self.assertFalse(connect.use_embedded(conf), option)


class TestPlacement(base.TestCase):

    def test_cloud_client_from_the_options(self):
        self.flags(embedded=False, group='placement_sync')
        self.flags(endpoint_override='http://p:8778', auth_type='none',
                   group='placement')
        with connect.placement(self.conf, mock.sentinel.config) as client:
            self.assertIsInstance(client, api_client.PlacementClient)
            self.assertEqual('http://p:8778', client.where)

    def test_endpoint_override_without_auth_type_names_it(self):
        # keystoneauth alone says "An auth plugin is required to fetch a
        # token", which nova-mig used to report as refused credentials
        # though nothing was sent.
        path = os.path.join(self.tmpdir, 'nova-mig.conf')
        text = ('[gpu]\nbackend = simulated\n[simulator]\nhost_file = %s\n'
                '[host]\nstate_dir = %s\n[placement]\n'
                'endpoint_override = %s\n' % (
                    os.path.join(base.TOP_DIR, 'etc', 'nova-mig', 'hosts',
                                 'a100-mixed.yaml'),
                    os.path.join(self.tmpdir, 'state'),
                    base.closed_port_url()))
        with open(path, 'w') as f:
            f.write(text)
        self.useFixture(functional_base.RootLogger())
        out, err = io.StringIO(), io.StringIO()
        rc = app.NovaMigApp(stdout=out, stderr=err).run(
            ['--config-file', path, 'sync'])
        self.assertEqual(1, rc)
        self.assertEqual(
            'nova-mig: error: Placement is not configured: [placement] has '
            'no auth_type (read: %s); endpoint_override only chooses the '
            'URL. Set auth_type = password with auth_url, username, '
            'password and project_name (a user with the admin role) as in '
            'nova.conf, or auth_type = admin_token with endpoint and token '
            'for a Placement that runs without Keystone.\n' % path,
            err.getvalue())
        self.assertFalse(os.path.exists(os.path.join(
            self.tmpdir, 'state', 'placement')))

    def test_nothing_configured_is_an_error_not_a_fallback(self):
        self.flags(embedded=False, group='placement_sync')
        plugin = mock.MagicMock()
        with mock.patch('stevedore.driver.DriverManager') as manager:
            manager.return_value.driver = plugin
            e = self.assertRaises(exception.PlacementNotConfigured,
                                  connect.placement(
                                      self.conf,
                                      mock.sentinel.config).__enter__)
        self.assertFalse(manager.called)
        self.assertIn('Placement is not configured: [placement] has no '
                      'auth_type, auth_section or endpoint_override (read: '
                      'no configuration file). Copy the [placement] section '
                      'of nova.conf', str(e))

    def test_embedded_not_installed(self):
        with mock.patch('stevedore.driver.DriverManager',
                        side_effect=ImportError("No module named 'oslo_db'")):
            e = self.assertRaises(exception.EmbeddedPlacementUnavailable,
                                  connect.placement(
                                      self.conf,
                                      mock.sentinel.config).__enter__)
        self.assertIn("No module named 'oslo_db'", str(e))
        self.assertIn("pip install 'nova-mig[embedded]'", str(e))

    def test_embedded_plugin_gets_the_plan(self):
        self.flags(embedded=True, group='placement_sync')
        plugin = mock.MagicMock()
        plugin.return_value.__enter__.return_value = mock.sentinel.client
        with mock.patch('stevedore.driver.DriverManager') as manager:
            manager.return_value.driver = plugin
            with connect.placement(self.conf, mock.sentinel.config) as c:
                self.assertIs(mock.sentinel.client, c)
        manager.assert_called_once_with(connect.EMBEDDED_NAMESPACE,
                                        'embedded')
        plugin.assert_called_once_with(self.conf, mock.sentinel.config)
