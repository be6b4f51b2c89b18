# SPDX-License-Identifier: Apache-2.0

"""nova.conf's [placement] as pasted, in every keystoneauth shape.

Each test writes nova-mig.conf and the nova.conf an operator has, reads
both back before use, and runs the command line (``NovaMigApp().run``,
the console script's own order of registering, parsing and resolving
``auth_section``) against a loopback Keystone and an embedded Placement
that nova-compute would have filled.
"""

import json
import os
import subprocess
import sys

from nova_mig.simulator import nova_compute
from tests import base as test_base
from tests import fake_keystone
from tests.functional import base

HOSTNAME = 'compute-a100-1'
SECRET = 's3cr3t-pw'

#: nova.conf of a compute host as an installer writes it: the service
#: user's credentials in [keystone_authtoken], [placement] pointing there.
NOVA_CONF = """[DEFAULT]
compute_driver = libvirt.LibvirtDriver
transport_url = rabbit://nova:pw@controller:5672/
my_ip = 192.0.2.10

[keystone_authtoken]
www_authenticate_uri = {auth_url}
auth_url = {auth_url}
memcached_servers = controller:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova
password = {secret}

[placement]
region_name = RegionTwo
valid_interfaces = public
auth_section = keystone_authtoken
{placement_extra}
[libvirt]
virt_type = kvm
"""


