# SPDX-License-Identifier: Apache-2.0

"""Logging destinations work as in other oslo.log programs."""

import logging
import os

from oslo_log import handlers

from tests.functional import base

HOST = 'a100-mixed.yaml'


class LoggingTestCase(base.CliTestCase):

    def setUp(self):
        super().setUp()
        self.snippet = os.path.join(self.tmpdir, 'nova', '50-nova-mig.conf')
        self.conf_path = self.write_conf(
            base.host_file(HOST),
            '[nova]\nconfig_snippet = %s\nprovider_config_file = %s\n'
            '[placement_sync]\nembedded = true\n'
            % (self.snippet, os.path.join(self.tmpdir, 'nova', 'pc',
                                          'nova-mig.yaml')))

    def steps_logged(self, text: str) -> None:
        # One line per step of the hook, at INFO.
        for step in ('restore layout: skipped', 'nova config: ok',
                     'placement: ok'):
            lines = [ln for ln in text.splitlines()
                     if 'pre-start: %s' % step in ln]
            self.assertEqual(1, len(lines), text)
            self.assertIn(' INFO nova_mig.', lines[0])

    def test_log_file_option(self):
        path = os.path.join(self.tmpdir, 'hook.log')
        rc, out, err = self.nova_mig('--log-file', path, 'hook', 'pre-start',
                                     conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        with open(path) as f:
            self.steps_logged(f.read())
        # The command's output stays on stdout, the log out of it.
        self.assertNotIn(' INFO ', out)

    def test_log_dir_option(self):
        log_dir = os.path.join(self.tmpdir, 'logs')
        os.mkdir(log_dir)
        rc, out, err = self.nova_mig('--log-dir', log_dir, 'hook',
                                     'pre-start', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        (name,) = os.listdir(log_dir)
        self.assertTrue(name.endswith('.log'), name)
        with open(os.path.join(log_dir, name)) as f:
            self.steps_logged(f.read())

    def test_log_file_from_the_config_file(self):
        path = os.path.join(self.tmpdir, 'conf.log')
        with open(self.conf_path, 'a') as f:
            f.write('[DEFAULT]\nlog_file = %s\n' % path)
        rc, out, err = self.nova_mig('hook', 'pre-start',
                                     conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        with open(path) as f:
            self.steps_logged(f.read())

    def test_syslog_gets_oslo_log_handler_output_stays_clean(self):
        rc, out, err = self.nova_mig('--use-syslog', 'discover', '-f',
                                     'json', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        root = logging.getLogger('')
        self.assertIn(handlers.OSSysLogHandler,
                      [type(h) for h in root.handlers])
        # Nothing of the log on stdout: -f json stays parseable.
        self.assertIn(out[:1], '{[', out[:200])

    def test_journal(self):
        rc, out, err = self.nova_mig('--use-journal', 'discover', '-f',
                                     'json', conf_file=self.conf_path)
        if handlers.journal is None:
            # No systemd Python bindings: one line naming what to install.
            self.assertEqual(1, rc, out + err)
            self.assertEqual(
                'nova-mig: error: Invalid configuration: use_journal needs '
                'the systemd Python bindings (pip install systemd-python, '
                'or the python3-systemd package); log to stderr, which '
                'journald keeps for a systemd unit, or set log_file\n', err)
            return
        self.assertEqual(0, rc, out + err)
        self.assertIn(handlers.OSJournalHandler,
                      [type(h) for h in logging.getLogger('').handlers])
