"""The pages' own blocks, run as they are against the real cloud.

The blocks marked ``.. nova-mig-test: <name>`` in the pages (see
:mod:`tests.production.docblocks`) run on a compute host in a mount
namespace (:mod:`tests.production.host`): ``#`` lines as root, ``$``
lines as the unprivileged ``nova`` user, whose root-only work goes through
the sudo rule ``install-sudoers`` writes from the shipped template. They
talk to the integration tier's Keystone, Placement and Nova API.

What the pages cannot say is given in one file of the default
configuration directory, ``/etc/nova-mig/nova-mig.conf.d/zz-test.conf``
(:data:`TEST_CONF`): the simulated GPUs (there is no GPU here) and the
compute node name of the test. Every file a page has the operator write
is written from the block and read back after the commands ran.
"""

import os
import re
import shutil

import testtools

from tests import base as test_base
from tests.functional import base as functional_base
from tests.integration import services
from tests.production import base
from tests.production import docblocks
from tests.production import host as host_mod

CONF = '/etc/nova-mig/nova-mig.conf'
TEST_CONF = '/etc/nova-mig/nova-mig.conf.d/zz-test.conf'
SNIPPET = '/etc/nova/nova.conf.d/50-nova-mig.conf'
PROVIDER_CONFIG = '/etc/nova/provider_config/nova-mig.yaml'
SUDOERS = '/etc/sudoers.d/nova-mig'
STATE_DIR = '/var/lib/nova-mig'
HOST_FILE = 'b200-hgx.yaml'


@testtools.skipUnless(host_mod.usable(),
                      'needs root, unshare -m, setpriv, mount and sudo '
                      '(bindep.txt, test profile)')
class DocsTestCase(base.ProductionTestCase):
    """A fresh namespace host per test; the services of the run."""

    page = 'install.rst'

    def setUp(self):
        super().setUp()
        self.host = host_mod.Host(self.venv)
        self.addCleanup(self.host.cleanup)
        self.blocks = docblocks.blocks(self.page)
        self.values = {'http://controller:5000': self.services.keystone.root,
                       'NOVA_PASS': services.SERVICE_PASSWORD}

    def simulated_conf(self) -> str:
        return ('# Test only (tests/production/test_docs.py): no GPU here.\n'
                '[gpu]\nbackend = simulated\n[simulator]\nhost_file = %s\n'
                '[nova]\nhypervisor_hostname = %s\n'
                '[placement_sync]\nretry_delay = 0\n'
                % (functional_base.host_file(HOST_FILE), self.hostname))

    def run_block(self, name: str, page: str | None = None,
                  only: str | None = None) -> list[host_mod.Result]:
        """Run block ``name``; each command must exit 0 and print its output.

        :param only: run only the command ending in this text.
        """
        blocks = docblocks.blocks(page) if page else self.blocks
        commands = blocks[name].commands(self.values)
        if only:
            commands = [c for c in commands if c.text.endswith(only)]
            self.assertEqual(1, len(commands), only)
        skipped = [c.text for c in commands if c.not_run()]
        for text in skipped:
            # Only what docblocks.NOT_RUN names is left out.
            self.assertTrue(any(text.startswith(p)
                                for p in docblocks.NOT_RUN), text)
        results = self.host.run([c for c in commands if not c.not_run()])
        for result in results:
            self.assertEqual(0, result.rc, str(result))
            self.assertNotIn('Traceback', result.err, str(result))
            for line in result.command.output:
                self.assertIn(line, result.out, str(result))
        return results

    def write_block(self, name: str, path: str) -> str:
        """Write the file a page shows; return the text written."""
        text = self.blocks[name].substituted(self.values) + '\n'
        self.host.write(path, text)
        return text


