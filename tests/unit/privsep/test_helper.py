"""The command starting nova-mig's privsep daemon, and the rules for it."""

import importlib.util
import os
import shlex

import fixtures
import testtools

from nova_mig import exception
from nova_mig.privsep import helper
from tests import base

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..',
                                    '..'))
FILTERS = os.path.join(REPO, 'etc', 'nova-mig', 'rootwrap.d',
                       'nova-mig.filters')


class HelperCommandTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        # A virtual environment elsewhere, with its own privsep-helper.
        self.bin = os.path.join(self.tmpdir, 'venv', 'bin')
        os.makedirs(self.bin)
        self.helper = os.path.join(self.bin, 'privsep-helper')
        with open(self.helper, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(self.helper, 0o755)
        self.useFixture(fixtures.MonkeyPatch(
            'sys.executable', os.path.join(self.bin, 'python3')))
        self.conf_path = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(self.conf_path, 'w'):
            pass
        self.conf(['--config-file', self.conf_path], project='nova-mig')

    def test_root_starts_the_venv_helper_without_sudo(self):
        self.assertEqual([self.helper, '--config-file', self.conf_path],
                         helper.command(self.conf, euid=0))

    def test_unprivileged_goes_through_sudo_never_prompting(self):
        self.assertEqual(['sudo', '-n', self.helper, '--config-file',
                          self.conf_path],
                         helper.command(self.conf, euid=1000))

    def test_config_dir_passed_on(self):
        conf_dir = os.path.join(self.tmpdir, 'conf.d')
        os.mkdir(conf_dir)
        self.conf(['--config-file', self.conf_path, '--config-dir',
                   conf_dir], project='nova-mig')
        self.assertEqual([self.helper, '--config-file', self.conf_path,
                          '--config-dir', conf_dir],
                         helper.command(self.conf, euid=0))

    def test_configured_helper_command_wins(self):
        self.flags(helper_command='sudo nova-rootwrap /etc/nova/rootwrap.conf'
                   ' privsep-helper --config-file /etc/nova-mig/x.conf',
                   group='nova_mig_privsep')
        self.assertEqual(['sudo', 'nova-rootwrap', '/etc/nova/rootwrap.conf',
                          'privsep-helper', '--config-file',
                          '/etc/nova-mig/x.conf'],
                         helper.command(self.conf, euid=0))

    def test_helper_on_path_when_not_next_to_python(self):
        os.unlink(self.helper)
        other = os.path.join(self.tmpdir, 'usr-local-bin')
        os.mkdir(other)
        on_path = os.path.join(other, 'privsep-helper')
        with open(on_path, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(on_path, 0o755)
        self.useFixture(fixtures.EnvironmentVariable('PATH', other))
        self.assertEqual(on_path, helper.find_helper())

    def test_no_helper_is_one_clear_error(self):
        os.unlink(self.helper)
        self.useFixture(fixtures.EnvironmentVariable('PATH', self.tmpdir))
        e = self.assertRaises(exception.PrivsepStartFailed,
                              helper.find_helper)
        self.assertIn('privsep-helper is neither next to %s'
                      % os.path.join(self.bin, 'python3'), str(e))
        self.assertIn('Install oslo.privsep', str(e))


@testtools.skipIf(importlib.util.find_spec('oslo_rootwrap') is None,
                  'oslo.rootwrap is not installed')
class RootwrapFilterTestCase(testtools.TestCase):
    """The shipped filter allows the kolla-style command, and no other.

    (oslo.rootwrap 6 and later also add a catch-all privsep-helper filter
    of their own; the shipped one is what older releases need, and states
    the command exactly.)
    """

    def setUp(self):
        super().setUp()
        from oslo_rootwrap import wrapper  # noqa: H302,H306
        (self.filter,) = [f for f in wrapper.load_filters(
            [os.path.dirname(FILTERS)]) if f.name ==
            'privsep-rootwrap-nova-mig']

    def allowed(self, base_command: str, context: str = helper.CONTEXT,
                sock: str = '/tmp/tmpab12cd/privsep.sock') -> bool:
        argv = shlex.split(base_command) + [
            '--privsep_context', context, '--privsep_sock_path', sock]
        return bool(self.filter.match(argv))

    def test_the_documented_helper_command_is_allowed(self):
        # What [nova_mig_privsep]helper_command runs after
        # "sudo nova-rootwrap /etc/nova/rootwrap.conf", with the arguments
        # nova-mig appends.
        self.assertTrue(self.allowed(
            'privsep-helper --config-file /etc/nova-mig/nova-mig.conf'))
        self.assertEqual(
            ['--privsep_context', helper.CONTEXT, '--privsep_sock_path',
             '/tmp/x'], helper.full_command([], '/tmp/x'))

    def test_other_contexts_files_and_sockets_are_refused(self):
        self.assertFalse(self.allowed(
            'privsep-helper --config-file /etc/nova-mig/nova-mig.conf',
            context='nova.privsep.sys_admin_pctxt'))
        self.assertFalse(self.allowed(
            'privsep-helper --config-file /home/evil/nova-mig.conf'))
        self.assertFalse(self.allowed(
            'privsep-helper --config-file /etc/../home/evil.conf'))
        self.assertFalse(self.allowed(
            'privsep-helper --config-file /etc/nova-mig/nova-mig.conf',
            sock='/var/evil.sock'))
