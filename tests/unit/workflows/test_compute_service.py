"""Tests of the nova-compute service check through openstacksdk (fakes)."""

from openstack import exceptions as sdk_exc

from nova_mig import exception
from nova_mig.workflows import compute_service as nova_service
from tests import base
from tests.unit.workflows import fakes


class TestNovaService(base.TestCase):

    def test_enabled_service_refused(self):
        c = fakes.conn(fakes.FakeService('cmp1'))
        e = self.assertRaises(exception.ComputeServiceEnabled,
                              nova_service.guard_apply, self.conf, 'cmp1',
                              conn=c)
        self.assertIn('--force-with-enabled-service', str(e))
        self.assertEqual(('services', {'binary': 'nova-compute',
                                       'host': 'cmp1'}),
                         c.compute.calls[0])

    def test_disabled_service_passes(self):
        state = nova_service.guard_apply(
            self.conf, 'cmp1', conn=fakes.conn(
                fakes.FakeService('cmp1', 'disabled', 'maintenance')))
        self.assertFalse(state.enabled)
        self.assertEqual('maintenance', state.disabled_reason)

    def test_force_skips_the_api(self):
        c = fakes.conn(error=AssertionError('must not be called'))
        with self.assertLogs('nova_mig.workflows.compute_service',
                             'WARNING') as logs:
            self.assertIsNone(nova_service.guard_apply(
                self.conf, 'cmp1', force=True, conn=c))
        self.assertIn('--force-with-enabled-service', logs.output[0])

    def test_configured_service_host_wins(self):
        self.flags(compute_service_host='short', group='reaper')
        c = fakes.conn(fakes.FakeService('short', 'disabled'))
        nova_service.guard_apply(self.conf, 'short.example.org', conn=c)
        self.assertEqual('short', c.compute.calls[0][1]['host'])

    def test_unconfigured_compute_api_refused(self):
        e = self.assertRaises(exception.ComputeApiError,
                              nova_service.guard_apply, self.conf, 'cmp1')
        self.assertIn('[placement]auth_type is unset', str(e))

    def test_unknown_host(self):
        self.assertRaises(exception.ComputeServiceNotFound,
                          nova_service.get_state,
                          fakes.conn(fakes.FakeService('x')),
                          'cmp1')

    def test_sdk_error_wrapped(self):
        c = fakes.conn(error=sdk_exc.HttpException('403 Forbidden'))
        e = self.assertRaises(exception.ComputeApiError,
                              nova_service.get_state, c, 'cmp1')
        self.assertIn('403 Forbidden', str(e))

    def test_disable_then_enable(self):
        service = fakes.FakeService('cmp1')
        c = fakes.conn(service)
        state = nova_service.disable(c, 'cmp1', 'retype')
        self.assertEqual(('disabled', 'retype'),
                         (state.status, state.disabled_reason))
        state = nova_service.enable(c, 'cmp1')
        self.assertTrue(state.enabled)

    def test_disable_keeps_someone_elses_reason(self):
        c = fakes.conn(fakes.FakeService('cmp1', 'disabled',
                                         'hardware repair'))
        state = nova_service.disable(c, 'cmp1', 'retype')
        self.assertEqual('hardware repair', state.disabled_reason)
        self.assertNotIn('disable', [call[0] for call in c.compute.calls])
