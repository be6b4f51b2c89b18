# SPDX-License-Identifier: Apache-2.0

"""nova-mig's privsep context: its command and its start failures."""

import os

import fixtures
import testtools

from nova_mig import exception
from nova_mig.privsep import context
from nova_mig.privsep import helper
from tests import base


class ContextTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.helper._CONF', self.conf))
        self.ctx = context.build('files')

    def test_command_comes_from_nova_mig_conf(self):
        self.flags(helper_command='/opt/x/privsep-helper --config-file '
                   '/etc/nova-mig/nova-mig.conf', group='nova_mig_privsep')
        self.assertEqual(
            ['/opt/x/privsep-helper', '--config-file',
             '/etc/nova-mig/nova-mig.conf', '--privsep_context',
             'nova_mig.privsep.files_pctxt', '--privsep_sock_path',
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

    def test_each_package_attribute_is_one_lazy_context(self):
        from nova_mig import privsep  # noqa: H302,H306
        self.assertIs(privsep.sysfs_pctxt, privsep.sysfs_pctxt)
        self.assertIsInstance(privsep.nvml_pctxt, context.NovaMigPrivContext)
        self.assertEqual(['nova_mig.privsep.sysfs_pctxt',
                          'nova_mig.privsep.nvml_pctxt',
                          'nova_mig.privsep.files_pctxt',
                          'nova_mig.privsep.proc_pctxt'],
                         [getattr(privsep, '%s_pctxt' % n).pypath
                          for n in helper.CONTEXTS])
        self.assertRaises(AttributeError, getattr, privsep, 'sys_admin_pctxt')

    def test_fewest_capabilities_per_context(self):
        from oslo_privsep import capabilities as caps  # noqa: H302,H306
        self.assertEqual(
            {'sysfs': [], 'nvml': [caps.CAP_SYS_ADMIN],
             'files': [caps.CAP_DAC_OVERRIDE, caps.CAP_FOWNER],
             'proc': [caps.CAP_SYS_PTRACE, caps.CAP_DAC_READ_SEARCH]},
            context.CAPABILITIES)

    def test_helper_exiting_without_a_daemon_is_one_clear_error(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.channel.ACCEPT_TIMEOUT', 0.1))
        self.flags(helper_command='true', group='nova_mig_privsep')
        e = self.assertRaises(exception.PrivsepStartFailed, self.ctx.start)
        sock = os.path.join(self.tmpdir, 'privsep', 'files.sock')
        self.assertEqual(
            "Cannot start nova-mig's privileged helper (true): the helper "
            "command exited without a daemon connecting to %s. Check "
            "[nova_mig_privsep]helper_command." % sock, str(e))
        self.assertFalse(os.path.lexists(sock))
        self.assertIsNone(self.ctx.channel)

    def test_socket_folder_of_another_user_is_refused(self):
        self.flags(helper_command='true', group='nova_mig_privsep')
        folder = os.path.join(self.tmpdir, 'privsep')
        os.mkdir(folder, 0o755)
        e = self.assertRaises(exception.PrivsepStartFailed, self.ctx.start)
        self.assertEqual(
            "Cannot start nova-mig's privileged helper (true): its socket "
            "folder %s is not a folder of user %s alone (mode 0700). "
            "[host]state_dir must be the service user's; remove %s, "
            "nova-mig creates it again." % (folder, context._user(), folder),
            str(e))
        self.assertIsNone(self.ctx.channel)


@testtools.skipUnless(os.geteuid() == 0, 'the daemon drops privileges: root')
class FixedSocketTestCase(base.TestCase):
    """A real privsep-helper, started on the context's fixed socket."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.helper._CONF', self.conf))
        conf_path = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(conf_path, 'w'):
            pass
        self.record = os.path.join(self.tmpdir, 'argv')
        # helper_command set: the fixed socket path, even as root. The
        # wrapper records its argv, then runs the real privsep-helper.
        wrapper = os.path.join(self.tmpdir, 'helper')
        with open(wrapper, 'w') as f:
            f.write('#!/bin/sh\necho "$@" > %s\nexec %s "$@"\n' % (
                self.record, helper.find_helper()))
        os.chmod(wrapper, 0o755)
        self.flags(helper_command='%s --config-file %s' % (
            wrapper, conf_path), group='nova_mig_privsep')
        from nova_mig import privsep  # noqa: H302,H306
        self.ctx = privsep.sysfs_pctxt
        self.addCleanup(self.ctx.stop)

    def test_daemon_answers_through_the_fixed_socket(self):
        from nova_mig.privsep import sysfs_writes  # noqa: H302,H306
        sock = os.path.join(self.tmpdir, 'privsep', 'sysfs.sock')
        # The daemon validates: a refused argument comes back as EACCES.
        e = self.assertRaises(PermissionError, sysfs_writes.set_sriov_numvfs,
                              '../../etc', 1)
        self.assertIn("refused PCI address '../../etc'", str(e))
        with open(self.record) as f:
            argv = f.read().split()
        self.assertEqual(['--privsep_context', 'nova_mig.privsep.sysfs_pctxt',
                          '--privsep_sock_path', sock], argv[-4:])
        # The socket is gone once the daemon connected; its folder is 0700.
        self.assertFalse(os.path.lexists(sock))
        self.assertEqual(0o700, os.stat(os.path.dirname(sock)).st_mode
                         & 0o777)
