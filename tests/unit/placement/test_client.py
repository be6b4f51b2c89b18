# SPDX-License-Identifier: Apache-2.0

"""Unit tests of the Placement client's error mapping and construction."""

import io
import json
import logging
import os

import fixtures
from keystoneauth1 import exceptions as ks_exc
import requests

from nova_mig.cli import app
from nova_mig import exception
from nova_mig.placement import api_client
from tests import base
from tests import fake_keystone
from tests.functional import base as functional_base

URL = 'http://placement.example:8778'


def response(status: int, body=None, reason: str = '') -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    resp.reason = reason
    resp._content = (json.dumps(body).encode() if body is not None
                     else b'')
    return resp


class FakeAdapter:
    """Answers each request with the next item: a response or an error."""

    auth = None
    session = None

    def __init__(self, *answers):
        self.answers = list(answers)
        self.seen = []

    def get_token(self):
        return 'token'

    def request(self, path, method, **kwargs):
        self.seen.append((method, path, kwargs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def error_body(status, title, detail='', code=None):
    err = {'status': status, 'title': title, 'detail': detail}
    if code:
        err['code'] = code
    return {'errors': [err]}


class ClientErrorTestCase(base.TestCase):

    def client(self, *answers):
        self.adapter = FakeAdapter(*answers)
        return api_client.PlacementClient(self.adapter, URL)

    def test_connection_refused_is_unreachable_naming_url_and_options(self):
        c = self.client(ks_exc.ConnectFailure('Connection refused'))
        e = self.assertRaises(exception.PlacementUnreachable,
                              c.providers, name='cn1')
        self.assertIn(URL, str(e))
        self.assertIn('Connection refused', str(e))
        self.assertIn('[placement]endpoint_override', str(e))

    def test_timeouts_and_missing_endpoint_are_unreachable(self):
        for error in (ks_exc.ConnectTimeout('t'), ks_exc.RequestTimeout('t'),
                      ks_exc.EndpointNotFound('no placement in catalog')):
            c = self.client(error)
            self.assertRaises(exception.PlacementUnreachable,
                              c.resource_classes)

    def test_401_403_and_keystone_refusal_are_auth_errors(self):
        for answer in (response(401, error_body(401, 'Unauthorized')),
                       response(403, error_body(403, 'Forbidden')),
                       ks_exc.Unauthorized('The request you have made '
                                           'requires authentication.')):
            c = self.client(answer)
            e = self.assertRaises(exception.PlacementAuthError,
                                  c.resource_classes)
            self.assertIn('[placement]auth_type', str(e))

    def test_500_names_status_and_first_error_title(self):
        c = self.client(response(500, error_body(
            500, 'Internal Server Error', 'boom\n\nDatabase is gone')))
        e = self.assertRaises(exception.PlacementError, c.resource_classes)
        self.assertEqual(500, e.status)
        self.assertIn('HTTP 500', str(e))
        self.assertIn('Internal Server Error', str(e))
        self.assertIn('Database is gone', str(e))
        self.assertIn('GET /resource_classes', str(e))

    def test_non_json_error_body(self):
        c = self.client(response(502, None, reason='Bad Gateway'))
        e = self.assertRaises(exception.PlacementError, c.resource_classes)
        self.assertIn('HTTP 502: Bad Gateway', str(e))

    def test_409_concurrent_update_is_a_generation_conflict(self):
        c = self.client(response(409, error_body(
            409, 'Conflict', 'generation changed',
            api_client.CONCURRENT_UPDATE)))
        e = self.assertRaises(exception.PlacementGenerationConflict,
                              c.set_provider_traits, 'u1', {'A'}, 3)
        self.assertEqual(api_client.CONCURRENT_UPDATE, e.code)

    def test_other_409_is_not_retried_as_conflict(self):
        c = self.client(response(409, error_body(
            409, 'Conflict', 'in use', 'placement.inventory.inuse')))
        e = self.assertRaises(exception.PlacementError,
                              c.set_inventories, 'u1', {}, 1)
        self.assertNotIsInstance(e, exception.PlacementGenerationConflict)

    def test_microversions_and_counters(self):
        c = self.client(
            response(200, {'resource_providers': []}),
            response(200, {'traits': ['A'],
                           'resource_provider_generation': 4}),
            response(201), response(204))
        c.providers(in_tree='r', required=['A', '!B'])
        c.set_provider_traits('u', {'A'}, 3)
        self.assertTrue(c.ensure_resource_class('CUSTOM_X'))
        self.assertFalse(c.ensure_trait('CUSTOM_X'))
        seen = [(m, p, kw['microversion']) for m, p, kw in self.adapter.seen]
        self.assertEqual([
            ('GET', '/resource_providers?in_tree=r&required=A,!B', '1.22'),
            ('PUT', '/resource_providers/u/traits', '1.23'),
            ('PUT', '/resource_classes/CUSTOM_X', '1.7'),
            ('PUT', '/traits/CUSTOM_X', '1.6')], seen)
        self.assertEqual({'resource_provider_generation': 3,
                          'traits': ['A']}, self.adapter.seen[1][2]['json'])
        self.assertEqual(4, c.requests)
        self.assertEqual(3, c.writes)
        self.assertFalse(any(kw['raise_exc'] for _, _, kw in
                             self.adapter.seen))


class FromConfTestCase(base.TestCase):
    """[placement] from file text, read and run as the command line does."""

    def write(self, text: str) -> str:
        """nova.conf with ``text`` after a simulated host; read back."""
        text = ('[gpu]\nbackend = simulated\n[simulator]\nhost_file = %s\n'
                '[host]\nstate_dir = %s\n%s' % (
                    os.path.join(base.TOP_DIR, 'etc', 'nova-mig', 'hosts',
                                 'a100-mixed.yaml'),
                    os.path.join(self.tmpdir, 'state'), text))
        path = os.path.join(self.tmpdir, 'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        with open(path) as f:
            self.assertEqual(text, f.read())
        self.assertNotIn('embedded', text)
        return path

    def nova_mig(self, *argv: str) -> tuple[int, str, str]:
        """The command line in this process: exit code, stdout, stderr."""
        self.useFixture(functional_base.RootLogger())
        out, err = io.StringIO(), io.StringIO()
        try:
            rc = app.NovaMigApp(stdout=out, stderr=err).run(list(argv))
        except SystemExit as e:
            rc = e.code
        return rc, out.getvalue(), err.getvalue()

    def test_nova_conf_placement_section_is_read(self):
        path = self.write(
            '[DEFAULT]\ncompute_driver = libvirt.LibvirtDriver\n'
            '[placement]\nauth_type = password\n'
            'auth_url = http://127.0.0.1:9/identity\n'
            'username = placement\npassword = s3cr3t-pw\n'
            'project_name = service\nuser_domain_name = Default\n'
            'project_domain_name = Default\n'
            'region_name = RegionOne\n'
            'valid_interfaces = internal\n')
        conf = self.read_conf(path)
        logs = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        c = api_client.PlacementClient.from_conf(conf)
        self.assertEqual('placement', c.adapter.service_type)
        self.assertEqual('RegionOne', c.adapter.region_name)
        self.assertEqual(['internal'], c.adapter.interface)
        self.assertIn('http://127.0.0.1:9/identity', c.where)
        # Port 9 (discard) is closed: the token request fails to connect,
        # and the error names Keystone, not Placement.
        e = self.assertRaises(exception.IdentityUnreachable,
                              c.resource_classes)
        self.assertEqual(
            'Keystone at http://127.0.0.1:9/identity is unreachable: '
            'Connection refused. Check [placement]auth_url and that the '
            'identity service runs.', str(e))
        self.assertEqual(0, c.requests)
        self.assertNotIn('s3cr3t-pw', str(e))
        self.assertNotIn('s3cr3t-pw', logs.output)

    def test_auth_section_of_nova_conf(self):
        # The service user's credentials in [keystone_authtoken], the
        # endpoint's choice in [placement]: Keystone gets the former, and
        # the catalog's RegionTwo public URL is the one tried.
        placement = base.closed_port_url()
        elsewhere = base.closed_port_url()
        keystone = self.useFixture(fake_keystone.FakeKeystone([
            ('RegionOne', 'public', elsewhere),
            ('RegionTwo', 'internal', elsewhere),
            ('RegionTwo', 'public', placement)]))
        path = self.write(
            '[placement]\nauth_section = keystone_authtoken\n'
            'region_name = RegionTwo\nvalid_interfaces = public\n'
            '[keystone_authtoken]\nauth_type = password\n'
            'www_authenticate_uri = %s\nauth_url = %s\n'
            'memcached_servers = controller:11211\n'
            'username = nova\npassword = s3cr3t-pw\n'
            'project_name = service\nuser_domain_name = Default\n'
            'project_domain_name = Default\n' % (keystone.url, keystone.url))
        rc, out, err = self.nova_mig('--config-file', path, 'sync')
        self.assertEqual(1, rc, out + err)
        self.assertEqual(
            'nova-mig: error: Placement at %s is unreachable: Connection '
            'refused. Check [placement]endpoint_override, valid_interfaces '
            'and region_name, and that the placement service runs.\n'
            % placement, err)
        self.assertEqual(1, len(keystone.token_requests))
        user = keystone.token_requests[0]['auth']['identity']['password'][
            'user']
        self.assertEqual(('nova', 's3cr3t-pw'),
                         (user['name'], user['password']))

    def test_auth_section_without_auth_type(self):
        # The [keystone_authtoken] of keystonemiddleware alone: no
        # auth_type, so no credentials for nova-mig.
        path = self.write(
            '[placement]\nauth_section = keystone_authtoken\n'
            '[keystone_authtoken]\n'
            'www_authenticate_uri = http://controller:5000\n'
            'memcached_servers = controller:11211\n')
        for command in ('sync', 'verify'):
            rc, out, err = self.nova_mig('--config-file', path, command)
            self.assertEqual(1, rc, out + err)
            self.assertEqual(
                'nova-mig: error: Placement is not configured: '
                '[placement]auth_section = keystone_authtoken, but '
                '[keystone_authtoken] has no auth_type (read: %s). Copy '
                'that section of nova.conf too, or add --config-file '
                '/etc/nova/nova.conf.\n' % path, err)

    def test_bad_keystoneauth_value_is_one_line(self):
        path = self.write('[placement]\nauth_type = none\n'
                          'endpoint_override = http://p:8778\n'
                          'insecure = maybe\n')
        rc, out, err = self.nova_mig('--config-file', path, 'sync')
        self.assertEqual(1, rc, out + err)
        self.assertEqual(
            "nova-mig: error: Invalid configuration: %s: [placement]"
            "insecure: Unexpected boolean value 'maybe'\n" % path, err)

    def test_nova_conf_libvirt_options_not_unknown(self):
        # nova.conf's own [libvirt] options, a section nova-mig shares.
        path = self.write('[placement]\nauth_type = none\n'
                          'endpoint_override = %s\n[libvirt]\n'
                          'virt_type = kvm\ncpu_mode = host-passthrough\n'
                          % base.closed_port_url())
        rc, out, err = self.nova_mig('--config-file', path, 'sync')
        self.assertEqual(1, rc, out + err)
        self.assertEqual(1, len(err.splitlines()), err)
        self.assertIn('is unreachable: Connection refused', err)

    def test_endpoint_is_the_override_or_where(self):
        c = api_client.PlacementClient.for_endpoint('http://p:8778')
        self.assertEqual('http://p:8778', c.endpoint)

    def test_incomplete_auth_options(self):
        self.flags(auth_type='password', group='placement')
        e = self.assertRaises(exception.PlacementAuthError,
                              api_client.PlacementClient.from_conf,
                              self.conf)
        self.assertIn('auth_url', str(e))
        self.assertIn('[placement]auth_type', str(e))


class IdentityErrorTestCase(base.TestCase):
    """Failures of the token request are Keystone's, not Placement's."""

    def client(self, token_error):
        adapter = FakeAdapter(response(200, {'resource_classes': []}))
        adapter.auth = type('Auth', (), {'auth_url': 'http://ks:5000/v3'})()

        def get_token():
            raise token_error
        adapter.get_token = get_token
        return api_client.PlacementClient(adapter, URL)

    def test_keystone_500(self):
        c = self.client(ks_exc.InternalServerError('boom'))
        e = self.assertRaises(exception.IdentityError, c.resource_classes)
        self.assertIn('Keystone at http://ks:5000/v3 failed', str(e))
        self.assertNotIn('Placement', str(e))

    def test_keystone_refusing_credentials(self):
        c = self.client(ks_exc.Unauthorized('bad password'))
        e = self.assertRaises(exception.PlacementAuthError,
                              c.resource_classes)
        self.assertIn('refused the credentials', str(e))

    def test_token_fetched_once(self):
        adapter = FakeAdapter(response(200, {'resource_classes': []}),
                              response(200, {'resource_classes': []}))
        calls = []
        adapter.get_token = lambda: calls.append(1) or 'token'
        c = api_client.PlacementClient(adapter, URL)
        c.resource_classes()
        c.resource_classes()
        self.assertEqual(1, len(calls))
        self.assertEqual(2, c.requests)
