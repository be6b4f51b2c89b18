# SPDX-License-Identifier: Apache-2.0

"""A vendor-VFIO vGPU is owned by what it is, not by the VF it is on."""

import os

import yaml

from nova_mig.layout import layout_apply
from nova_mig.layout import schema
from nova_mig import ownership
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from tests.functional.reaper import base

VF_1G = '0000:1b:00.5'


class TestVendorVfioIdentity(base.ReaperTestCase):

    host_file = base.VENDOR_VFIO

    def setUp(self):
        super().setUp()
        self.flags(proc_root=self.proc, group='reaper')
        path = os.path.join(self.tmpdir, 'layout.yaml')
        with open(path, 'w') as f:
            yaml.safe_dump({'version': 1, 'gpus': [
                {'select': {'pci_address': '0000:1b:00.0'},
                 'mig': 'enabled', 'sriov_vfs': 16,
                 'gpu_instances': [
                     {'profile': '2g.35gb', 'placement': 0,
                      'vgpu': {'type': 'H200X-2-35C', 'vf': 2}},
                     {'profile': '1g.18gb', 'placement': 2,
                      'vgpu': {'type': 'H200X-1-18C', 'vf': 0}},
                     {'profile': '1g.18gb', 'placement': 3,
                      'vgpu': {'type': 'H200X-1-18C', 'vf': 1}},
                     {'profile': '1g.18gb', 'placement': 4,
                      'vgpu': {'type': 'H200X-1-18C'}},
                     {'profile': '1g.18gb', 'placement': 5, 'vgpu': False},
                     {'profile': '1g.35gb', 'placement': 6,
                      'vgpu': False}]}]}, f)
        before = {v['parent'] for v in self.backend.host.load().vgpus}
        result = layout_apply.apply(self.backend, self.conf, schema.load(path))
        self.assertTrue(result.ok, result.gpus)
        made = {v['parent'] for v in self.backend.host.load().vgpus}
        (self.vf,) = made - before
        self.record = ownership.OwnershipRecord(self.conf.host.state_dir)
        self.own_old()

    def own_old(self):
        """Make nova-mig's vGPU an hour old, past the grace period."""
        entry = self.record.get(self.vf)
        self.record.add(self.vf, created_at=base.fakes.iso(
            self.clock() - 3600))
        self.entry = entry

    def decision(self) -> decide.Decision:
        gatherer = evidence.Gatherer(self.conf, self.backend, placement=False,
                                     clock=self.clock)
        policy = decide.Policy(grace_period=600, all_unassigned=True,
                               skip_placement_check=True)
        found = [f for f in gatherer.gather().devices if f.key == self.vf]
        return decide.decide_one(found[0], policy)

    def recreate(self) -> None:
        """Another tool writes 0, then the same type, to the VF."""
        path = os.path.join(self.backend.sysfs_root(), 'bus', 'pci',
                            'devices', self.vf, 'nvidia',
                            'current_vgpu_type')
        with open(path) as f:
            type_id = f.read().strip()
        writer = self.backend.sysfs_writer()
        writer.write(path, '0')
        writer.write(path, type_id)

    def test_recorded_with_the_driver_identity(self):
        host = self.backend.host.load()
        (vgpu,) = host.vgpus_on(self.vf)
        self.assertEqual(vgpu['uuid'], self.entry['vgpu_uuid'])
        self.assertEqual(str(vgpu['type_id']), self.entry['type_id'])
        self.assertNotIn('state', self.entry)

    def test_own_vgpu_is_removable(self):
        decision = self.decision()
        self.assertTrue(decision.remove, decision.reasons)
        self.assertIn('created by nova-mig', decision.reasons)

    def test_recreated_vgpu_is_foreign_with_its_own_age(self):
        self.decision_before = self.decision()
        self.recreate()
        decision = self.decision()
        self.assertFalse(decision.remove)
        self.assertIn('not created by nova-mig (foreign; see '
                      '--include-foreign)', decision.reasons)
        # Its age is its own (the VF's sysfs), not nova-mig's record.
        self.assertEqual('sysfs ctime', decision.facts.age_source)
        self.assertEqual('ownership record',
                         self.decision_before.facts.age_source)

    def test_foreign_vf_is_never_planned_for_a_new_vgpu_in_use(self):
        # VF 0 and 2 are referenced by guests: nova-mig chose another.
        self.assertNotIn(self.vf, ('0000:1b:00.4', '0000:1b:00.6'))
        self.assertNotEqual(VF_1G, self.vf)
