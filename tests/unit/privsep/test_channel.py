# SPDX-License-Identifier: Apache-2.0

"""The adapter on oslo.privsep's client channel (nova_mig.privsep.channel)."""

import logging
import os
import socket
import time

import fixtures
from oslo_privsep import daemon

from nova_mig import exception
from nova_mig.privsep import channel
from tests import base


class StderrLoggerTestCase(base.TestCase):

    def test_each_line_logged_on_the_daemon_logger_with_the_prefix(self):
        logs = self.useFixture(fixtures.FakeLogger(
            name=daemon.LOG.logger.name, level=logging.WARNING))
        with channel.stderr_logger() as stderr:
            stderr.write('sudo: a password is required\nsecond\n')
        # The thread logs once the write end is closed and read.
        deadline = time.monotonic() + 10
        while 'second' not in logs.output and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual(['privsep log: sudo: a password is required',
                          'privsep log: second'],
                         logs.output.splitlines())


class FixedSocketChannelTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.helper._CONF', self.conf))
        self.path = os.path.join(self.tmpdir, 'privsep', 'files.sock')

    def test_socket_folder_made_private(self):
        channel.socket_dir(self.path, 'sudo -n privsep-helper')
        self.assertEqual(0o700, os.stat(os.path.dirname(self.path)).st_mode
                         & 0o777)

    def test_socket_folder_not_a_folder_is_refused(self):
        with open(os.path.dirname(self.path), 'w'):
            pass
        e = self.assertRaises(exception.PrivsepStartFailed,
                              channel.socket_dir, self.path, 'helper')
        self.assertIn('cannot create its socket folder %s'
                      % os.path.dirname(self.path), str(e))

    def test_helper_gets_the_fixed_path_and_connects_there(self):
        # A helper command that connects to the socket it is given and
        # answers oslo.privsep's PING, as privsep-helper does; the channel
        # is built on the connection and the socket file is gone.
        seen = []

        class Context:
            def helper_command(self, sockpath):
                seen.append(sockpath)
                return ['true']

        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.channel.ACCEPT_TIMEOUT', 0.1))
        e = self.assertRaises(
            daemon.FailedToDropPrivileges, channel.FixedSocketChannel,
            Context(), self.path)
        self.assertEqual([self.path], seen)
        self.assertIn('without a daemon connecting to %s' % self.path,
                      str(e))
        self.assertFalse(os.path.lexists(self.path))
        # The lock file stays (it is the lock), the socket does not.
        self.assertTrue(os.path.exists(self.path + '.lock'))
        # And the folder is free for the next start: the path binds again.
        s = socket.socket(socket.AF_UNIX)
        self.addCleanup(s.close)
        s.bind(self.path)
