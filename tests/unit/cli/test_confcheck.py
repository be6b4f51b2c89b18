# SPDX-License-Identifier: Apache-2.0

"""Tests of the configuration checks made before a command runs."""

import os

from oslo_config import cfg

from nova_mig.cli import confcheck
import nova_mig.conf
from nova_mig import exception
from tests import base


class TestConfCheck(base.TestCase):

    def write(self, name: str, content: str | bytes) -> str:
        path = os.path.join(self.tmpdir, name)
        with open(path, 'wb') as f:
            f.write(content if isinstance(content, bytes)
                    else content.encode())
        return path

    def loaded(self, path: str) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', path], project='nova-mig')
        return conf

    def test_unknown_options_of_own_groups(self):
        path = self.write('a.conf', '[gpu]\nbakend = simulated\nbackend = '
                                    'simulated\n[reaper]\ngrace-period = 5\n'
                                    '[placement]\npassword = x\n'
                                    '[other]\nanything = 1\n')
        self.assertEqual(['%s: [gpu]bakend' % path],
                         confcheck.unknown_options([path]))

    def test_bad_value_names_file_and_option(self):
        path = self.write('a.conf', '[reaper]\ngrace_period = soon\n')
        error = self.assertRaises(exception.ConfigError,
                                  confcheck.check_values, self.loaded(path),
                                  [path])
        self.assertEqual(
            "Invalid configuration: %s: [reaper]grace_period: invalid "
            "literal for int() with base 10: 'soon'" % path, str(error))

    def test_good_values_pass(self):
        path = self.write('a.conf', '[reaper]\ngrace_period = 5\n')
        confcheck.check_values(self.loaded(path), [path])

    def test_encoding(self):
        good = self.write('good.conf', '[gpu]\n')
        bad = self.write('bad.conf', b'[gpu]\n# caf\xe9\n')
        confcheck.check_encoding([good])
        error = self.assertRaises(exception.ConfigError,
                                  confcheck.check_encoding, [good, bad])
        self.assertEqual('Invalid configuration: %s: line 2 column 6: not '
                         'valid UTF-8 (byte 0xe9)' % bad, str(error))

    def test_config_files(self):
        conf_dir = os.path.join(self.tmpdir, 'd')
        os.makedirs(conf_dir)
        b = self.write('d/b.conf', '')
        a = self.write('d/a.conf', '')
        self.write('d/c.txt', '')
        one = self.write('one.conf', '')
        self.assertEqual([one, a, b], confcheck.config_files(
            ['--config-file', one, '--config-dir', conf_dir]))
        self.assertEqual([one], confcheck.config_files(
            [], [one, os.path.join(self.tmpdir, 'none.conf')]))
