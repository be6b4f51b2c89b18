# SPDX-License-Identifier: Apache-2.0

"""The reaper on a GPU instance several vGPUs share (vendor-specific VFIO).

A simulated RTX PRO 6000 Blackwell: DC-2-12C is a time-sliced MIG-backed
type, up to four vGPUs on one 2g.48gb+gfx GPU instance, each on its own VF.
Three share the GPU instance at placement 0; a running guest holds the
first, the other two are orphans.  A fourth sits alone on the GPU instance
at placement 2.  Removing a vendor-VFIO vGPU writes 0 to its VF's
``current_vgpu_type``: its siblings and their GPU instance stay.
"""

import os

from nova_mig import exception
from nova_mig.host import discovery
from nova_mig import ownership
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from nova_mig.reaper import reaper_run
from nova_mig.simulator import backend
from tests.functional.reaper import base
from tests.unit.reaper import fakes

HOSTNAME = 'compute-shared-gi'
GPU = '0000:62:00.0'
HELD, ORPHAN_A, ORPHAN_B = '0000:62:00.4', '0000:62:00.5', '0000:62:00.6'
ALONE = '0000:62:00.7'
HOST = '''version: 1
hostname: %s
device_mode: vendor-vfio
vgpu_manager: true
gpus:
  - model: RTX-PRO-6000-BSE
    pci_address: "%s"
    mig_mode: enabled
    sriov_vfs: 8
    gpu_instances:
      - {profile: 2g.48gb+gfx, placement: 0}
      - {profile: 2g.48gb+gfx, placement: 2}
vgpus:
  - {type: DC-2-12C, parent: "%s", gpu_instance: 0}
  - {type: DC-2-12C, parent: "%s", gpu_instance: 0}
  - {type: DC-2-12C, parent: "%s", gpu_instance: 0}
  - {type: DC-2-12C, parent: "%s", gpu_instance: 2}
domains:
  - name: instance-00000501
    display_name: notebook-1
    state: running
    pci_hostdevs: ["%s"]
''' % (HOSTNAME, GPU, HELD, ORPHAN_A, ORPHAN_B, ALONE, HELD)
#: Every check but the type's: Nova's configuration here is about mdevs.
POLICY = decide.Policy(grace_period=600, all_unassigned=True)


