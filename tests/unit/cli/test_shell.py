# SPDX-License-Identifier: Apache-2.0

"""``nova-mig`` help before the application loads (nova_mig.cli.shell)."""

import importlib
import io
import os
import subprocess
import sys

import fixtures

from nova_mig.cli import app
from nova_mig.cli import shell
from nova_mig.cli import usage
from tests import base


class TestShellHelp(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('COLUMNS', '80'))
        self.out = self.useFixture(fixtures.MonkeyPatch(
            'sys.stdout', io.StringIO())).new_value
        self.err = self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', io.StringIO())).new_value

    def test_every_command_with_its_docstring_line(self):
        self.assertEqual(0, shell.main(['--help']))
        text = self.out.getvalue()
        commands = usage._entry_points()
        self.assertIn(('layout plan', 'nova_mig.cli.layout:LayoutPlan'),
                      commands)
        for name, target in commands:
            module, _, cls = target.partition(':')
            doc = getattr(importlib.import_module(module), cls).__doc__
            line = '  %s  ' % name
            self.assertIn(line, text)
            summary = text.split(line, 1)[1].split('\n', 1)[0].strip()
            self.assertEqual(doc.strip().split('\n')[0], summary)

    def test_global_options_match_the_application(self):
        real = app.NovaMigApp().parser.format_help()
        self.assertIn(usage.GLOBAL_OPTIONS, real)

    def test_help_loads_no_configuration_library(self):
        shell.main(['help'])
        code = ('import sys; from nova_mig.cli import shell; '
                'shell.usage.help_text(); '
                'print(sorted(m for m in sys.modules if m.split(".")[0] in '
                '("oslo_config", "oslo_log", "cliff", "keystoneauth1")))')
        self.assertEqual('[]', self.run_python(code).strip())

    def test_bare_command_prints_help_to_stderr_and_exits_2(self):
        self.assertEqual(2, shell.main([]))
        self.assertEqual('', self.out.getvalue())
        self.assertIn('Commands:', self.err.getvalue())
        self.assertEqual(2, app.main([]))

    def run_python(self, code):
        return subprocess.run([sys.executable, '-c', code], check=True,
                              capture_output=True, text=True).stdout


class VersionTestCase(base.TestCase):

    def test_version_is_what_pip_reports(self):
        script = os.path.join(os.path.dirname(sys.executable), 'nova-mig')
        ours = subprocess.run([script, '--version'], capture_output=True,
                              text=True, check=True).stdout
        pip = subprocess.run(
            [sys.executable, '-m', 'pip', 'show', 'nova-mig'],
            capture_output=True, text=True, check=True).stdout
        (version,) = [line.split(':', 1)[1].strip()
                      for line in pip.splitlines()
                      if line.startswith('Version:')]
        self.assertEqual('nova-mig %s\n' % version, ours)


class CloudOptionsTestCase(base.TestCase):
    """keystoneauth's options: before parsing, for the cloud commands."""

    def loaded(self, command: str) -> str:
        code = (
            'import sys; from nova_mig.cli import app; '
            'a = app.NovaMigApp(); '
            'a._argv = ["--config-file", "etc/nova-mig/demo.conf", '
            '"%s"]; a.options, _ = a.parser.parse_known_args(a._argv); '
            'conf = a._load_conf(); '
            'print("keystoneauth1.loading" in sys.modules, '
            '"auth_type" in conf.placement)' % command)
        return subprocess.run([sys.executable, '-c', code], check=True,
                              capture_output=True, text=True,
                              cwd=base.TOP_DIR).stdout.strip()

    def test_local_command_skips_keystoneauth(self):
        self.assertEqual('False False', self.loaded('discover'))

    def test_cloud_command_registers_before_parsing(self):
        self.assertEqual('True True', self.loaded('sync'))
