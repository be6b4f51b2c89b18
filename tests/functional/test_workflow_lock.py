# SPDX-License-Identifier: Apache-2.0

"""Two commands that change one host at once run one after the other.

``rebalance apply --yes`` drains a GPU, restarts nova-compute, applies
the layout, writes the full configuration and restarts again; a
``layout apply`` of the same GPU started while it drains must wait for
the whole of it (the workflow lock), or Nova ends up configured for a
type the GPU no longer holds. Both run as separate processes, the
installed command line's entry point; the restart command of the
rebalance notes when it ran and takes a moment, so the second command
starts while the first is in its drain.
"""

import os
import subprocess
import sys
import time

from tests.functional import base
from tests.functional import test_rebalance

#: GPU 81 split into two 3g.40gb: a layout another operator applies.
SPLIT = '''version: 1
gpus:
  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 3g.40gb, placement: 0}
      - {profile: 3g.40gb, placement: 4}
''' % test_rebalance.GPU81

#: A restart of nova-compute that notes its start and end and, the first
#: time, waits until the test lets it go on (argv: marks, go file, conf).
RESTART = '''import os, subprocess, sys, time
with open(sys.argv[1], 'a') as f:
    f.write('start %f\\n' % time.time())
deadline = time.monotonic() + 600
while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline:
    time.sleep(0.05)
rc = subprocess.call([sys.executable, '-m',
                      'nova_mig.simulator.nova_compute',
                      '--config-file', sys.argv[3]])
with open(sys.argv[1], 'a') as f:
    f.write('end %f\\n' % time.time())
sys.exit(rc)
'''


class TestWorkflowsSerialise(test_rebalance.RebalanceHostTestCase):

    def setUp(self):
        super().setUp()
        self.marks = os.path.join(self.tmpdir, 'restarts')
        self.go = os.path.join(self.tmpdir, 'go')
        script = os.path.join(self.tmpdir, 'restart.py')
        with open(script, 'w') as f:
            f.write(RESTART)
        with open(self.conf_path, 'a') as f:
            f.write('[retype]\nrestart_command = %s\n' % ','.join([
                sys.executable, script, self.marks, self.go, self.conf_path]))

    def start(self, *args) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, '-m', 'nova_mig.cli.shell', '--config-file',
             self.conf_path, *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=base.REPO,
            env=dict(os.environ, PYTHONPATH=base.REPO))

    def restarts(self) -> list[tuple[str, float]]:
        try:
            with open(self.marks) as f:
                return [(w, float(t)) for w, t in
                        (line.split() for line in f)]
        except FileNotFoundError:
            return []

    def test_layout_apply_waits_for_a_rebalance(self):
        rebalance = self.start('rebalance', 'apply',
                               self.layout(test_rebalance.FULL), '--yes',
                               '--include-foreign')
        deadline = time.monotonic() + 600
        while not self.restarts():
            if rebalance.poll() is not None:
                self.fail('rebalance apply ended before its restart: %s'
                          % (rebalance.communicate(),))
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        # The rebalance is restarting nova-compute without GPU 81.
        split = os.path.join(self.tmpdir, 'split.yaml')
        with open(split, 'w') as f:
            f.write(SPLIT)
        apply = self.start('layout', 'apply', split, '--include-foreign',
                           '--force-with-enabled-service')
        # The layout apply must wait for the rebalance; let the restart
        # go on once it says so (or once it ended without waiting).
        lines = []
        for line in apply.stderr:
            lines.append(line)
            if 'waiting for it to finish' in line:
                break
        open(self.go, 'w').close()
        out, err = rebalance.communicate(timeout=300)
        self.assertEqual(0, rebalance.returncode, out + err)
        rebalance_done = time.time()
        a_out, a_err = apply.communicate(timeout=300)
        a_err = ''.join(lines) + a_err
        self.assertEqual(0, apply.returncode, a_out + a_err)
        self.assertIn('waiting for it to finish', ''.join(lines))
        # Both restarts of the rebalance ended before the layout apply
        # changed the GPU, which it did last.
        self.assertEqual(['start', 'end', 'start', 'end'],
                         [w for w, _ in self.restarts()])
        self.assertLess(self.restarts()[-1][1], rebalance_done)
        self.assertEqual([('3g.40gb', 0), ('3g.40gb', 4)],
                         self.geometry(test_rebalance.GPU81))
        # The rebalance saw its own layout through: Placement offered the
        # 7g.80gb it applied before the layout apply ran.
        self.assertIn('restore: Placement shows the configuration', err)