class TestReaperSharedGpuInstance(base.ReaperTestCase):

    def setUp(self):
        super().setUp()
        path = os.path.join(self.tmpdir, 'shared-gi.yaml')
        with open(path, 'w') as f:
            f.write(HOST)
        self.flags(host_file=path, group='simulator')
        self.backend = backend.SimulatedBackend(self.conf)
        self.placement = fakes.FakePlacement(hostname=HOSTNAME,
                                             parents=(GPU,))

    def gatherer(self):
        return evidence.Gatherer(self.conf, self.backend,
                                 placement=self.placement, clock=self.clock)

    def decisions(self, policy=POLICY) -> dict[str, decide.Decision]:
        host = self.gatherer().gather()
        return {d.facts.key: d for d in decide.decide(host.devices, policy)}

    def reap(self, policy=POLICY, only=None) -> reaper_run.RunResult:
        return reaper_run.Reaper(self.conf, self.backend, policy,
                                 gatherer=self.gatherer(), only=only).run(
                                     apply=True)

    def on_gpu_instances(self) -> dict[str, tuple[int | None, str | None]]:
        """VF -> (placement start of its GPU instance, type name)."""
        report = discovery.discover(self.backend)
        (gpu,) = report.gpus
        starts = {gi.id: gi.placement.start for gi in gpu.gpu_instances}
        return {d['parent']: (starts.get(d['gpu_instance_id']),
                              d['type_name'])
                for d in report.vgpu_devices()}

    def gpu_instances(self) -> list[int]:
        (gpu,) = discovery.discover(self.backend).gpus
        return sorted(gi.placement.start for gi in gpu.gpu_instances)

    def test_three_share_one_gpu_instance(self):
        # What the tests below stand on: three vGPUs, one GPU instance.
        placed = self.on_gpu_instances()
        self.assertEqual({HELD: 0, ORPHAN_A: 0, ORPHAN_B: 0, ALONE: 2},
                         {vf: start for vf, (start, _) in placed.items()})

    def test_foreign_orphans_are_kept(self):
        decisions = self.decisions()
        self.assertEqual({HELD, ORPHAN_A, ORPHAN_B, ALONE}, set(decisions))
        self.assertFalse(any(d.remove for d in decisions.values()))
        self.assertIn('used by domain instance-00000501 (running)',
                      decisions[HELD].reasons)
        for vf in (ORPHAN_A, ORPHAN_B):
            self.assertEqual(
                ('not created by nova-mig (foreign; see --include-foreign)',),
                decisions[vf].reasons)

    def test_in_use_kept_with_its_reason_orphans_removed(self):
        self.own(HELD, ORPHAN_A, ORPHAN_B, ALONE)
        decisions = self.decisions()
        # nova-mig made it, and still a guest's: kept, and only for that.
        self.assertEqual(decide.KEEP, decisions[HELD].decision)
        self.assertEqual(('used by domain instance-00000501 (running)',),
                         decisions[HELD].reasons)
        for vf in (ORPHAN_A, ORPHAN_B, ALONE):
            self.assertTrue(decisions[vf].remove, decisions[vf].reasons)

        result = self.reap()
        self.assertFalse(result.failed)
        self.assertEqual(sorted([ORPHAN_A, ORPHAN_B, ALONE]),
                         sorted(result.removed()))
        # The guest's vGPU stays on its GPU instance; no GPU instance goes.
        self.assertEqual({HELD: (0, 'NVIDIA RTX Pro 6000 Blackwell '
                                    'DC-2-12C')},
                         self.on_gpu_instances())
        self.assertEqual([0, 2], self.gpu_instances())
        record = ownership.OwnershipRecord(self.conf.host.state_dir)
        self.assertTrue(record.owns(HELD))
        self.assertFalse(record.owns(ORPHAN_A))

    def test_honest_conditions_keep_each_orphan(self):
        self.own(HELD, ORPHAN_A)
        self.own(ORPHAN_B, age=10)
        group = os.path.basename(os.readlink(os.path.join(
            self.backend.sysfs_root(), 'bus', 'pci', 'devices', ORPHAN_A,
            'iommu_group')))
        self.hold_open(4343, os.path.join(self.dev, 'vfio', group))
        decisions = self.decisions()
        self.assertIn('held open by pid 4343', decisions[ORPHAN_A].reasons)
        self.assertTrue(any(r.startswith('younger than the grace period')
                            for r in decisions[ORPHAN_B].reasons))
        result = self.reap()
        self.assertEqual([], result.removed())
        self.assertEqual({HELD, ORPHAN_A, ORPHAN_B, ALONE},
                         set(self.on_gpu_instances()))

    def test_unknown_placement_keeps_the_orphans(self):
        self.own(ORPHAN_A, ORPHAN_B)
        self.placement = fakes.FakePlacement(hostname=HOSTNAME,
                                             parents=(GPU,),
                                             error=exception.
                                             PlacementUnreachable(
                                                 url='http://p',
                                                 reason='down'))
        decisions = self.decisions()
        for vf in (ORPHAN_A, ORPHAN_B):
            self.assertFalse(decisions[vf].remove)
            self.assertTrue(any(r.startswith('Placement allocations unknown')
                                for r in decisions[vf].reasons))

    def test_in_flight_allocation_on_the_gpu_keeps_the_orphans(self):
        self.own(ORPHAN_A, ORPHAN_B)
        self.placement = fakes.FakePlacement(
            hostname=HOSTNAME, parents=(GPU,),
            allocations={GPU: {'0e000000-0000-4000-8000-00000000000b': 1}})
        decisions = self.decisions()
        for vf in (ORPHAN_A, ORPHAN_B):
            self.assertFalse(decisions[vf].remove)
            self.assertTrue(any('being built or migrated' in r
                                for r in decisions[vf].reasons))

    def test_removing_one_leaves_its_siblings_alone(self):
        self.own(HELD, ORPHAN_A, ORPHAN_B)
        before = self.on_gpu_instances()
        sysfs = os.path.join(self.backend.sysfs_root(), 'bus', 'pci',
                             'devices')

        def vf_files(vf):
            names = ('current_vgpu_type', 'gpu_instance_id', 'placement_id')
            values = []
            for name in names:
                with open(os.path.join(sysfs, vf, 'nvidia', name)) as f:
                    values.append(f.read().strip())
            return values

        siblings = {vf: vf_files(vf) for vf in (HELD, ORPHAN_B)}
        result = self.reap(only={ORPHAN_A})
        self.assertEqual([ORPHAN_A], result.removed())
        self.assertEqual(1, len(result.outcomes))
        after = self.on_gpu_instances()
        self.assertNotIn(ORPHAN_A, after)
        for vf in (HELD, ORPHAN_B, ALONE):
            self.assertEqual(before[vf], after[vf], vf)
        self.assertEqual(siblings, {vf: vf_files(vf)
                                    for vf in (HELD, ORPHAN_B)})
        self.assertEqual([0, 2], self.gpu_instances())
        with open(os.path.join(sysfs, ORPHAN_A, 'nvidia',
                               'current_vgpu_type')) as f:
            self.assertEqual('0', f.read().strip())
        # The GPU instance has room again: the freed VF offers the type.
        with open(os.path.join(sysfs, ORPHAN_A, 'nvidia',
                               'creatable_vgpu_types')) as f:
            self.assertIn('DC-2-12C', f.read())
