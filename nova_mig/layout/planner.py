# SPDX-License-Identifier: Apache-2.0

"""The planner: the steps turning one GPU into its layout target.

It compares what the host has (:mod:`nova_mig.layout.current`) with what
the layout wants (:mod:`nova_mig.layout.gpu_targets`): what matches is kept,
the rest removed and created, in the order the driver needs, and each
device in use or not nova-mig's that a step would remove is a blocker.
"""

import logging
import typing

from nova_mig.layout import current
from nova_mig.layout import gpu_targets
from nova_mig.layout import step_types
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

_S = typing.TypeVar('_S', bound=step_types.Step)

#: A vGPU device to create: where it goes, and the profile backing it.
ToCreate = tuple[gpu_targets.DeviceTarget, gpu_records.Placement | None,
                 str | None]


#: A kept GPU instance's devices the layout does not want there, and the
#: wanted devices it lacks.
_GiMatch = tuple[list[current.HostDevice], list[gpu_targets.DeviceTarget]]


class GpuPlanner:
    """Builds the actions of one GPU."""

    def __init__(self, report: host_records.HostReport,
                 target: gpu_targets.GpuTarget,
                 owned: set[str] | None = None):
        self.report = report
        self.owned = owned
        self.target = target
        self.gpu = target.gpu
        self.devices = current.devices(report, target.gpu)
        self.removals: list[step_types.Step] = []
        self.gi_removals: list[step_types.Step] = []
        self.creations: list[step_types.Step] = []
        self.blockers: list[str] = []
        self.kept: list[current.HostDevice] = []

    def step(self, kind: type[_S], reason: str, **kw: typing.Any) -> _S:
        return kind(gpu=self.gpu.pci_address, gpu_uuid=self.gpu.uuid,
                    reason=reason, **kw)

    def remove(self, dev: current.HostDevice, reason: str) -> None:
        if dev.in_use:
            self.blockers += ['domain %s (vGPU %s)' % (d, dev.uuid or
                                                       dev.parent)
                              for d in dev.domains]
        elif self.owned is not None and (dev.uuid or dev.parent) \
                not in self.owned:
            # Nova creates an mdev before it defines the guest using it:
            # an unused device nova-mig did not make may be about to be
            # used by an instance being built.
            self.blockers.append(
                'vGPU %s not created by nova-mig (Nova may be about to use '
                'it; drain the host and pass --include-foreign)'
                % (dev.uuid or dev.parent))
        common = dict(type_name=dev.type_name, vf=dev.vf, parent=dev.parent)
        if dev.vendor_vfio or dev.uuid is None:
            self.removals.append(self.step(step_types.ClearVgpuType, reason,
                                           **common))
        else:
            self.removals.append(self.step(
                step_types.RemoveMdev, reason, uuid=dev.uuid,
                node_device=dev.node_device, **common))

    def destroy_gi(self, gi: gpu_records.GpuInstance, reason: str
                   ) -> list[step_types.Step]:
        """Destroy a GPU instance: its compute instances first."""
        found: list[step_types.Step] = [self.step(
            step_types.DestroyComputeInstance, reason, profile=gi.profile_name,
            placement=gi.placement, gi_id=gi.id, ci_id=ci.id)
            for ci in gi.compute_instances]
        return found + [self.step(
            step_types.DestroyGpuInstance, reason, profile=gi.profile_name,
            placement=gi.placement, gi_id=gi.id)]

    @staticmethod
    def matches(dev: current.HostDevice,
                want: gpu_targets.DeviceTarget) -> bool:
        if dev.type_name != want.type.name:
            return False
        if want.uuid_given and dev.uuid != want.uuid:
            return False
        return want.vf is None or dev.vf == want.vf

    # -- MIG geometry ------------------------------------------------------
    def match_on_gi(self, want: gpu_targets.GiTarget,
                    devs: list[current.HostDevice]) -> _GiMatch:
        """Match a kept GPU instance's vGPUs with those the layout wants.

        In-use devices are matched first.

        :returns: the devices the layout does not want there and the
            wanted ones missing.
        """
        missing = []
        left = sorted(devs, key=lambda d: (not d.in_use, d.vf or 0, d.key))
        for device in want.devices:
            dev = next((d for d in left if self.matches(d, device)), None)
            if dev is None:
                missing.append(device)
                continue
            left.remove(dev)
            self.kept.append(dev)
        return left, missing

    def driver_choice(self, matched: list[tuple[gpu_records.GpuInstance,
                                                _GiMatch]]) -> None:
        """Take the driver's choice of GPU instance among equal ones.

        Creating a MIG-backed vGPU names a VF and a type, not a GPU
        instance: where several instances of the profile have room, the
        driver picks one. A vGPU the layout wants on one instance that sits
        on another instance of the same profile is kept where it is, so a
        plan does not remove and create it again for ever.
        """
        for gi, (left, _) in matched:
            for dev in list(left):
                home = next(((other, missing, want)
                             for other, (_, missing) in matched
                             if other is not gi and
                             other.profile_id == gi.profile_id
                             for want in missing if self.matches(dev, want)),
                            None)
                if home is None:
                    continue
                other, missing, want = home
                missing.remove(want)
                left.remove(dev)
                self.kept.append(dev)
                LOG.info('vGPU %s sits on GPU instance %d (%s at %d), the '
                         'layout names the one at %d: kept as the driver '
                         'placed it', dev.uuid or dev.parent, gi.id,
                         gi.profile_name, gi.placement.start,
                         other.placement.start)

    def settle_gis(self, matched: list[tuple[gpu_records.GpuInstance,
                                             _GiMatch]],
                   wanted: dict[int, gpu_targets.GiTarget],
                   to_create: list[ToCreate]) -> None:
        """Remove what kept instances carry in excess, create what lacks."""
        self.driver_choice(matched)
        for gi, (left, missing) in matched:
            want = wanted[gi.placement.start]
            for dev in left:
                self.remove(dev, 'the layout wants %s on %s at %d' % (
                    '%d x vGPU %s' % (len(want.devices),
                                      want.devices[0].type.name)
                    if len(want.devices) > 1 else
                    'vGPU %s' % want.devices[0].type.name if want.devices
                    else 'no vGPU', gi.profile_name, gi.placement.start))
            to_create += [(d, gi.placement, gi.profile_name)
                          for d in missing]

    def mig(self, targets: list[gpu_targets.GiTarget]) -> list[ToCreate]:
        """Plan GPU instances; return the devices to create."""
        wanted = {gi.placement.start: gi for gi in targets}
        on_gi: dict[int, list[current.HostDevice]] = {}
        for dev in self.devices:
            if dev.gi_start is not None:
                on_gi.setdefault(dev.gi_start, []).append(dev)
        to_create: list[ToCreate] = []
        matched: list[tuple[gpu_records.GpuInstance, _GiMatch]] = []
        for gi in sorted(self.gpu.gpu_instances,
                         key=lambda g: g.placement.start):
            want = wanted.get(gi.placement.start)
            devs = on_gi.get(gi.placement.start, [])
            if want is not None and want.profile.id == gi.profile_id:
                matched.append((gi, self.match_on_gi(want, devs)))
                if not gi.compute_instances and want.compute_instance:
                    self.creations.append(self.step(
                        step_types.CreateComputeInstance,
                        'the GPU instance has '
                        'no compute instance', profile=gi.profile_name,
                        placement=gi.placement, gi_id=gi.id))
                continue
            reason = ('not in the layout' if want is None else
                      'the layout wants %s there' % want.profile.name)
            for dev in devs:
                self.remove(dev, 'its GPU instance is destroyed: ' + reason)
            if gi.processes:
                self.blockers.append('processes %s on GPU instance %d' % (
                    ', '.join(str(p) for p in gi.processes), gi.id))
            self.gi_removals += self.destroy_gi(gi, reason)
        self.settle_gis(matched, wanted, to_create)
        existing = {(g.profile_id, g.placement.start)
                    for g in self.gpu.gpu_instances}
        new = [t for t in targets
               if (t.profile.id, t.placement.start) not in existing]
        # Larger profiles first, as the card requires.
        new.sort(key=lambda t: (-t.placement.size, t.placement.start))
        for target in new:
            self.creations.append(self.step(
                step_types.CreateGpuInstance, 'wanted by the layout',
                profile=target.profile.name, profile_id=target.profile.id,
                placement=target.placement))
            if target.compute_instance:
                self.creations.append(self.step(
                    step_types.CreateComputeInstance,
                    'vGPUs and CUDA need its '
                    'compute instance', profile=target.profile.name,
                    placement=target.placement))
            to_create += [(d, target.placement, target.profile.name)
                          for d in target.devices]
        if self.target.mig is not False:
            for dev in self.devices:
                if dev.gi_start is None:
                    self.remove(dev, 'a time-sliced vGPU cannot run '
                                'beside MIG')
        return sorted(to_create, key=lambda item: (
            item[1].start if item[1] else 0))

    # -- time-sliced ----------------------------------------------------------
    def time_sliced(self, wanted: list[gpu_targets.DeviceTarget]
                    ) -> list[ToCreate]:
        left = [d for d in self.devices if d.gi_start is None]
        to_create: list[ToCreate] = []
        for want in [w for w in wanted if w.uuid_given]:
            dev = next((d for d in left if self.matches(d, want)), None)
            if dev:
                left.remove(dev)
                self.kept.append(dev)
            else:
                to_create.append((want, None, None))
        for want in [w for w in wanted if not w.uuid_given]:
            # In-use devices first, so an unused one is what goes.
            same = sorted((d for d in left if self.matches(d, want)),
                          key=lambda d: not d.in_use)
            if same:
                left.remove(same[0])
                self.kept.append(same[0])
            else:
                to_create.append((want, None, None))
        for dev in left:
            self.remove(dev, 'not in the layout (%d x %s wanted)' % (
                len(wanted), wanted[0].type.name if wanted else 'no vGPU'))
        return to_create

    # -- SR-IOV and parents ---------------------------------------------------
    def sriov(self) -> list[step_types.SetVfCount]:
        pf = self.report.sriov.get(self.gpu.pci_address)
        want = self.target.sriov_vfs
        if pf is None or want is None or want == pf.num_vfs:
            return []
        actions = []
        if pf.num_vfs:
            self.blockers += current.vf_holders(
                self.report, self.devices, self.kept, pf, want)
            actions.append(self.step(
                step_types.SetVfCount,
                'the VF count can only change through 0',
                count=0, vendor_vfio=self.vendor_vfio))
        if want:
            actions.append(self.step(
                step_types.SetVfCount, 'the layout wants %d VFs (one vGPU per '
                'VF)' % want, count=want, vendor_vfio=self.vendor_vfio))
        return actions

    @property
    def vendor_vfio(self) -> bool:
        return self.target.mode == constants.MODE_VENDOR_VFIO

    def driver_order(self, sriov: list[step_types.SetVfCount],
                     mig_actions: list[step_types.Step]
                     ) -> list[step_types.Step]:
        """Vendor-specific VFIO: the order NVIDIA's driver needs.

        MIG mode, then the VFs, then GPU and compute instances, then the
        VFs' vGPU types (vgpu-device-manager does the same): the driver
        refuses a MIG mode change while the PF has VFs, and enabling or
        disabling VFs (sriov-manage re-binds the PF) wipes its GPU
        instances. So the VFs go off before a MIG mode change and come
        back after it, and a kept GPU instance is destroyed before a VF
        change and created again after it (a kept vGPU blocks the change).
        """
        pf = self.report.sriov.get(self.gpu.pci_address)
        enabled = pf.num_vfs if pf is not None else 0
        off = [a for a in sriov if not a.count]
        on = [a for a in sriov if a.count]
        if mig_actions and enabled and not off:
            assert pf is not None
            self.blockers += current.vf_holders(
                self.report, self.devices, self.kept, pf, enabled)
            off = [self.step(
                step_types.SetVfCount,
                'the driver changes MIG mode only without '
                'VFs', count=0, vendor_vfio=True)]
            if not on:
                on = [self.step(
                    step_types.SetVfCount,
                    'the VFs come back after the MIG mode '
                    'change', count=enabled, vendor_vfio=True)]
        wiped: list[step_types.Step] = []
        again: list[step_types.OnGpuInstance] = []
        if off or on:
            gone = {a.gi_id for a in self.gi_removals
                    if isinstance(a, step_types.DestroyGpuInstance)}
            for gi in sorted(self.gpu.gpu_instances,
                             key=lambda g: (-g.placement.size,
                                            g.placement.start)):
                if gi.id in gone:
                    continue
                wiped += self.destroy_gi(
                    gi, 'the VF change re-binds the PF, which wipes it')
                again.append(self.step(
                    step_types.CreateGpuInstance, 'created again after the VF '
                    'change', profile=gi.profile_name,
                    profile_id=gi.profile_id, placement=gi.placement))
                again.append(self.step(
                    step_types.CreateComputeInstance,
                    'created again after the '
                    'VF change', profile=gi.profile_name,
                    placement=gi.placement))
            # A compute instance asked for on a kept GPU instance comes
            # with its re-creation.
            recreated = {a.placement for a in again}
            self.creations = [
                a for a in self.creations
                if not (isinstance(a, step_types.CreateComputeInstance) and
                        a.gi_id is not None and a.placement in recreated)]
        return (self.removals + self.gi_removals + wiped + off +
                mig_actions + on + again + self.creations)

    def vf_count(self) -> int:
        pf = self.report.sriov.get(self.gpu.pci_address)
        if pf is None:
            return 0
        return (self.target.sriov_vfs if self.target.sriov_vfs is not None
                else pf.num_vfs)

    def place(self, to_create: list[ToCreate]) -> None:
        pf = self.report.sriov.get(self.gpu.pci_address)
        vfs = pf.vfs if pf is not None and pf.total_vfs > 0 else None
        taken = {d.vf for d in self.kept if d.vf is not None}
        taken |= {w.vf for w, _p, _n in to_create if w.vf is not None}
        held = {a for dom in self.report.domains for a in dom.pci_addresses}
        free: list[tuple[int | None, str | None]] = []
        if pf is not None and vfs is not None:
            for index in range(self.vf_count()):
                address = (vfs[index] if index < len(vfs) and
                           self.target.sriov_vfs in (None, pf.num_vfs)
                           else None)
                if index not in taken and address not in held:
                    free.append((index, address))
        for want, placement, profile in to_create:
            vf: int | None
            parent: str | None
            if vfs is None:
                vf, parent = None, self.gpu.pci_address
            elif want.vf is not None:
                vf = want.vf
                parent = vfs[vf] if vf < len(vfs) else None
            else:
                vf, parent = free.pop(0) if free else (None, None)
            common = dict(profile=profile, placement=placement,
                          type_name=want.type.name, vf=vf, parent=parent,
                          vf_given=want.vf is not None)
            if want.uuid is None or self.vendor_vfio:
                self.creations.append(self.step(
                    step_types.SetVgpuType, 'wanted by the layout', **common))
            else:
                self.creations.append(self.step(
                    step_types.CreateMdev, 'wanted by the layout',
                    uuid=want.uuid, **common))

    def plan(self) -> tuple[list[step_types.Step], list[str]]:
        """The GPU's steps, in order, and what blocks them."""
        to_create: list[ToCreate] = []
        mig_actions: list[step_types.Step] = []
        gpu = self.gpu
        if self.target.gpu_instances is not None:
            to_create = self.mig(self.target.gpu_instances)
        if self.target.time_sliced is not None:
            to_create += self.time_sliced(self.target.time_sliced)
        # A mode change already pending (until the GPU's next reset) is
        # not asked for again when nothing else waits for it: the layout
        # holds once the GPU is reset (an exported or checkpointed layout
        # of a GPU with a pending change).
        waiting = (self.target.mig == (gpu.mig_pending ==
                                       gpu_records.MIG_ENABLED) and
                   not (self.creations or to_create))
        if self.target.mig is not None and \
                self.target.mig != gpu.mig_enabled and not waiting:
            mig_actions.append(self.step(
                step_types.SetMigMode, 'the layout wants MIG %s' % (
                    'enabled' if self.target.mig else 'disabled'),
                mig=self.target.mig))
        sriov = self.sriov()
        self.place(to_create)
        if self.vendor_vfio:
            return self.driver_order(sriov, mig_actions), self.blockers
        return (self.removals + self.gi_removals + list(sriov) +
                mig_actions + self.creations), self.blockers
