# SPDX-License-Identifier: Apache-2.0

"""Helpers for functional tests that drive the nova-mig command line."""

import io
import logging
import os
import sys

import fixtures

from nova_mig.cli import app
from nova_mig.simulator import embedded_placement
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

    def write_conf(self, host, extra: str = '', name: str = 'nova-mig.conf',
                   embedded: bool = True) -> str:
        """A nova-mig.conf of the simulated ``host``, in ``self.tmpdir``.

        :param name: the file's name.
        :param embedded: choose the embedded Placement (and embedded
            cloud: ``reap`` and ``retype`` then ask its Compute API too).
            A [placement] section in ``extra`` wins over it for
            Placement only; tests of real services pass False.
        """
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n'
                    '[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\n'
                    '%s%s'
                    % (os.path.join(self.tmpdir, 'state'), host,
                       '[placement_sync]\nembedded = true\n' if embedded
                       else '', extra))
        return path

    def write_cloud_conf(self, host, hostname: str, extra: str = '') -> str:
        """A configuration of ``host`` in a cloud: an embedded Placement.

        Starts ``self.server`` (stopped at cleanup) and points [placement]
        at it; ``self.snippet`` is the Nova configuration nova-mig writes
        and the simulated nova-compute restart is [retype]'s command.
        """
        self.server = embedded_placement.EmbeddedPlacement(
            os.path.join(self.tmpdir, 'cloud'))
        url = self.server.start()
        self.addCleanup(self.server.stop)
        self.snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        restart = ','.join([sys.executable, '-m',
                            'nova_mig.simulator.nova_compute',
                            '--config-file',
                            os.path.join(self.tmpdir, 'nova-mig.conf')])
        return self.write_conf(host, extra=(
            '[nova]\nhypervisor_hostname = %s\nconfig_snippet = %s\n'
            'provider_config_file = %s\n'
            '[placement]\nauth_type = admin_token\nendpoint = %s\n'
            'token = admin\nendpoint_override = %s\n'
            '[retype]\nallow_restart = true\nrestart_command = %s\n'
            'poll_interval = 0\nplacement_timeout = 20\n%s' % (
                hostname, self.snippet,
                os.path.join(self.tmpdir, 'provider', 'mig.yaml'),
                url, url, restart, extra)))

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