class NovaConfTestCase(base.CliTestCase):
    """``--config-file nova-mig.conf --config-file nova.conf``."""

    def setUp(self):
        super().setUp()
        # In a process of its own, as a cloud's Placement is: nothing the
        # commands run in this process do (logging, configuration, the
        # simulated nova-compute) reaches its serving thread.
        self.placement = self.useFixture(test_base.PlacementProcess(
            os.path.join(self.tmpdir, 'cloud')))
        self.placement_url = self.placement.url
        self.closed = test_base.closed_port_url()
        self.snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')

    def keystone(self, tls: bool = False) -> fake_keystone.FakeKeystone:
        """Keystone whose catalog has Placement in RegionTwo, public only.

        The other endpoints are closed ports: a command that ignored
        ``region_name`` or ``valid_interfaces`` would not reach Placement.
        """
        return self.useFixture(fake_keystone.FakeKeystone([
            ('RegionOne', 'public', self.closed),
            ('RegionTwo', 'internal', self.closed),
            ('RegionTwo', 'public', self.placement_url)],
            tls=tls, directory=self.tmpdir))

    def write(self, name: str, text: str) -> str:
        """Write ``text`` to ``name``; read it back before it is used."""
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            f.write(text)
        with open(path) as f:
            self.assertEqual(text, f.read())
        return path

    def mig_conf(self) -> str:
        """nova-mig.conf of the host: no [placement], no embedded one."""
        text = ('[gpu]\nbackend = simulated\n'
                '[simulator]\nhost_file = %s\n'
                '[host]\nstate_dir = %s\n'
                '[nova]\nhypervisor_hostname = %s\nconfig_snippet = %s\n'
                'provider_config_file = %s\n'
                # No mdevctl on a test machine: "true" stands in for it
                # (the mdevctl check is tested in test_hook).
                '[hook]\nplacement_timeout = 5\nmdevctl_command = true\n' % (
                    base.host_file('a100-mixed.yaml'),
                    os.path.join(self.tmpdir, 'state'), HOSTNAME,
                    self.snippet,
                    os.path.join(self.tmpdir, 'provider', 'mig.yaml')))
        self.assertNotIn('[placement', text)
        return self.write('nova-mig.conf', text)

    def nova_compute_starts(self, mig_conf: str) -> None:
        """nova-compute's start: its providers, from the snippet written.

        The simulated nova-compute talks to the Placement directly (as
        the cloud's nova-compute would, with its own credentials).
        """
        direct = self.write('nova-compute.conf', (
            '[placement]\nauth_type = admin_token\ntoken = admin\n'
            'endpoint = %s\nendpoint_override = %s\n'
            % (self.placement_url, self.placement_url)))
        self.assertEqual(0, nova_compute.main(
            ['--config-file', mig_conf, '--config-file', direct]))

    def run_flow(self, *confs: str) -> None:
        """hook pre-start, nova-compute, sync, verify, hook post-start."""
        files = [a for c in confs for a in ('--config-file', c)]
        rc, out, err = self.nova_mig(*files, 'hook', 'pre-start', '-f',
                                     'json')
        self.assertEqual(0, rc, out + err)
        self.assertEqual('', err)
        steps = {s['Step']: s for s in json.loads(out)}
        self.assertEqual('ok', steps['placement']['Status'], out)
        self.assertIn('Placement %s' % self.placement_url,
                      steps['placement']['Detail'])
        self.nova_compute_starts(confs[0])
        rc, out, err = self.nova_mig(*files, 'sync', '-f', 'json')
        self.assertEqual(0, rc, out + err)
        self.assertEqual('', err)
        result = json.loads(out)
        self.assertEqual(self.placement_url, result['placement'])
        self.assertEqual([], result['missing'])
        rc, out, err = self.nova_mig(*files, 'verify')
        self.assertEqual(0, rc, out + err)
        self.assertIn('Placement matches the host', out)
        # What the commands wrote is in the Placement the catalog named.
        client = self.placement.client()
        self.assertIn('CUSTOM_MIG_1G_10GB', client.resource_classes())
        self.assertEqual({'CUSTOM_VGPU_MODE_MDEV'}, client.existing_traits(
            {'CUSTOM_VGPU_MODE_MDEV'}))

    def assert_password_of_keystone_authtoken(self, keystone) -> None:
        """Every token request carried [keystone_authtoken]'s user."""
        self.assertNotEqual([], keystone.token_requests)
        for request in keystone.token_requests:
            identity = request['auth']['identity']
            self.assertEqual(['password'], identity['methods'])
            user = identity['password']['user']
            self.assertEqual(('nova', SECRET, {'name': 'Default'}),
                             (user['name'], user['password'],
                              user['domain']))
            self.assertEqual({'name': 'service',
                              'domain': {'name': 'Default'}},
                             request['auth']['scope']['project'])

    def test_nova_conf_with_auth_section(self):
        keystone = self.keystone()
        nova_conf = self.write('nova.conf', NOVA_CONF.format(
            auth_url=keystone.url, secret=SECRET, placement_extra=''))
        self.run_flow(self.mig_conf(), nova_conf)
        self.assert_password_of_keystone_authtoken(keystone)

    def test_application_credential_in_placement(self):
        keystone = self.keystone()
        nova_conf = self.write('nova.conf', (
            '[placement]\nauth_type = v3applicationcredential\n'
            'auth_url = %s\napplication_credential_id = appcred-id\n'
            'application_credential_secret = %s\n'
            'region_name = RegionTwo\nvalid_interfaces = public\n'
            % (keystone.url, SECRET)))
        self.run_flow(self.mig_conf(), nova_conf)
        self.assertNotEqual([], keystone.token_requests)
        for request in keystone.token_requests:
            identity = request['auth']['identity']
            self.assertEqual(['application_credential'],
                             identity['methods'])
            self.assertEqual({'id': 'appcred-id', 'secret': SECRET},
                             identity['application_credential'])

    def test_admin_token_with_endpoint_override(self):
        keystone = self.keystone()
        nova_conf = self.write('nova.conf', (
            '[placement]\nauth_type = admin_token\ntoken = admin\n'
            'endpoint = %s\nendpoint_override = %s\n'
            % (self.closed, self.placement_url)))
        self.run_flow(self.mig_conf(), nova_conf)
        self.assertEqual([], keystone.token_requests)

    def test_keystone_over_tls_with_cafile_or_insecure(self):
        keystone = self.keystone(tls=True)
        mig_conf = self.mig_conf()
        for extra in ('cafile = %s\n' % keystone.cert_path,
                      'insecure = true\n'):
            nova_conf = self.write('nova.conf', NOVA_CONF.format(
                auth_url=keystone.url, secret=SECRET,
                placement_extra=extra))
            rc, out, err = self.nova_mig('--config-file', mig_conf,
                                         '--config-file', nova_conf,
                                         'hook', 'pre-start')
            self.assertEqual(0, rc, out + err)
            self.assertEqual('', err)
        self.assert_password_of_keystone_authtoken(keystone)
        seen = len(keystone.token_requests)
        # Without either, the self-signed certificate is refused: one
        # line naming Keystone and the option to set.
        nova_conf = self.write('nova.conf', NOVA_CONF.format(
            auth_url=keystone.url, secret=SECRET, placement_extra=''))
        rc, out, err = self.nova_mig('--config-file', mig_conf,
                                     '--config-file', nova_conf, 'sync')
        self.assertEqual(1, rc, out + err)
        self.assertEqual(
            'nova-mig: error: Keystone at %s is unreachable: its TLS '
            'certificate is not trusted. Check [keystone_authtoken]auth_url '
            'and that the identity service runs; for a private CA set '
            '[placement]cafile.\n' % keystone.url, err)
        self.assertEqual(seen, len(keystone.token_requests))

    def test_console_script_with_nova_conf(self):
        # The installed console script, in its own process.
        keystone = self.keystone()
        nova_conf = self.write('nova.conf', NOVA_CONF.format(
            auth_url=keystone.url, secret=SECRET, placement_extra=''))
        mig_conf = self.mig_conf()
        script = os.path.join(os.path.dirname(sys.executable), 'nova-mig')
        result = subprocess.run(
            [script, '--config-file', mig_conf, '--config-file', nova_conf,
             'hook', 'pre-start', '-f', 'json'],
            capture_output=True, text=True, check=False)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        self.assertEqual('', result.stderr)
        steps = {s['Step']: s['Status'] for s in json.loads(result.stdout)}
        self.assertEqual('ok', steps['placement'])
        self.assert_password_of_keystone_authtoken(keystone)

    def test_keystone_down(self):
        # nova.conf as pasted, Keystone not answering: the hook warns in
        # one line and exits 0, so nova-compute starts; sync fails in one
        # line; --strict keeps nova-compute from starting.
        keystone = test_base.closed_port_url() + '/identity/v3'
        nova_conf = self.write('nova.conf', NOVA_CONF.format(
            auth_url=keystone, secret=SECRET, placement_extra=''))
        files = ('--config-file', self.mig_conf(), '--config-file',
                 nova_conf)
        finding = ('Keystone at %s is unreachable: Connection refused. '
                   'Check [keystone_authtoken]auth_url and that the '
                   'identity service runs' % keystone)
        rc, out, err = self.nova_mig(*files, 'hook', 'pre-start')
        self.assertEqual(0, rc, out + err)
        self.assertEqual(
            'nova-mig hook pre-start: placement: warning: %s; nova-compute '
            'starts anyway, run "nova-mig sync" once Placement is back\n'
            % finding, err)
        # The table points at the warning instead of repeating it.
        self.assertNotIn('Keystone', out)
        self.assertIn('| placement      | warning | see the warning on '
                      'stderr', out)
        self.assertTrue(os.path.exists(self.snippet))

        rc, out, err = self.nova_mig(*files, 'hook', 'pre-start', '-f',
                                     'json')
        self.assertEqual(0, rc, out + err)
        steps = {s['Step']: s for s in json.loads(out)}
        self.assertTrue(steps['placement']['Detail'].startswith(finding))

        rc, out, err = self.nova_mig(*files, 'sync')
        self.assertEqual(1, rc, out + err)
        self.assertEqual('nova-mig: error: %s.\n' % finding, err)

        rc, out, err = self.nova_mig(*files, 'hook', 'pre-start', '--strict')
        self.assertEqual(1, rc, out + err)
        self.assertEqual('nova-mig hook pre-start: placement: failed: %s '
                         '(strict mode)\n' % finding, err)
