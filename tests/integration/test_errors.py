# SPDX-License-Identifier: Apache-2.0

"""Failures of a sync against real services: one clear line, exit 1."""

import os

from tests import base as test_base
from tests.integration import base
from tests.integration import services

WRONG_PASSWORD = 'wr0ng-Pa55word-%s' % os.getpid()


class ErrorTestCase(base.IntegrationTestCase):

    def assert_one_line_error(self, rc: int, out: str, err: str,
                              *fragments: str, warnings: bool = False
                              ) -> str:
        self.assertEqual(1, rc, out + err)
        self.assertNotIn('Traceback', out + err)
        lines = err.splitlines()
        if warnings:
            lines = [ln for ln in lines if not ln.startswith('WARNING: ')]
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith('nova-mig: error: '), err)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])
        return lines[0]

    def files_under(self, *dirs: str) -> dict[str, bytes]:
        result = {}
        for top in dirs:
            for d, _, names in os.walk(top):
                for name in names:
                    with open(os.path.join(d, name), 'rb') as f:
                        result[os.path.join(d, name)] = f.read()
        return result

    def test_placement_unreachable_writes_nothing(self):
        url = test_base.closed_port_url()
        conf = self.conf_file(self.services.placement_section(
            endpoint_override=url))
        state = os.path.join(self.tmpdir, 'state', 'placement-sync.json')

        rc, out, err = self.nova_mig('sync', conf_file=conf)
        self.assert_one_line_error(
            rc, out, err, 'Placement at %s is unreachable' % url,
            '[placement]endpoint_override')
        self.assertFalse(os.path.exists(self.snippet))
        self.assertFalse(os.path.exists(self.provider_config))
        self.assertFalse(os.path.exists(state))

        # Once nova-config wrote nova-compute's files, a failing sync
        # leaves them (and their directories) exactly as they were.
        rc, out, err = self.nova_mig('nova-config', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        dirs = (os.path.dirname(self.snippet),
                os.path.dirname(self.provider_config))
        before = self.files_under(*dirs)
        self.assertIn(self.snippet, before)
        self.assertIn(self.provider_config, before)
        for command in ('sync', 'verify'):
            rc, out, err = self.nova_mig(command, conf_file=conf)
            self.assert_one_line_error(rc, out, err, 'unreachable')
        self.assertEqual(before, self.files_under(*dirs))
        self.assertFalse(os.path.exists(state))

    def test_keystone_unreachable(self):
        url = test_base.closed_port_url()
        conf = self.conf_file(self.services.placement_section(
            auth_url=url + '/v3'))
        rc, out, err = self.nova_mig('sync', conf_file=conf)
        # keystoneauth adds a WARNING line about version discovery.
        self.assert_one_line_error(rc, out, err, 'unreachable', url,
                                   warnings=True)
        self.assertFalse(os.path.exists(self.snippet))

    def test_placement_returning_500(self):
        url = self.useFixture(test_base.FailingPlacement()).url
        conf = self.conf_file(self.services.placement_section(
            endpoint_override=url))
        for command in ('sync', 'verify'):
            rc, out, err = self.nova_mig(command, conf_file=conf)
            self.assert_one_line_error(
                rc, out, err, 'failed with HTTP 500: Internal Server Error: '
                'The database is on fire.')
        self.assertFalse(os.path.exists(self.snippet))

    def test_wrong_password_named_and_never_printed(self):
        log_file = os.path.join(self.tmpdir, 'nova-mig.log')
        conf = self.conf_file(
            self.services.placement_section(password=WRONG_PASSWORD),
            extra='[DEFAULT]\ndebug = True\nlog_file = %s\n' % log_file)
        rc, out, err = self.nova_mig('sync', conf_file=conf)
        line = self.assert_one_line_error(
            rc, out, err, 'refused the credentials', 'HTTP 401',
            '[placement]auth_type')
        self.assertIn(self.services.keystone.root, line)
        # --debug logs the traceback of the failed token request too.
        rc, dout, derr = self.nova_mig('--debug', 'sync', conf_file=conf)
        self.assertNotEqual(0, rc)
        with open(log_file) as f:
            logged = f.read()
        self.assertIn('DEBUG nova_mig.', logged)
        self.assertIn('Traceback', logged)
        self.assertIn('(HTTP 401)', logged)
        for text in (out, err, logged, dout, derr):
            self.assertNotIn(WRONG_PASSWORD, text)
            self.assertNotIn(services.SERVICE_PASSWORD, text)

    def test_user_without_admin_role_refused(self):
        conf = self.conf_file(self.services.placement_section(
            username='demo', password=services.DEMO_PASSWORD,
            project_name='demo'))
        rc, out, err = self.nova_mig('sync', conf_file=conf)
        self.assert_one_line_error(rc, out, err, 'refused the credentials',
                                   'HTTP 403', 'admin role')
        self.assertNotIn(services.DEMO_PASSWORD, out + err)

    def test_compute_node_not_in_placement(self):
        # Valid credentials, but nova-compute never registered this host.
        rc, out, err = self.nova_mig('sync', conf_file=self.conf_file())
        self.assert_one_line_error(
            rc, out, err, "no compute node resource provider named '%s'"
            % self.hostname)
