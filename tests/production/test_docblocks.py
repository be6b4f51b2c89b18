# SPDX-License-Identifier: Apache-2.0

"""The reader of the pages' marked blocks (no service needed)."""


from tests import base
from tests.production import docblocks

PAGES = ('install.rst', 'admin/first-setup.rst', 'admin/placement.rst',
         'deployment/kolla.rst')


class DocblocksTestCase(base.TimedTestCase):

    def test_pages_run_by_the_production_tier_have_their_blocks(self):
        wanted = {
            'install.rst': {'install-venv', 'nova-mig.conf', 'conf-mode',
                            'sudoers', 'apply', 'check'},
            'admin/first-setup.rst': {'install'},
            'admin/placement.rst': {'nova.conf', 'sync'},
            'deployment/kolla.rst': {'install', 'placement', 'units'},
        }
        for page in PAGES:
            self.assertEqual(wanted[page], set(docblocks.blocks(page)), page)

    def test_console_block(self):
        blocks = docblocks.parse(
            'Text.\n\n.. nova-mig-test: one\n\n.. code-block:: console\n\n'
            '   # install -d \\\n       /etc/x\n   $ nova-mig --version\n'
            '   nova-mig 1.0\n', 'p.rst')
        commands = blocks['one'].commands()
        self.assertEqual([('root', 'install -d \\\n    /etc/x', []),
                          ('user', 'nova-mig --version', ['nova-mig 1.0'])],
                         [(c.user, c.text, c.output) for c in commands])

    def test_literal_block_and_substitutions(self):
        blocks = docblocks.parse(
            '.. nova-mig-test: conf\n\n::\n\n   auth_url = '
            'http://controller:5000/v3\n   password = NOVA_PASS\n', 'p.rst')
        self.assertEqual(
            'auth_url = http://127.0.0.1:1/v3\npassword = s',
            blocks['conf'].substituted({
                'http://controller:5000': 'http://127.0.0.1:1',
                'NOVA_PASS': 's'}))
        self.assertRaises(ValueError, blocks['conf'].substituted,
                          {'controller': 'x'})
        self.assertRaises(ValueError, blocks['conf'].commands)

    def test_unmarked_blocks_are_not_run(self):
        self.assertEqual({}, docblocks.parse('::\n\n   # rm -rf /x\n',
                                             'p.rst'))

    def test_a_mark_without_its_block_fails(self):
        for source in ('.. nova-mig-test: a\n\nText.\n',
                       '.. nova-mig-test: a\n\nText::\n\n   x\n',
                       '.. nova-mig-test: a\n\n.. nova-mig-test: b\n\n'
                       '::\n\n   x\n'):
            e = self.assertRaises(ValueError, docblocks.parse, source,
                                  'p.rst')
            self.assertIn('mark a has no block after it', str(e))

    def test_a_name_twice_fails(self):
        e = self.assertRaises(
            ValueError, docblocks.parse,
            '.. nova-mig-test: a\n\n::\n\n   x\n\n'
            '.. nova-mig-test: a\n\n::\n\n   y\n', 'p.rst')
        self.assertIn('block a marked twice', str(e))

    def test_not_run_commands_are_the_listed_ones(self):
        command = docblocks.Command('root', 'systemctl daemon-reload')
        self.assertEqual('no systemd in the test namespace',
                         command.not_run())
        self.assertIsNone(docblocks.Command('root', 'nova-mig sync')
                          .not_run())
