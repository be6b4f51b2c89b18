# SPDX-License-Identifier: Apache-2.0

"""``layout restore`` on a Hopper GPU whose MIG mode came back disabled."""

import os

from tests.functional import layout_base

HOST = """\
version: 1
hostname: hopper-1
device_mode: mdev
gpus:
  - model: H100-SXM5-80GB
    pci_address: "0000:18:00.0"
    mig_mode: enabled
    mig_mode_needs_reset: true
    sriov_vfs: 4
    gpu_instances:
      - {profile: 3g.40gb, placement: 0}
      - {profile: 3g.40gb, placement: 4}
"""
LAYOUT = """\
version: 1
defaults: {sriov_vfs: 4}
gpus:
  - select: {pci_address: "0000:18:00.0"}
    mig: enabled
    vgpus: none
    gpu_instances: [{profile: 3g.40gb, count: 2}]
"""
RESET = 'nvidia-smi --gpu-reset -i 0000:18:00.0'


class TestRestoreAfterHopperReboot(layout_base.LayoutTestCase):

    def setUp(self):
        super().setUp()
        self.use_host(self.write('hopper.yaml', HOST),
                      os.path.join(self.tmpdir, 'hopper-sim'))
        rc, out, err = self.cli('layout', 'apply',
                                self.write('layout.yaml', LAYOUT))
        self.assertEqual(0, rc, out + err)
        self.reboot()

    def reboot(self, running_on=None):
        with self.backend.host.transaction() as state:
            state.wipe()
            if running_on:
                state.domains.append({
                    'name': 'guest-1', 'state': 'running',
                    'uuid': '6e0e0000-0000-4000-8000-000000000001',
                    'nova': True, 'display_name': 'guest-1', 'mdevs': [],
                    'pci_hostdevs': [running_on]})

    def gpu(self):
        (gpu,) = self.backend.list_gpus()
        return gpu

    def test_mig_came_back_disabled(self):
        self.assertFalse(self.gpu().mig_enabled)
        self.assertEqual(0, self.gpu().mig_pending)

    def test_without_option_stops_with_the_exact_command(self):
        rc, out, err = self.cli('layout', 'restore')
        self.assertEqual(1, rc)
        self.assertIn(RESET, out + err)
        gpu = self.gpu()
        # Re-enabled, pending the reset; nothing else was done.
        self.assertEqual((0, 1), (gpu.mig_current, gpu.mig_pending))
        self.assertEqual((), gpu.gpu_instances)

    def test_reset_option_resets_the_idle_gpu_and_restores(self):
        rc, out, err = self.cli('layout', 'restore', '--reset-gpu')
        self.assertEqual(0, rc, out + err)
        gpu = self.gpu()
        self.assertTrue(gpu.mig_enabled)
        self.assertEqual([(0, 4), (4, 4)],
                         sorted((gi.placement.start, gi.placement.size)
                                for gi in gpu.gpu_instances))

    def test_reset_refused_while_a_guest_holds_the_gpu(self):
        self.reboot(running_on='0000:18:00.0')
        rc, out, err = self.cli('layout', 'restore', '--reset-gpu')
        self.assertEqual(1, rc)
        self.assertIn('not idle (domain guest-1)', out + err)
        self.assertIn(RESET, out + err)
        self.assertFalse(self.gpu().mig_enabled)
