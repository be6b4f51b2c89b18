"""The application registers oslo.log's options without oslo_log.log."""

import subprocess
import sys

from oslo_config import cfg
from oslo_log import log as oslo_logging

from nova_mig.cli import app
from tests import base


def _options(conf):
    """Each [DEFAULT] option: the option object and whether it is a CLI one."""
    return {name: (entry['opt'], entry['cli'])
            for name, entry in conf._opts.items()}


class TestLogOptions(base.TestCase):

    def test_same_options_as_oslo_log_registers(self):
        ours = cfg.ConfigOpts()
        app.register_log_options(ours)
        theirs = cfg.ConfigOpts()
        oslo_logging.register_options(theirs)
        self.assertEqual(_options(theirs), _options(ours))
        self.assertTrue(_options(ours)['debug'][1])
        self.assertIn('log_file', _options(ours))

    def test_console_command_does_not_import_oslo_log_log(self):
        code = ('import sys; from nova_mig.cli import app; '
                'a = app.NovaMigApp(); a.options = a.parser.parse_args([]); '
                'a._load_conf(); '
                'print("oslo_log.log" in sys.modules, '
                '"oslo_log._options" in sys.modules)')
        out = subprocess.run([sys.executable, '-c', code], check=True,
                             capture_output=True, text=True).stdout
        self.assertEqual('False True', out.strip())
