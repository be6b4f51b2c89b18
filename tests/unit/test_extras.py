# SPDX-License-Identifier: Apache-2.0

"""A compute host's install: no SciPy, which only the planner needs."""

import configparser
import os
import subprocess
import sys

from tests import base

#: Run as a plain install would: SciPy and NumPy cannot be imported. Every
#: nova-mig command module and the OSC plugin's modules but the planner's
#: solver are imported, and a command runs on the demo host.
PLAIN = '''
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in ('scipy', 'numpy'):
            raise ImportError('No module named %r' % name)
sys.meta_path.insert(0, Absent())
import importlib.metadata
for ep in importlib.metadata.distribution('nova-mig').entry_points:
    if ep.group in ('nova_mig.cli', 'openstack.mig.v1'):
        ep.load()
from nova_mig.cli import app
rc = app.main(['--config-file', 'etc/nova-mig/demo.conf', 'discover',
               '-f', 'value', '-c', 'hostname'])
print(rc, sorted(m for m in sys.modules
                 if m.split('.')[0] in ('scipy', 'numpy')))
'''


class ExtrasTestCase(base.TestCase):

    def test_scipy_only_in_the_rebalance_extra(self):
        with open(os.path.join(base.TOP_DIR, 'requirements.txt')) as f:
            names = [line.split('>')[0].split('=')[0].strip().lower()
                     for line in f if line.strip() and
                     not line.startswith('#')]
        self.assertIn('keystoneauth1', names)
        self.assertNotIn('scipy', names)
        self.assertNotIn('numpy', names)
        setup = configparser.ConfigParser()
        setup.read(os.path.join(base.TOP_DIR, 'setup.cfg'))
        self.assertEqual(['scipy>=1.11.0 # BSD'],
                         setup['extras']['rebalance'].split('\n')[1:])

    def test_commands_run_without_scipy(self):
        result = subprocess.run(
            [sys.executable, '-c', PLAIN], capture_output=True, text=True,
            cwd=base.TOP_DIR, check=False,
            env=dict(os.environ, PYTHONPATH=base.TOP_DIR))
        self.assertEqual(0, result.returncode, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual('0 []', lines[-1], result.stdout + result.stderr)
