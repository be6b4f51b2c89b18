"""The service fixture itself: failures are reported, not hidden."""

import os
import time

import fixtures
import testtools

from tests.integration import services


class ServiceFixtureTestCase(testtools.TestCase):

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
                              time.monotonic() + services.START_TIMEOUT)

        message = str(e)
        self.assertTrue(message.startswith('placement exited (1) before '
                                           'answering; log %s:'
                                           % service.log_path), message)
        # The tail names what went wrong.
        self.assertIn('unable to open database file', message)

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
