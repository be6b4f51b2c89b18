"""nova-mig's privsep context: its command and its start failures."""

import os

import fixtures

from nova_mig import exception
from nova_mig.privsep import context
from nova_mig.privsep import helper
from tests import base


class ContextTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.helper._CONF', self.conf))
        self.ctx = context.build()

    def test_command_comes_from_nova_mig_conf(self):
        self.flags(helper_command='/opt/x/privsep-helper --config-file '
                   '/etc/nova-mig/nova-mig.conf', group='nova_mig_privsep')
        self.assertEqual(
            ['/opt/x/privsep-helper', '--config-file',
             '/etc/nova-mig/nova-mig.conf', '--privsep_context',
             'nova_mig.privsep.sys_admin_pctxt', '--privsep_sock_path',
             '/tmp/s/privsep.sock'],
            self.ctx.helper_command('/tmp/s/privsep.sock'))

    def test_helper_exiting_non_zero_is_one_clear_error(self):
        self.flags(helper_command='false', group='nova_mig_privsep')
        e = self.assertRaises(exception.PrivsepStartFailed, self.ctx.start)
        self.assertEqual(
            "Cannot start nova-mig's privileged helper (false): privsep "
            "helper command exited non-zero (1). Check "
            "[nova_mig_privsep]helper_command.", str(e))
        self.assertIsNone(self.ctx.channel)

    def test_missing_command_is_one_clear_error(self):
        missing = os.path.join(self.tmpdir, 'no-sudo-here')
        self.flags(helper_command=missing, group='nova_mig_privsep')
        e = self.assertRaises(exception.PrivsepStartFailed, self.ctx.start)
        self.assertIn('(%s): %s: No such file or directory'
                      % (missing, missing), str(e))

    def test_through_sudo_the_fix_names_install_sudoers(self):
        self.useFixture(fixtures.MockPatch(
            'nova_mig.privsep.context._user', return_value='nova'))
        fix = context._fix(list(helper.SUDO) + ['/usr/bin/privsep-helper'])
        self.assertIn('"nova-mig install-sudoers --user nova"', fix)
        self.assertIn('or run nova-mig as root', fix)

    def test_the_package_attribute_is_one_lazy_context(self):
        from nova_mig import privsep  # noqa: H302,H306
        self.assertIs(privsep.sys_admin_pctxt, privsep.sys_admin_pctxt)
        self.assertIsInstance(privsep.sys_admin_pctxt,
                              context.NovaMigPrivContext)
