# SPDX-License-Identifier: Apache-2.0

"""``tools/quickstart.sh demo``: one screen per step, and where it writes.

The script runs on a copy of the files it reads (tools/, etc/ and the
requirement files its stamp hashes) with the real virtual environment, so
that its state lands in the copy; HOME is a fresh directory that must stay
empty.
"""

import os
import shutil
import subprocess
import sys

from tests import base

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir,
                                   os.pardir))
VENV = os.path.dirname(os.path.dirname(sys.executable))
COPIED = ('requirements.txt', 'test-requirements.txt', 'setup.cfg',
          'setup.py', 'pyproject.toml')


class TestDemo(base.TestCase):

    def setUp(self):
        super().setUp()
        if not os.path.exists(os.path.join(VENV, 'bin', 'openstack')):
            self.skipTest('the demo needs python-openstackclient')
        self.top = os.path.join(self.tmpdir, 'tree')
        for name in ('tools', 'etc'):
            shutil.copytree(os.path.join(TOP, name),
                            os.path.join(self.top, name))
        for name in COPIED:
            shutil.copy(os.path.join(TOP, name), self.top)
        self.home = os.path.join(self.tmpdir, 'home')
        os.makedirs(self.home)

    def demo(self, *args):
        env = dict(os.environ, NOVA_MIG_VENV=VENV, NOVA_MIG_SKIP_BINDEP='1',
                   HOME=self.home)
        for name in ('XDG_CACHE_HOME', 'OS_CLOUD'):
            env.pop(name, None)
        result = subprocess.run(
            [os.path.join(self.top, 'tools', 'quickstart.sh'), 'demo'] +
            list(args), capture_output=True, text=True, env=env,
            timeout=600)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertNotIn('quickstart: installing', result.stderr)
        return result.stdout

    def test_the_readme_quick_start_line_on_a_fresh_tree(self):
        # The README's first Quick start line, as written, where nothing
        # of the demo exists yet: every step's summary, no step failing.
        with open(os.path.join(TOP, 'README.rst')) as f:
            lines = [line.strip() for line in f]
        start = lines.index('Quick start')
        command = next(line for line in lines[start:]
                       if line.startswith('tools/quickstart.sh demo'))
        self.assertEqual('tools/quickstart.sh demo', command)
        self.assertFalse(os.path.exists(
            os.path.join(self.top, '.nova-mig-state')))
        out = self.demo(*command.split()[2:])
        # Only the plan's refusal of the GPU whose guests use it (exit
        # status 3), summed up like the rest.
        self.assertEqual(['(exit status 3: refused, as said above)'],
                         [line for line in out.splitlines()
                          if line.startswith('(exit status')])
        self.assertIn('Refused on 1 GPU(s), which keep what is in use',
                      ' '.join(out.split()))
        titles = [line for line in out.splitlines()
                  if line.startswith('=== ')]
        self.assertEqual(['=== %d/5' % n for n in range(1, 6)],
                         [t.split()[0] + ' ' + t.split()[1]
                          for t in titles])
        words = ' '.join(out.split())
        self.assertIn('a100-mixed', words)
        self.assertIn('$ openstack mig profile list', out)
        for step in ('discover', 'plan', 'nova-config', 'sync'):
            self.assertTrue(os.path.exists(os.path.join(
                self.top, '.nova-mig-state', 'demo-%s.json' % step)), step)

    def test_h100_fits_in_one_screen_per_step(self):
        out = self.demo('--host', 'h100-sxm5-8x')
        lines = out.splitlines()
        self.assertLess(len(lines), 120, out)
        self.assertEqual([], [line for line in lines if len(line) > 79])
        titles = [i for i, line in enumerate(lines)
                  if line.startswith('=== ')]
        self.assertEqual(5, len(titles), out)
        for i in titles:
            # Each title is followed by why it shows what it shows.
            self.assertFalse(lines[i + 1].startswith(('$', '=')), out)
        words = ' '.join(out.split())
        self.assertIn('8 GPU(s) (8 NVIDIA H100 80GB HBM3), MIG enabled on 8.',
                      words)
        self.assertIn('GPU instances: 56 1g.10gb.', words)
        self.assertIn('GPU 2 0000:3a:00.0 |##=----.| 7 1g.10gb', words)
        self.assertIn('16 action(s) on 4 GPU(s): 16 create-vgpu.', words)
        self.assertIn('1 [mdev_*] group(s) with 56 device', words)
        self.assertIn('+ CUSTOM_MIG_1G_10GB on 56 provider(s)', words)
        self.assertIn('|        56 |', out)
        # The full diff is left to --verbose.
        self.assertNotIn('+enabled_mdev_types', out)
        # It says where it writes, and writes there only.
        self.assertIn('.nova-mig-state/cache', out)
        self.assertEqual([], os.listdir(self.home))
        self.assertTrue(os.listdir(os.path.join(
            self.top, '.nova-mig-state', 'cache', 'nova-mig')))

    def test_verbose_t4_says_why_no_profile(self):
        out = self.demo('--host', 't4-orphans', '--verbose')
        self.assertIn('+enabled_mdev_types = nvidia-234,nvidia-235', out)
        self.assertIn("The table is empty: this host's GPUs (2 Tesla T4) "
                      'have no MIG', ' '.join(out.split()))
        self.assertEqual([], os.listdir(self.home))