class InstallGuideTestCase(DocsTestCase):
    """``doc/source/install.rst``, the compute host steps."""

    def install(self) -> str:
        """Steps 1 to 3: venv, directories, nova-mig.conf, sudoers rule."""
        self.run_block('install-venv')
        self.host.write(TEST_CONF, self.simulated_conf())
        conf = self.write_block('nova-mig.conf', CONF)
        self.run_block('conf-mode')
        self.run_block('sudoers')
        return conf

    def assert_sudoers_from_the_shipped_template(self) -> None:
        """The rule is the template of the tree, its placeholders filled."""
        with open(os.path.join(services.REPO, 'etc', 'sudoers.d',
                               'nova-mig')) as f:
            template = [line for line in f.read().splitlines()
                        if line and not line.startswith('##')]
        written = self.host.read(SUDOERS).splitlines()
        rules = [line for line in written if line and line[0] != '#']
        helper = os.path.join(self.venv, 'bin', 'privsep-helper')
        wanted = [line for line in template if line[0] != '#']
        self.assertEqual(len(wanted), len(rules), written)
        for want, got in zip(wanted, rules):
            pattern = re.escape(want).replace(
                re.escape('@USER@'), 'nova').replace(
                re.escape('@HELPER_ARGV@'),
                re.escape('%s --config-file %s' % (helper, CONF)) +
                # The default configuration directory, where the test's
                # own settings are.
                r'(?: --config-dir /etc/nova-mig/nova-mig\.conf\.d)*')
            self.assertRegex(got, '^%s$' % pattern)

    def seed_as_nova_compute(self) -> None:
        """The GPU providers nova-compute creates once it runs.

        Seeded (as root, the admin's job) from a copy of the host's state
        after the layout was applied, through a configuration of the
        test's own: never the host's nova-mig.conf.
        """
        shutil.copytree(self.host.path(STATE_DIR),
                        os.path.join(self.tmpdir, 'state'))
        self.seed(self.conf_file())

    def test_install_guide_as_the_service_user(self):
        conf = self.install()
        self.assert_sudoers_from_the_shipped_template()

        apply, nova_config, pre_start = self.run_block('apply')[1:]
        self.assertIn('layout apply', apply.command.text)
        # The $ commands ran as nova: the state is nova's.
        checkpoint = os.path.join(self.host.path(STATE_DIR),
                                  'layout-checkpoint.json')
        self.assertEqual(self.host.id, os.stat(checkpoint).st_uid)
        # The Nova configuration below root's /etc/nova: written as root
        # by the privileged helper sudo started.
        for path in (SNIPPET, PROVIDER_CONFIG):
            self.assertEqual(0, os.stat(self.host.path(path)).st_uid, path)
        self.assertIn('enabled_mdev_types', self.host.read(SNIPPET))
        self.assertRegex(pre_start.out, re.compile(
            r'^\| placement +\| ok +\|', re.M))

        self.seed_as_nova_compute()
        sync, verify = self.run_block('check')
        self.assertIn('Placement %s' % self.services.placement.url,
                      sync.out)
        self.assertIn('Placement matches the host', verify.out)

        # What ran is the page's file, unchanged.
        self.assertEqual(conf, self.host.read(CONF))
        self.assertEqual(
            self.blocks['nova-mig.conf'].substituted(self.values) + '\n',
            self.host.read(CONF))
        self.assertEqual(self.simulated_conf(), self.host.read(TEST_CONF))

    def test_hook_pre_start_with_keystone_down(self):
        # Nothing listens where the page's Keystone is.
        self.values['http://controller:5000'] = test_base.closed_port_url()
        conf = self.install()
        (pre_start,) = self.host.run(
            [c for c in self.blocks['apply'].commands(self.values)
             if c.text.endswith('hook pre-start')])
        # Non-strict: a warning, exit 0; nova-compute would start.
        self.assertEqual(0, pre_start.rc, str(pre_start))
        self.assertRegex(pre_start.out, re.compile(
            r'^\| placement +\| warning +\|', re.M))
        self.assertIn(self.values['http://controller:5000'], pre_start.err)
        self.assertIn('nova-compute starts anyway', pre_start.err)
        self.assertEqual(conf, self.host.read(CONF))
