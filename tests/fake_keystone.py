# SPDX-License-Identifier: Apache-2.0

"""A loopback Keystone (identity v3) for tests of how credentials are read.

It answers version discovery and ``POST /v3/auth/tokens`` only, records
every token request's JSON body (so a test sees which credentials the
configuration file sent), and hands out the token ``admin`` (which an
embedded Placement running ``noauth2`` takes as the admin user) with a
catalog of Placement endpoints given by the test. With ``tls`` it serves
HTTPS with a self-signed certificate for 127.0.0.1 (``cert_path``).
"""

import json
import os
import ssl
import subprocess
import threading
from wsgiref import simple_server

import fixtures

TOKEN = 'admin'


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def make_certificate(directory: str) -> tuple[str, str]:
    """A self-signed certificate and key for 127.0.0.1 (openssl)."""
    cert = os.path.join(directory, 'keystone.pem')
    key = os.path.join(directory, 'keystone.key')
    subprocess.run(
        ['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
         '-days', '2', '-subj', '/CN=127.0.0.1', '-addext',
         'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert],
        check=True, capture_output=True)
    return cert, key


class FakeKeystone(fixtures.Fixture):
    """Keystone v3 on a free loopback port.

    :param catalog: ``[(region, interface, url)]`` of the ``placement``
        service.
    :param directory: where the TLS certificate goes (with ``tls``).
    ``url`` is the identity root with ``/v3`` (an ``auth_url``);
    ``token_requests`` the bodies of the token requests received.
    """

    def __init__(self, catalog: list[tuple[str, str, str]],
                 tls: bool = False, directory: str | None = None):
        super().__init__()
        self.catalog = catalog
        self.tls = tls
        self.directory = directory
        self.token_requests: list[dict] = []
        self.cert_path: str | None = None

    def _root(self) -> str:
        return self.url.rsplit('/v3', 1)[0]

    def _app(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        method = environ['REQUEST_METHOD']
        version = {'id': 'v3.14', 'status': 'stable',
                   'updated': '2020-04-07T00:00:00Z',
                   'links': [{'rel': 'self', 'href': self.url + '/'}],
                   'media-types': [{
                       'base': 'application/json',
                       'type': 'application/vnd.openstack.identity-v3+json'
                   }]}
        if method == 'GET' and path.rstrip('/') in ('', '/v3'):
            body = ({'version': version} if path.rstrip('/') == '/v3'
                    else {'versions': {'values': [version]}})
            start_response('200 OK', [('Content-Type', 'application/json')])
            return [json.dumps(body).encode()]
        if method == 'POST' and path == '/v3/auth/tokens':
            length = int(environ.get('CONTENT_LENGTH') or 0)
            request = json.loads(environ['wsgi.input'].read(length))
            self.token_requests.append(request)
            start_response('201 Created', [
                ('Content-Type', 'application/json'),
                ('X-Subject-Token', TOKEN)])
            return [json.dumps(self._token(request)).encode()]
        start_response('404 Not Found', [('Content-Type', 'text/plain')])
        return [b'not found']

    def _token(self, request: dict) -> dict:
        endpoints = [{'id': 'e%d' % i, 'interface': interface,
                      'region': region, 'region_id': region, 'url': url}
                     for i, (region, interface, url)
                     in enumerate(self.catalog)]
        return {'token': {
            'methods': request['auth']['identity']['methods'],
            'expires_at': '2099-01-01T00:00:00.000000Z',
            'issued_at': '2020-01-01T00:00:00.000000Z',
            'user': {'id': 'nova-id', 'name': 'nova',
                     'domain': {'id': 'default', 'name': 'Default'}},
            'project': {'id': 'service-id', 'name': 'service',
                        'domain': {'id': 'default', 'name': 'Default'}},
            'roles': [{'id': 'admin-id', 'name': 'admin'}],
            'catalog': [{'type': 'placement', 'name': 'placement',
                         'id': 'placement-id', 'endpoints': endpoints}]}}

    def _setUp(self):
        server = simple_server.make_server(
            '127.0.0.1', 0, self._app, handler_class=_QuietHandler)
        scheme = 'http'
        if self.tls:
            cert, key = make_certificate(
                self.directory or self.useFixture(fixtures.TempDir()).path)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            server.socket = context.wrap_socket(server.socket,
                                                server_side=True)
            self.cert_path, scheme = cert, 'https'
        threading.Thread(target=server.serve_forever,
                         kwargs={'poll_interval': 0.05},
                         daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        self.url = '%s://127.0.0.1:%d/v3' % (scheme, server.server_port)
