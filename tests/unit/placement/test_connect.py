"""Unit tests of choosing the cloud's Placement or the embedded one."""

from unittest import mock

from nova_mig import exception
from nova_mig.placement import client as client_mod
from nova_mig.placement import connect
from tests import base


class TestUseEmbedded(base.TestCase):

    def test_embedded_only_when_chosen(self):
        # tests.base chose it for every test.
        self.assertTrue(connect.use_embedded(self.conf))
        self.flags(embedded=False, group='placement_sync')
        self.assertFalse(connect.use_embedded(self.conf))
        self.assertFalse(connect.configured(self.conf))

    def test_configured_cloud_wins(self):
        for option, value in (('endpoint_override', 'http://p:8778'),
                              ('auth_type', 'password'),
                              ('auth_section', 'keystone_authtoken')):
            self.flags(group='placement', **{option: value})
            self.assertTrue(connect.configured(self.conf), option)
            self.assertFalse(connect.use_embedded(self.conf), option)
            self.flags(group='placement', **{option: None})


class TestPlacement(base.TestCase):

    def test_cloud_client_from_the_options(self):
        self.flags(embedded=False, group='placement_sync')
        self.flags(endpoint_override='http://p:8778', group='placement')
        with connect.placement(self.conf, mock.sentinel.config) as client:
            self.assertIsInstance(client, client_mod.PlacementClient)
            self.assertEqual('http://p:8778', client.where)

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
