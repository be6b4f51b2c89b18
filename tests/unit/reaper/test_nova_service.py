"""Tests of the nova-compute service check through openstacksdk (fakes)."""

from unittest import mock

from openstack import exceptions as sdk_exc

from nova_mig import exception
from nova_mig.workflows import compute_service as nova_service
from tests import base


class FakeService:

    def __init__(self, host, status='enabled', reason=None):
        self.host, self.binary, self.status = host, 'nova-compute', status
        self.disabled_reason, self.state = reason, 'up'


class FakeCompute:

    def __init__(self, *services, error=None):
        self.services_ = list(services)
        self.error = error
        self.calls = []

    def services(self, **query):
        self.calls.append(('services', query))
        if self.error:
            raise self.error
        return [s for s in self.services_ if s.host == query.get('host')]

    def disable_service(self, service, disabled_reason=None):
        self.calls.append(('disable', service.host, disabled_reason))
        service.status, service.disabled_reason = 'disabled', disabled_reason
        return service

    def enable_service(self, service):
        self.calls.append(('enable', service.host))
        service.status, service.disabled_reason = 'enabled', None
        return service


def conn(*services, error=None):
    return mock.Mock(compute=FakeCompute(*services, error=error))


class TestNovaService(base.TestCase):

    def test_enabled_service_refused(self):
        c = conn(FakeService('cmp1'))
        e = self.assertRaises(exception.ComputeServiceEnabled,
                              nova_service.guard_apply, self.conf, 'cmp1',
                              conn=c)
        self.assertIn('--force-with-enabled-service', str(e))
        self.assertEqual(('services', {'binary': 'nova-compute',
                                       'host': 'cmp1'}),
                         c.compute.calls[0])

    def test_disabled_service_passes(self):
        state = nova_service.guard_apply(
            self.conf, 'cmp1', conn=conn(FakeService('cmp1', 'disabled',
                                                     'maintenance')))
        self.assertFalse(state.enabled)
        self.assertEqual('maintenance', state.disabled_reason)

    def test_force_skips_the_api(self):
        c = conn(error=AssertionError('must not be called'))
        with self.assertLogs('nova_mig.workflows.compute_service',
                             'WARNING') as logs:
            self.assertIsNone(nova_service.guard_apply(
                self.conf, 'cmp1', force=True, conn=c))
        self.assertIn('--force-with-enabled-service', logs.output[0])

    def test_configured_service_host_wins(self):
        self.flags(compute_service_host='short', group='reaper')
        c = conn(FakeService('short', 'disabled'))
        nova_service.guard_apply(self.conf, 'short.example.org', conn=c)
        self.assertEqual('short', c.compute.calls[0][1]['host'])

    def test_unconfigured_compute_api_refused(self):
        e = self.assertRaises(exception.ComputeApiError,
                              nova_service.guard_apply, self.conf, 'cmp1')
        self.assertIn('[placement]auth_type is unset', str(e))

    def test_unknown_host(self):
        self.assertRaises(exception.ComputeServiceNotFound,
                          nova_service.get_state, conn(FakeService('x')),
                          'cmp1')

    def test_sdk_error_wrapped(self):
        c = conn(error=sdk_exc.HttpException('403 Forbidden'))
        e = self.assertRaises(exception.ComputeApiError,
                              nova_service.get_state, c, 'cmp1')
        self.assertIn('403 Forbidden', str(e))

    def test_disable_then_enable(self):
        service = FakeService('cmp1')
        c = conn(service)
        state = nova_service.disable(c, 'cmp1', 'retype')
        self.assertEqual(('disabled', 'retype'),
                         (state.status, state.disabled_reason))
        state = nova_service.enable(c, 'cmp1')
        self.assertTrue(state.enabled)

    def test_disable_keeps_someone_elses_reason(self):
        c = conn(FakeService('cmp1', 'disabled', 'hardware repair'))
        state = nova_service.disable(c, 'cmp1', 'retype')
        self.assertEqual('hardware repair', state.disabled_reason)
        self.assertNotIn('disable', [call[0] for call in c.compute.calls])
