"""Helpers for functional tests that drive the nova-mig command line."""

import io
import logging
import os

import fixtures

from nova_mig.cli import app
from tests import base

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
HOSTS_DIR = os.path.join(REPO, 'etc', 'nova-mig', 'hosts')


def host_file(name: str) -> str:
    """Absolute path of an example host shipped in etc/nova-mig/hosts."""
    return os.path.join(HOSTS_DIR, name)


class RootLogger(fixtures.Fixture):
    """Restore the root logger after the CLI configured it."""

    def _setUp(self):
        root = logging.getLogger('')
        handlers, level = list(root.handlers), root.level

        def restore():
            for handler in list(root.handlers):
                root.removeHandler(handler)
            for handler in handlers:
                root.addHandler(handler)
            root.setLevel(level)
        self.addCleanup(restore)


class CliTestCase(base.TestCase):
    """Runs ``nova-mig`` in-process against a simulated host."""

    def write_conf(self, host, extra: str = '') -> str:
        path = os.path.join(self.tmpdir, 'nova-mig.conf')
        with open(path, 'w') as f:
            # The embedded Placement, chosen explicitly; a [placement]
            # section in ``extra`` wins over it.
            f.write('[gpu]\nbackend = simulated\n'
                    '[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\n'
                    '[placement_sync]\nembedded = true\n%s'
                    % (os.path.join(self.tmpdir, 'state'), host, extra))
        return path

    def nova_mig(self, *args, conf_file: str | None = None):
        """Run the command line; return (exit code, stdout, stderr)."""
        self.useFixture(RootLogger())
        stdout, stderr = io.StringIO(), io.StringIO()
        argv = list(args)
        if conf_file:
            argv = ['--config-file', conf_file] + argv
        try:
            rc = app.NovaMigApp(stdout=stdout, stderr=stderr).run(argv)
        except SystemExit as e:
            rc = e.code
        return rc, stdout.getvalue(), stderr.getvalue()
