# SPDX-License-Identifier: Apache-2.0

"""All or nothing per GPU, and the check-to-act window.

- A vendor-VFIO GPU that is free but for a shut-off guest referencing one
  of its VFs: a layout changing its geometry and VF count (through 0) is
  refused whole when planned, naming the guest, the VF and when it was
  seen; no GPU instance is destroyed, and a re-run refuses the same way.
- A guest defined after the plan's proof but before the GPU's first step
  stops the GPU before anything on it is destroyed, with a message that
  says it was free when the plan was proved.
- A guest defined between the last check and a removal (the window that
  remains) is named after the removal with the fix, and the run exits
  non-zero: ``layout apply`` and ``reap --apply``.
"""

import os
from unittest import mock

import yaml

from nova_mig.layout import proof
from nova_mig.layout import step_types
from nova_mig.reaper import removal
from tests.functional.faults import scenarios
from tests.functional import layout_base

GPU = '0000:1b:00.0'
#: A VF with no vGPU that a shut-off guest references.
HELD_VF = '0000:1b:00.7'
#: The H200 vendor-VFIO host, every vGPU gone: the GPU is free but for a
#: shut-off guest that references one of its VFs.
HOST = {
    'version': 1, 'hostname': 'compute-h200-1', 'device_mode': 'vendor-vfio',
    'vgpu_manager': True,
    'gpus': [{'model': 'H200-SXM-141GB', 'pci_address': GPU,
              'mig_mode': 'enabled', 'sriov_vfs': 16,
              'gpu_instances': [
                  {'profile': '2g.35gb', 'placement': 0},
                  {'profile': '1g.18gb', 'placement': 2},
                  {'profile': '1g.18gb', 'placement': 3},
                  {'profile': '1g.18gb', 'placement': 4},
                  {'profile': '1g.18gb', 'placement': 5},
                  {'profile': '1g.35gb', 'placement': 6}]}],
    'domains': [{'name': 'instance-00000201', 'display_name': 'parked',
                 'state': 'shutoff', 'pci_hostdevs': [HELD_VF]}]}
LAYOUT = {'version': 1, 'gpus': [
    {'select': {'pci_address': GPU}, 'mig': 'enabled', 'sriov_vfs': 8,
     'gpu_instances': [{'profile': '7g.141gb', 'placement': 0}]}]}


class TestVfCountChange(layout_base.LayoutTestCase):

    def setUp(self):
        super().setUp()
        host = self.write('h200-parked.yaml', HOST)
        self.use_host(host, os.path.join(self.tmpdir, 'sim-h200'))
        self.layout = self.write('h200-layout.yaml', LAYOUT)

    def instances(self) -> list:
        return self.snapshot()['gpus'][GPU]['instances']

    def test_refused_whole_when_planned(self):
        before = self.snapshot()
        self.assertEqual(6, len(self.instances()))
        rc, out, err = self.cli('layout', 'plan', self.layout)
        self.assertEqual(3, rc, out + err)
        self.assertIn('domain instance-00000201 (shutoff) references VF %s, '
                      'which the VF-count change (16 -> 8) removes (seen '
                      'when the plan was made)' % HELD_VF, out)
        for attempt in ('apply', 're-run'):
            rc, out, err = self.cli('layout', 'apply', self.layout)
            self.assertEqual(1, rc, attempt + ': ' + out + err)
            self.assertIn('refused', out, attempt)
            self.assertIn(HELD_VF, out, attempt)
            self.assertNotIn('since the plan', out + err, attempt)
            # Nothing on the GPU changed: no instance was destroyed.
            self.assertEqual(before, self.snapshot(), attempt)

    def test_free_vf_count_change_applies(self):
        # The control: without the guest the same layout is applied.
        with self.backend.host.transaction() as host:
            host.data['domains'] = []
        rc, out, err = self.cli('layout', 'apply', self.layout)
        self.assertEqual(0, rc, out + err)
        self.assertEqual([('7g.141gb', 0, 1, None)], [
            i[:3] + (None,) for i in self.instances()])
        self.assertEqual(8, self.snapshot()['gpus'][GPU]['vfs']['enabled'])

    def test_guest_defined_after_the_proof_stops_the_gpu_first(self):
        with self.backend.host.transaction() as host:
            host.data['domains'] = []
        before = self.snapshot()
        real = proof.prove

        def prove(checker, reader, the_plan):
            proved = real(checker, reader, the_plan)
            # A guest is defined on the VF once the plan is proved.
            with self.backend.host.transaction() as host:
                host.domains.append({
                    'name': 'instance-00000201',
                    'uuid': '0e0e0e0e-0000-4000-8000-000000000201',
                    'state': 'shutoff', 'nova': True, 'display_name': 'late',
                    'mdevs': [], 'pci_hostdevs': [HELD_VF]})
            return proved

        with mock.patch.object(proof, 'prove', prove):
            rc, out, err = self.cli('layout', 'apply', self.layout)
        self.assertEqual(1, rc, out + err)
        self.assertIn('in use', out)
        self.assertIn('free when the plan was proved at', out)
        self.assertIn('instance-00000201', out)
        self.assertEqual(before, self.snapshot())


class TestLookAfterRemoval(scenarios.FaultTestCase):
    """A guest defined in the window between the last check and a write."""

    def define_during(self, target, key):
        """``target``, with a guest referencing ``key`` defined first.

        The guest appears after the last check, right before the write.
        """
        real = target

        def wrapped(*args, **kwargs):
            with self.backend.host.transaction() as host:
                if not any(d['name'] == 'instance-window'
                           for d in host.domains):
                    host.domains.append({
                        'name': 'instance-window',
                        'uuid': '0e0e0e0e-0000-4000-8000-0000000000ff',
                        'state': 'shutoff', 'nova': True,
                        'display_name': 'window', 'mdevs': [key],
                        'pci_hostdevs': []})
            return real(*args, **kwargs)
        return wrapped

    def test_layout_apply_names_the_guest_with_the_fix(self):
        key = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
        real = step_types.RemoveMdev.execute
        hook = self.define_during(real, key)

        def execute(step, ctx):
            if step.uuid == key:
                return hook(step, ctx)
            return real(step, ctx)

        with mock.patch.object(step_types.RemoveMdev, 'execute', execute):
            rc = self.run_cli(*scenarios.APPLY, self.layout)
        self.assertEqual(1, rc, self.last)
        self.assertIn('referenced after removal', self.last)
        self.assertIn('domain instance-window (shutoff) references vGPU %s'
                      % key, self.last)
        self.assertIn('mdevctl start -u %s' % key, self.last)
        self.assertIn('virsh edit instance-window', self.last)

    def test_reap_names_the_guest_with_the_fix(self):
        key = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
        real = removal.Remover.remove
        hook = self.define_during(real, key)

        def remove(remover, facts):
            if facts.key == key:
                return hook(remover, facts)
            return real(remover, facts)

        with mock.patch.object(removal.Remover, 'remove', remove):
            rc, out, err = self.cli(*scenarios.REAP, '-f', 'yaml')
        self.assertEqual(1, rc, out + err)
        rows = yaml.safe_load(out)
        [row] = [r for r in rows if r['device'] == key]
        self.assertIn('removed, but referenced: domain instance-window '
                      '(shutoff) references it', row['result'])
        self.assertIn('mdevctl start -u %s' % key, row['result'])
