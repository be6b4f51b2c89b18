# SPDX-License-Identifier: Apache-2.0

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
class RootwrapFilterTestCase(base.TimedTestCase):
    """The shipped rootwrap filters allow exactly one argv per context.

    (oslo.rootwrap 6 and later also add a catch-all privsep-helper filter
    of their own; the shipped ones are what older releases need, and state
    each command exactly.)
    """

    BASE = 'privsep-helper --config-file /etc/nova-mig/nova-mig.conf'
    STATE = '/var/lib/nova/nova-mig'

    def setUp(self):
        super().setUp()
        from oslo_rootwrap import wrapper  # noqa: H302,H306
        self.filters = [f for f in wrapper.load_filters(
            [os.path.dirname(FILTERS)])
            if f.name.startswith('privsep-rootwrap-nova-mig')]

    def allowed(self, argv: list[str]) -> bool:
        return any(f.match(argv) for f in self.filters)

    def command(self, name: str, sock: str | None = None) -> list[str]:
        return helper.full_command(
            shlex.split(self.BASE), name,
            sock or '%s/privsep/%s.sock' % (self.STATE, name))

    def test_each_context_is_allowed_with_its_fixed_socket(self):
        self.assertEqual(len(helper.CONTEXTS), len(self.filters))
        for name in helper.CONTEXTS:
            self.assertTrue(self.allowed(self.command(name)), name)
        self.assertEqual(
            ['--privsep_context', 'nova_mig.privsep.sysfs_pctxt',
             '--privsep_sock_path', '/x.sock'],
            helper.full_command([], 'sysfs', '/x.sock'))

    def test_anything_else_is_refused(self):
        sysfs = self.command('sysfs')
        # An appended argument, the log configuration of the issue.
        self.assertFalse(self.allowed(
            sysfs + ['--log-config-append', '/tmp/evil.ini']))
        # Another context on a context's socket, another socket.
        self.assertFalse(self.allowed(
            self.command('sysfs', '%s/privsep/nvml.sock' % self.STATE)))
        self.assertFalse(self.allowed(
            self.command('files', '/tmp/tmpab12cd/privsep.sock')))
        self.assertFalse(self.allowed(self.command(
            'nvml', '%s/privsep/../nvml.sock' % self.STATE)))
        # nova's context, another configuration file, one below /etc/..
        other = list(sysfs)
        other[other.index('nova_mig.privsep.sysfs_pctxt')] = (
            'nova.privsep.sys_admin_pctxt')
        self.assertFalse(self.allowed(other))
        for conf in ('/home/evil/nova-mig.conf',
                     '/etc/nova-mig/../../tmp/evil.conf'):
            argv = list(sysfs)
            argv[2] = conf
            self.assertFalse(self.allowed(argv), conf)


class SocketPathTestCase(base.TestCase):

    def test_fixed_below_the_state_dir_one_per_context(self):
        self.flags(state_dir='/var/lib/nova-mig', group='host')
        self.assertEqual('/var/lib/nova-mig/privsep/nvml.sock',
                         helper.socket_path('nvml', self.conf))
        self.assertEqual(
            {'sysfs': '/var/lib/nova-mig/privsep/sysfs.sock',
             'nvml': '/var/lib/nova-mig/privsep/nvml.sock',
             'files': '/var/lib/nova-mig/privsep/files.sock',
             'proc': '/var/lib/nova-mig/privsep/proc.sock'},
            {name: argv[-1] for name, argv in
             helper.rule_commands(self.conf).items()})

    def test_too_long_for_a_unix_socket_is_one_clear_error(self):
        self.flags(state_dir='/' + 'x' * 100, group='host')
        e = self.assertRaises(exception.PrivsepStartFailed,
                              helper.socket_path, 'files', self.conf)
        self.assertIn('longer than 107 bytes', str(e))
        self.assertIn('shorter [host]state_dir', str(e))

    def test_unknown_context_is_refused(self):
        self.assertRaises(ValueError, helper.pypath, 'sys_admin')
