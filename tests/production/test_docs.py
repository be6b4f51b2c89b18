# SPDX-License-Identifier: Apache-2.0

"""The pages' own blocks, run as they are against the real cloud.

The blocks marked ``.. nova-mig-test: <name>`` in the pages (see
:mod:`tests.production.docblocks`) run on a compute host in a mount
namespace (:mod:`tests.production.host`): ``#`` lines as root, ``$``
lines as the unprivileged ``nova`` user, whose root-only work goes through
the sudo rule ``install-sudoers`` writes from the shipped template. They
talk to the integration tier's Keystone, Placement and Nova API.

What the pages cannot say is given in the environment of each command,
as oslo.config's ``OS_<GROUP>__<OPTION>`` variables (they win over the
files): the simulated GPUs (there is no GPU here; ``[gpu]backend =
simulated`` and its host file) and the compute node name of the test
(:meth:`DocsTestCase.env`). No file of the host holds them, so the files
are the pages' own: every file a page has the operator write is written
from the block and read back after the commands ran.
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

    def env(self) -> dict[str, str]:
        """The test's settings, as oslo.config environment variables."""
        return {'OS_GPU__BACKEND': 'simulated',
                'OS_SIMULATOR__HOST_FILE': functional_base.host_file(
                    HOST_FILE),
                'OS_NOVA__HYPERVISOR_HOSTNAME': self.hostname,
                'OS_PLACEMENT_SYNC__RETRY_DELAY': '0'}

    def run_block(self, name: str, page: str | None = None
                  ) -> list[host_mod.Result]:
        """Run block ``name`` of the page (or of ``page``).

        Each command must exit 0 and print the output the page shows.
        The commands :data:`docblocks.NOT_RUN` names are left out.
        """
        blocks = docblocks.blocks(page) if page else self.blocks
        commands = [c for c in blocks[name].commands(self.values)
                    if not c.not_run()]
        results = self.host.run(commands, self.env())
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
        # Each @..._ARGV@ placeholder: the venv's privsep-helper with the
        # --config-file given to install-sudoers, then its own arguments.
        argv = (re.escape('%s --config-file %s' % (helper, CONF)) +
                r'(?: [^\s*]+)*')
        for want, got in zip(wanted, rules):
            pattern = re.sub(r'@[A-Z_]*ARGV@', lambda m: argv, re.escape(
                want).replace('@USER@', 'nova'))
            self.assertRegex(got, '^%s$' % pattern)

    def seed_as_nova_compute(self) -> None:
        """The GPU providers nova-compute creates once it runs.

        Seeded (as root, the admin's job) from a copy of the host's state
        after the layout was applied, through a configuration of the
        test's own: never the host's nova-mig.conf.
        """
        shutil.copytree(self.host.path(STATE_DIR),
                        os.path.join(self.tmpdir, 'state'), symlinks=True)
        self.seed(self.conf_file(host=HOST_FILE, name='seed.conf'))

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

    def test_hook_pre_start_with_keystone_down(self):
        # Nothing listens where the page's Keystone is.
        self.values['http://controller:5000'] = test_base.closed_port_url()
        conf = self.install()
        (pre_start,) = self.host.run(
            [c for c in self.blocks['apply'].commands(self.values)
             if c.text.endswith('hook pre-start')], self.env())
        # Non-strict: a warning, exit 0; nova-compute would start.
        self.assertEqual(0, pre_start.rc, str(pre_start))
        self.assertRegex(pre_start.out, re.compile(
            r'^\| placement +\| warning +\|', re.M))
        self.assertIn(self.values['http://controller:5000'], pre_start.err)
        self.assertIn('nova-compute starts anyway', pre_start.err)
        self.assertEqual(conf, self.host.read(CONF))


class FirstSetupTestCase(DocsTestCase):
    """``doc/source/admin/first-setup.rst``, step 1."""

    page = 'admin/first-setup.rst'

    def test_step_1_installs_the_units_of_the_venv(self):
        commands = self.blocks['install'].commands()
        self.assertEqual(
            ['python3 -m venv /opt/nova-mig',
             '/opt/nova-mig/bin/pip install nova-mig',
             'systemctl daemon-reload',
             'systemctl enable nova-mig-restore.service'],
            [c.text for c in commands if c.not_run()])
        self.run_block('install')
        with open(os.path.join(services.REPO, 'etc', 'nova-mig',
                               'nova-mig.conf.sample')) as f:
            self.assertEqual(f.read(), self.host.read(CONF))
        drop_in = self.host.read('/etc/systemd/system/'
                                 'nova-compute.service.d/nova-mig.conf')
        self.assertIn('ExecStartPre=+/usr/local/bin/nova-mig --config-file '
                      '%s hook pre-start\n' % CONF, drop_in)
        self.assertIn('/usr/local/bin/nova-mig --config-file %s'
                      % CONF, self.host.read(
                          '/etc/systemd/system/nova-mig-restore.service'))


class PlacementPageTestCase(DocsTestCase):
    """``doc/source/admin/placement.rst``: nova.conf read as it is."""

    page = 'admin/placement.rst'

    def test_sync_reads_nova_conf_with_its_auth_section(self):
        self.run_block('install-venv', page='install.rst')
        # nova-mig.conf without [placement]: the page's nova.conf has it.
        self.host.write(CONF, '')
        nova_conf = self.write_block('nova.conf', '/etc/nova/nova.conf')
        self.seed(self.conf_file(host=HOST_FILE, name='seed.conf'))
        (sync,) = self.run_block('sync')
        self.assertIn('Placement %s' % self.services.placement.url,
                      sync.out)
        self.assertEqual(nova_conf, self.host.read('/etc/nova/nova.conf'))
        self.assertEqual('', self.host.read(CONF))


class KollaTestCase(DocsTestCase):
    """``doc/source/deployment/kolla.rst``, on the host."""

    page = 'deployment/kolla.rst'

    def test_on_the_host_the_drop_in_runs_the_hook(self):
        self.run_block('install')
        with open(os.path.join(services.REPO, 'etc', 'kolla',
                               'nova-mig.conf')) as f:
            shipped = f.read()
        self.assertEqual(shipped, self.host.read(CONF))
        # Step 2: kolla's [placement] options below the file's last line.
        conf = shipped + self.blocks['placement'].substituted(
            self.values) + '\n'
        self.host.write(CONF, conf)
        self.run_block('units')
        drop_in = self.host.read('/etc/systemd/system/kolla-nova_compute-'
                                 'container.service.d/nova-mig.conf')
        (pre_start,) = [line[len('ExecStartPre=+'):]
                        for line in drop_in.splitlines()
                        if line.startswith('ExecStartPre=+')]
        self.assertEqual('/opt/nova-mig/bin/nova-mig --config-file %s hook '
                         'pre-start' % CONF, pre_start)
        # What systemd runs before the container starts, as root.
        (hook,) = self.host.run([docblocks.Command('root', pre_start)],
                                self.env())
        self.assertEqual(0, hook.rc, str(hook))
        self.assertRegex(hook.out, re.compile(
            r'^\| placement +\| ok +\|', re.M))
        self.assertIn('enabled_mdev_types', self.host.read(
            '/etc/nova-mig/nova/nova.conf.d/50-nova-mig.conf'))
        self.assertEqual(conf, self.host.read(CONF))
