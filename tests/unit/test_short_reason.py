# SPDX-License-Identifier: Apache-2.0

"""Connection failures in a few words: no urllib3 repr in a message."""

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc

from nova_mig import exception
from tests import base

#: keystoneauth's text for a Keystone that refuses connections (449
#: characters of urllib3's description, as an operator saw it).
REFUSED = (
    'Could not find versioned identity endpoints when attempting to '
    'authenticate. Please check that your auth_url is correct. Unable to '
    'establish connection to http://ks:5000/v3: HTTPConnectionPool('
    "host='ks', port=5000): Max retries exceeded with url: /v3 (Caused by "
    'NewConnectionError("HTTPConnection(host=\'ks\', port=5000): Failed to '
    'establish a new connection: [Errno 111] Connection refused"))')
UNKNOWN_HOST = (
    'Unable to establish connection to http://nova.example:8774/v2.1/'
    "os-services: HTTPConnectionPool(host='nova.example', port=8774): Max "
    'retries exceeded with url: /v2.1/os-services (Caused by '
    "NameResolutionError(\"<urllib3.connection.HTTPConnection object at "
    "0x7f>: Failed to resolve 'nova.example' ([Errno -2] Name or service "
    'not known)"))')
UNTRUSTED = (
    'SSL exception connecting to https://ks:5000/v3/auth/tokens: '
    "HTTPSConnectionPool(host='ks', port=5000): Max retries exceeded with "
    "url: /v3/auth/tokens (Caused by SSLError(SSLCertVerificationError(1, "
    "'[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
    "self-signed certificate (_ssl.c:1006)')))")

#: A connection the peer reset (seen against a loaded Placement).
RESET = (
    'Unable to establish connection to http://127.0.0.1:40357/'
    "resource_classes/CUSTOM_MIG_2G_20GB: ('Connection aborted.', "
    "ConnectionResetError(104, 'Connection reset by peer'))")


class ShortReasonTestCase(base.TestCase):

    def test_the_operating_systems_words_and_the_url(self):
        for error, expected in (
                (ks_exc.DiscoveryFailure(REFUSED),
                 'http://ks:5000/v3: Connection refused'),
                (ks_exc.ConnectFailure(UNKNOWN_HOST),
                 'http://nova.example:8774/v2.1/os-services: Name or '
                 'service not known'),
                (ks_exc.SSLError(UNTRUSTED),
                 'https://ks:5000/v3/auth/tokens: its TLS certificate is '
                 'not trusted'),
                (ks_exc.ConnectTimeout('Request to http://p:8778/ timed '
                                       'out'),
                 'http://p:8778/: timed out'),
                (ks_exc.ConnectFailure(RESET),
                 'http://127.0.0.1:40357/resource_classes/CUSTOM_MIG_2G_20GB'
                 ': Connection reset by peer'),
                (sdk_exc.SDKException('No service in the catalog'),
                 'No service in the catalog')):
            self.assertEqual(expected, exception.url_reason(error))
            self.assertNotIn('Pool', exception.short_reason(error))

    def test_messages_with_the_tls_hint(self):
        e = exception.IdentityUnreachable(
            url='https://ks:5000/v3',
            reason=exception.short_reason(ks_exc.SSLError(UNTRUSTED)),
            option='[keystone_authtoken]auth_url')
        self.assertEqual(
            'Keystone at https://ks:5000/v3 is unreachable: its TLS '
            'certificate is not trusted. Check [keystone_authtoken]auth_url '
            'and that the identity service runs; for a private CA set '
            '[placement]cafile.', str(e))
        e = exception.PlacementUnreachable(
            url='http://p:8778', reason=exception.short_reason(
                ks_exc.ConnectFailure(UNKNOWN_HOST)))
        self.assertEqual(
            'Placement at http://p:8778 is unreachable: Name or service not '
            'known. Check [placement]endpoint_override, valid_interfaces and '
            'region_name, and that the placement service runs.', str(e))
