# SPDX-License-Identifier: Apache-2.0

"""The application registers oslo.log's options through oslo.log's API."""

import os

from oslo_config import cfg

from nova_mig.cli import app
from tests import base


class TestLogOptions(base.TestCase):

    def test_log_options_registered_for_files_and_command_line(self):
        conf = cfg.ConfigOpts()
        app.register_log_options(conf)
        conf(['--debug', '--log-file', '/var/log/nova-mig.log'],
             project='nova-mig')
        self.assertTrue(conf.debug)
        self.assertEqual('/var/log/nova-mig.log', conf.log_file)
        # The file-only options (not on the command line) are there too.
        self.assertFalse(conf.use_journal)
        self.assertIsNone(conf.log_config_append)

    def test_log_file_from_a_configuration_file(self):
        path = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(path, 'w') as f:
            f.write('[DEFAULT]\nlog_dir = /var/log/nova-mig\n')
        conf, unknown = app.load_conf([path], [], cloud=False)
        self.assertEqual('/var/log/nova-mig', conf.log_dir)
        self.assertEqual([], unknown)
