"""Unit tests of choosing the cloud's Placement or the embedded one."""

from unittest import mock

from nova_mig.placement import client as client_mod
from nova_mig.placement import connect
from tests import base


class TestUseEmbedded(base.TestCase):

    def test_embedded_without_a_cloud(self):
        self.assertTrue(connect.use_embedded(self.conf))
        self.flags(endpoint_override='http://p:8778', group='placement')
        self.assertFalse(connect.use_embedded(self.conf))

    def test_option_wins(self):
        self.flags(embedded=True, group='placement_sync')
        self.flags(endpoint_override='http://p:8778', group='placement')
        self.assertTrue(connect.use_embedded(self.conf))
        self.flags(embedded=False, group='placement_sync')
        self.flags(endpoint_override=None, group='placement')
        self.assertFalse(connect.use_embedded(self.conf))


class TestPlacement(base.TestCase):

    def test_cloud_client_from_the_options(self):
        self.flags(embedded=False, group='placement_sync')
        self.flags(endpoint_override='http://p:8778', group='placement')
        with connect.placement(self.conf, mock.sentinel.config) as client:
            self.assertIsInstance(client, client_mod.PlacementClient)
            self.assertEqual('http://p:8778', client.where)

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
