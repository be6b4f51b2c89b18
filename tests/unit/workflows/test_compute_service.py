# SPDX-License-Identifier: Apache-2.0

"""Tests of the nova-compute service check through openstacksdk (fakes)."""

import os

from openstack import exceptions as sdk_exc

from nova_mig import exception
from nova_mig.workflows import compute_service
from tests import base
from tests.unit.workflows import fakes


class TestNovaService(base.TestCase):

    def test_enabled_service_refused(self):
        c = fakes.conn(fakes.FakeService('cmp1'))
        e = self.assertRaises(exception.ComputeServiceEnabled,
                              compute_service.guard_apply, self.conf, 'cmp1',
                              conn=c)
        self.assertIn('--force-with-enabled-service', str(e))
        self.assertEqual(('services', {'binary': 'nova-compute',
                                       'host': 'cmp1'}),
                         c.compute.calls[0])

    def test_disabled_service_passes(self):
        state = compute_service.guard_apply(
            self.conf, 'cmp1', conn=fakes.conn(
                fakes.FakeService('cmp1', 'disabled', 'maintenance')))
        self.assertFalse(state.enabled)
        self.assertEqual('maintenance', state.disabled_reason)

    def test_force_skips_the_api(self):
        c = fakes.conn(error=AssertionError('must not be called'))
        with self.assertLogs('nova_mig.workflows.compute_service',
                             'WARNING') as logs:
            self.assertIsNone(compute_service.guard_apply(
                self.conf, 'cmp1', force=True, conn=c))
        self.assertIn('--force-with-enabled-service', logs.output[0])

    def test_configured_service_host_wins(self):
        self.flags(compute_service_host='short', group='reaper')
        c = fakes.conn(fakes.FakeService('short', 'disabled'))
        compute_service.guard_apply(self.conf, 'short.example.org', conn=c)
        self.assertEqual('short', c.compute.calls[0][1]['host'])

    def test_unconfigured_compute_api_refused(self):
        e = self.assertRaises(exception.ComputeApiError,
                              compute_service.guard_apply, self.conf, 'cmp1')
        self.assertIn('[placement]auth_type is unset', str(e))

    def nova_conf(self, keystone_authtoken: str) -> str:
        """nova.conf's [placement] and [keystone_authtoken], read back."""
        text = ('[placement]\nauth_section = keystone_authtoken\n'
                '[keystone_authtoken]\n' + keystone_authtoken)
        path = os.path.join(self.tmpdir, 'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        with open(path) as f:
            self.assertEqual(text, f.read())
        return path

    def test_credentials_of_the_auth_section(self):
        # nova.conf's shape, read as the command line reads it: the
        # Compute API is asked with [keystone_authtoken]'s credentials
        # (Keystone here is a closed port), in one line.
        keystone = base.closed_port_url() + '/identity/v3'
        conf = self.read_conf(self.nova_conf(
            'auth_type = password\nauth_url = %s\nusername = nova\n'
            'password = pw\nproject_name = service\n'
            'user_domain_name = Default\nproject_domain_name = Default\n'
            % keystone))
        self.assertTrue(compute_service.configured(conf))
        e = self.assertRaises(exception.ComputeApiError,
                              compute_service.guard_apply, conf, 'cmp1')
        self.assertEqual(
            'Compute API call GET /os-services for host cmp1 failed: %s: '
            'Connection refused. Check the [placement] credentials (the '
            'user needs the admin role) and '
            '[reaper]compute_endpoint_override.' % keystone, str(e))

    def test_auth_section_without_auth_type(self):
        conf = self.read_conf(self.nova_conf(
            'www_authenticate_uri = http://controller:5000\n'))
        self.assertFalse(compute_service.configured(conf))
        e = self.assertRaises(exception.ComputeApiError,
                              compute_service.guard_apply, conf, 'cmp1')
        self.assertIn('no credentials: [keystone_authtoken]auth_type is '
                      'unset; disable the service', str(e))

    def test_unknown_host(self):
        self.assertRaises(exception.ComputeServiceNotFound,
                          compute_service.get_state,
                          fakes.conn(fakes.FakeService('x')),
                          'cmp1')

    def test_sdk_error_wrapped(self):
        c = fakes.conn(error=sdk_exc.HttpException('403 Forbidden'))
        e = self.assertRaises(exception.ComputeApiError,
                              compute_service.get_state, c, 'cmp1')
        self.assertIn('403 Forbidden', str(e))

    def test_disable_then_enable(self):
        service = fakes.FakeService('cmp1')
        c = fakes.conn(service)
        state = compute_service.disable(c, 'cmp1', 'retype')
        self.assertEqual(('disabled', 'retype'),
                         (state.status, state.disabled_reason))
        state = compute_service.enable(c, 'cmp1')
        self.assertTrue(state.enabled)

    def test_change_answering_no_record_reads_it_again(self):
        # openstacksdk declares that a change may answer None.
        c = fakes.conn(fakes.FakeService('cmp1'))
        for call in ('disable_service', 'enable_service'):
            real = getattr(c.compute, call)
            setattr(c.compute, call,
                    lambda *a, real=real, **kw: real(*a, **kw) and None)
        state = compute_service.disable(c, 'cmp1', 'retype')
        self.assertEqual(('disabled', 'retype'),
                         (state.status, state.disabled_reason))
        self.assertTrue(compute_service.enable(c, 'cmp1').enabled)
        self.assertEqual(['services', 'disable', 'services', 'services',
                          'enable', 'services'],
                         [call[0] for call in c.compute.calls])

    def test_disable_keeps_someone_elses_reason(self):
        c = fakes.conn(fakes.FakeService('cmp1', 'disabled',
                                         'hardware repair'))
        state = compute_service.disable(c, 'cmp1', 'retype')
        self.assertEqual('hardware repair', state.disabled_reason)
        self.assertNotIn('disable', [call[0] for call in c.compute.calls])
