# SPDX-License-Identifier: Apache-2.0

"""Placement as an untrusted peer: answers of the wrong shape, no answer."""

import threading
import time

import requests

from nova_mig import exception
from nova_mig.placement import api_client
from tests import base
from tests.unit.placement import test_client


def _ok(body):
    return test_client.response(200, body)


class ShapeTestCase(base.TestCase):
    """Each answer of the wrong shape is one line naming call and key."""

    def call(self, body, method, *args):
        adapter = test_client.FakeAdapter(_ok(body))
        client = api_client.PlacementClient(adapter, 'http://p')
        return self.assertRaises(exception.PlacementError,
                                 getattr(client, method), *args)

    def test_wrong_shapes(self):
        cases = [
            ({'resource_providers': ['a', 'b']}, 'providers', (),
             'Placement GET /resource_providers failed with HTTP 200: the '
             'answer\'s "resource_providers" is not a list of resource '
             'providers with "uuid" and "name" text; is '
             '[placement]endpoint_override a Placement service?'),
            ({'resource_providers': [{'uuid': 5, 'name': 'x'}]}, 'providers',
             ('h',), 'the answer\'s "resource_providers" is not a list'),
            ({}, 'providers', (), 'the answer has no "resource_providers"'),
            ({'traits': 'CUSTOM_A', 'resource_provider_generation': 1},
             'provider_traits', ('u',),
             'GET /resource_providers/u/traits failed with HTTP 200: the '
             'answer\'s "traits" is not a list of trait names'),
            ({'traits': [], 'resource_provider_generation': '1'},
             'provider_traits', ('u',),
             '"resource_provider_generation" is not an integer'),
            ({'inventories': {'VGPU': 7}, 'resource_provider_generation': 1},
             'inventories', ('u',), '"inventories" is not a mapping'),
            ({'resource_classes': ['VGPU']}, 'resource_classes', (),
             '"resource_classes" is not a list of resource classes'),
            ({'traits': {'a': 1}}, 'existing_traits', ({'A'},),
             '"traits" is not a list of trait names'),
        ]
        for body, method, args, expected in cases:
            e = self.call(body, method, *args)
            self.assertIn(expected, str(e))
            self.assertNotIn('\n', str(e))

    def test_error_answer_of_the_wrong_shape(self):
        for body in (['x'], {'errors': 'x'}, {'errors': ['x']},
                     {'errors': [{'title': 5, 'detail': ['x']}]}):
            adapter = test_client.FakeAdapter(test_client.response(500, body))
            client = api_client.PlacementClient(adapter, 'http://p')
            e = self.assertRaises(exception.PlacementError,
                                  client.resource_classes)
            self.assertIn('GET /resource_classes failed with HTTP 500',
                          str(e))
            self.assertNotIn('\n', str(e))

    def test_right_shapes_pass(self):
        adapter = test_client.FakeAdapter(_ok({'resource_providers': [
            {'uuid': 'u', 'name': 'n', 'generation': 1,
             'root_provider_uuid': 'u', 'parent_provider_uuid': None}]}))
        client = api_client.PlacementClient(adapter, 'http://p')
        self.assertEqual('n', client.providers()[0]['name'])


class TimeoutTestCase(base.TestCase):
    """A peer that accepts and never answers fails after the timeout."""

    def test_default_timeout_when_unset(self):
        self.flags(endpoint_override='http://127.0.0.1:9',
                   auth_type='none', group='placement')
        self.assertIsNone(self.conf.placement.timeout)
        client = api_client.PlacementClient.from_conf(self.conf)
        self.assertEqual(api_client.DEFAULT_TIMEOUT,
                         client.adapter.session.timeout)
        self.assertEqual(30.0, api_client.DEFAULT_TIMEOUT)

    def test_hanging_placement(self):
        peer = self.useFixture(base.HangingPeer())
        self.flags(endpoint_override=peer.url, auth_type='none',
                   timeout=1, group='placement')
        client = api_client.PlacementClient.from_conf(self.conf)
        started = time.monotonic()
        e = self.assertRaises(exception.PlacementUnreachable,
                              client.providers, 'h')
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn('Placement at %s is unreachable' % peer.url, str(e))
        self.assertIn('timed out', str(e))
        self.assertNotIn('\n', str(e))

    def test_hanging_keystone(self):
        peer = self.useFixture(base.HangingPeer())
        path = self.tmpdir + '/nova.conf'
        with open(path, 'w') as f:
            f.write('[placement]\nauth_type = password\nauth_url = %s/v3\n'
                    'username = u\npassword = p\nproject_name = p\n'
                    'user_domain_name = Default\ntimeout = 1\n'
                    'project_domain_name = Default\n' % peer.url)
        self.conf(['--config-file', path], project='nova-mig')
        client = api_client.PlacementClient.from_conf(self.conf)
        started = time.monotonic()
        e = self.assertRaises(exception.IdentityUnreachable,
                              client.providers, 'h')
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn(peer.url, str(e))
        self.assertNotIn('\n', str(e))

    def test_requests_would_hang_without_it(self):
        # The peer really never answers: a request with no timeout is
        # still waiting after two seconds.
        peer = self.useFixture(base.HangingPeer())
        result: list = []

        def get():
            try:
                result.append(requests.get(peer.url, timeout=None))
            except Exception as e:  # closed by cleanup
                result.append(e)
        threading.Thread(target=get, daemon=True).start()
        time.sleep(2)
        self.assertEqual([], result)
