# SPDX-License-Identifier: Apache-2.0

"""Without the view, no destruction.

A user without root cannot read other users' ``/proc/<pid>/fd`` (and a
``/proc`` mounted with ``hidepid`` hides their processes altogether): no
open ``/dev/vfio`` handle can be ruled out, so no destructive step may
run.  ``layout apply`` and ``reap --apply`` run here as ``nobody`` against
the real ``/proc`` (CI runs the tests as root; as a user without root they
run as that user), where the privileged helper that reads every process's
descriptors (``proc_pctxt``) has no sudo rule, and refuse with one line
naming what could not be read and the fix; ``--skip-handle-check``
overrides, with a warning.
"""

import os

import yaml

from nova_mig.host import inuse
from nova_mig import ownership
from tests import base as tests_base
from tests.functional import layout_base

GPU81 = '0000:81:00.0'
VGPU = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
LAYOUT = {'version': 1, 'gpus': [
    {'select': {'pci_address': GPU81}, 'mig': 'enabled',
     'gpu_instances': [{'profile': '7g.80gb', 'placement': 0}]}]}

#: Runs the CLI with argv; prints its exit status, stdout and stderr.
CLI = '''
import io, sys
from nova_mig.cli import app
out = io.StringIO()
try:
    rc = app.NovaMigApp(stdout=out, stderr=out).run(sys.argv[1:])
except SystemExit as e:
    rc = e.code
print('rc=%s' % rc)
print(out.getvalue())
'''


class TestNoViewNoDestruction(layout_base.LayoutTestCase):

    def setUp(self):
        super().setUp()
        if not tests_base.unprivileged_command() and os.geteuid() == 0:
            self.skipTest('needs a user without root')  # pragma: no cover
        self.layout = self.write('layout.yaml', LAYOUT)
        with open(self.conf_file, 'a') as f:
            f.write('[reaper]\ngrace_period = 0\nproc_root = /proc\n'
                    'nova_config_files = %s\n'
                    % os.path.join(self.tmpdir, 'none.conf'))
        # nova-mig made the vGPU: only the missing view may keep it.
        ownership.OwnershipRecord(self.conf.host.state_dir).add(VGPU)
        self.snapshot()     # materialise the simulated host

    def as_user(self, *argv) -> tuple[int, str]:
        # The user needs to write the state and the simulated host.
        for top, dirs, files in os.walk(self.tmpdir):
            for name in dirs + files:
                path = os.path.join(top, name)
                if not os.path.islink(path):
                    os.chmod(path, os.stat(path).st_mode | 0o777)
        out = self.run_unprivileged(CLI, '--config-file', self.conf_file,
                                    *argv)
        status, _, text = out.partition('\n')
        return int(status.partition('=')[2]), text

    def gpu81(self):
        return self.snapshot()['gpus'][GPU81]['instances']

    def test_layout_apply_refuses_then_the_flag_overrides(self):
        before = self.snapshot()
        rc, text = self.as_user('layout', 'apply', self.layout)
        self.assertEqual(1, rc, text)
        self.assertEqual(before, self.snapshot(), text)
        lines = [line for line in text.splitlines()
                 if 'open handles unknown' in line]
        self.assertTrue(lines, text)
        # The real /proc is read through the proc context's daemon, which
        # sudo refuses to nobody without the rule: its fix, on the line.
        self.assertIn("cannot read the descriptors of other users' "
                      "processes in /proc: Cannot start nova-mig's "
                      "privileged helper", lines[0])
        self.assertIn('allow that with "nova-mig install-sudoers --user '
                      'nobody"', lines[0])
        self.assertIn(inuse.SKIP_FLAG, lines[0])
        self.assertIn(VGPU, lines[0])

        rc, text = self.as_user('layout', 'apply', self.layout,
                                inuse.SKIP_FLAG)
        self.assertEqual(0, rc, text)
        self.assertIn('warning: cannot read the descriptors of', text)
        self.assertEqual([('7g.80gb', 0, 1, self.gpu81()[0][3])],
                         self.gpu81())
        self.assertNotIn(VGPU, str(self.snapshot()['devices']))

    def test_reap_keeps_then_the_flag_overrides(self):
        argv = ('reap', '--apply', '--all-unassigned', '--include-foreign',
                '--skip-placement-check', '--force-with-enabled-service',
                '-f', 'yaml')
        rc, text = self.as_user(*argv)
        self.assertIn(VGPU, str(self.snapshot()['devices']), text)
        self.assertIn('\n- ', text)
        rows = yaml.safe_load(text[text.index('\n- ') + 1:])
        [row] = [r for r in rows if r['device'] == VGPU]
        self.assertEqual('keep', row['decision'])
        self.assertTrue([r for r in row['reasons']
                         if r.startswith('open handles unknown') and
                         inuse.SKIP_FLAG in r], row)

        rc, text = self.as_user(*argv + (inuse.SKIP_FLAG,))
        self.assertNotIn(VGPU, str(self.snapshot()['devices']), text)
