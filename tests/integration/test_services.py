# SPDX-License-Identifier: Apache-2.0

"""The service fixture itself: failures are reported, not hidden."""

import os
import signal
import time

import fixtures
import testtools

from tests import base
from tests.integration import services


class ServiceFixtureTestCase(base.TimedTestCase):

    def test_service_failing_to_start_reports_its_log_tail(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        service = services.Service('placement', os.path.join(tmp, 'p'), tmp)
        self.addCleanup(service.stop)
        service.write('placement.conf',
                      '[placement_database]\nconnection = sqlite:///%s\n'
                      'sync_on_startup = True\n[api]\nauth_strategy = '
                      'noauth2\n' % os.path.join(tmp, 'missing', 'p.db'))
        service.spawn({'OS_PLACEMENT_CONFIG_DIR': service.directory})

        e = self.assertRaises(services.ServiceError, service.wait,
                              time.monotonic() + services.start_timeout())

        message = str(e)
        self.assertTrue(message.startswith('placement exited (1) before '
                                           'answering; log %s:'
                                           % service.log_path), message)
        # The tail names what went wrong.
        self.assertIn('unable to open database file', message)

    def test_start_timeout_from_the_environment(self):
        env = services.START_TIMEOUT_ENV
        self.useFixture(fixtures.EnvironmentVariable(env))
        self.assertEqual(600.0, services.start_timeout())
        self.useFixture(fixtures.EnvironmentVariable(env, '1200'))
        self.assertEqual(1200.0, services.start_timeout())
        self.useFixture(fixtures.EnvironmentVariable(env, 'soon'))
        e = self.assertRaises(services.ServiceError, services.start_timeout)
        self.assertEqual('NOVA_MIG_SERVICE_START_TIMEOUT=soon is not a '
                         'positive number of seconds', str(e))

    def test_failed_start_shows_the_log_once(self):
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services._SHARED', None))
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services._SHARED_ERROR', None))
        calls = []

        def start():
            calls.append(1)
            raise services.ServiceError('keystone exited (1) before '
                                        'answering; log k.log:\n' +
                                        'a log line\n' * 500)
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services._start_untimed', start))

        first = self.assertRaises(services.ServiceError, services.shared)
        self.assertEqual(501, len(str(first).splitlines()))
        for _ in range(3):
            later = self.assertRaises(services.ServicesUnavailable,
                                      services.shared)
            self.assertEqual(
                'the services failed to start earlier in this run (the '
                'first failing test shows the log): keystone exited (1) '
                'before answering; log k.log:', str(later))
        # Not started again for every test.
        self.assertEqual([1], calls)

    def test_start_pauses_the_test_time_limit(self):
        fired = []
        old = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
        self.addCleanup(signal.signal, signal.SIGALRM, old)
        self.addCleanup(signal.alarm, 0)

        def start(stack):
            time.sleep(1.5)
            return stack
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services.OpenStackServices.start', start))
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services.OpenStackServices.__init__',
            lambda stack: None))
        signal.alarm(1)

        services._start_untimed()

        self.assertEqual([], fired)
        # Re-armed with what the test had left.
        self.assertEqual(1, signal.alarm(0))

    def test_missing_package_skips_naming_it(self):
        self.useFixture(fixtures.MonkeyPatch(
            'tests.integration.services.REQUIRED',
            dict(services.REQUIRED, no_such_module_xyz='no-such-dist')))

        class Inner(testtools.TestCase):
            def test(self):
                self.useFixture(services.ServicesFixture())

        result = testtools.TestResult()
        Inner('test').run(result)
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(['integration tier needs no-such-dist: pip install '
                          '-r test-requirements.txt'],
                         list(result.skip_reasons))

    def test_shared_services_answer_with_their_catalog(self):
        stack = self.useFixture(services.ServicesFixture()).services
        self.assertIs(stack, services.shared())
        catalog = stack.session().get(
            stack.keystone.url + '/auth/catalog').json()['catalog']
        urls = {c['type']: [e['url'] for e in c['endpoints']
                            if e['interface'] == 'public']
                for c in catalog}
        self.assertEqual([stack.placement.url], urls['placement'])
        self.assertEqual([stack.nova.url], urls['compute'])
        self.assertEqual([stack.keystone.url], urls['identity'])
        for service in stack.services:
            self.assertIsNone(service.process.poll(), service.name)
