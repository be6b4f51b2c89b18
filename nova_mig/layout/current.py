# SPDX-License-Identifier: Apache-2.0

"""What a GPU carries now: vGPU devices tied to their GPU instances and VFs."""

import collections
import dataclasses

from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types


@dataclasses.dataclass(frozen=True)
class HostDevice:
    """An existing vGPU device of a GPU."""

    #: The mdev UUID, or the VF address in vendor-VFIO mode.
    key: str
    uuid: str | None
    parent: str
    #: Index of the parent VF on its PF; None when the PF is the parent.
    vf: int | None
    type_name: str | None
    type_id: str | None
    #: Placement start of the GPU instance it runs on (MIG-backed).
    gi_start: int | None
    domains: tuple[str, ...]
    node_device: str | None
    vendor_vfio: bool = False

    @property
    def in_use(self) -> bool:
        return bool(self.domains)

    def describe(self) -> str:
        name = self.uuid or 'vGPU'
        return '%s (%s on %s)' % (name, self.type_name or self.type_id,
                                  self.parent)


def vf_index(report: host_records.HostReport, gpu: gpu_records.Gpu,
             address: str) -> int | None:
    pf = report.sriov.get(gpu.pci_address)
    if pf is None or address not in pf.vfs:
        return None
    return pf.vfs.index(address)


def _gi_starts(gpu: gpu_records.Gpu) -> dict[int, int]:
    return {gi.id: gi.placement.start for gi in gpu.gpu_instances}


def devices(report: host_records.HostReport, gpu: gpu_records.Gpu
            ) -> list[HostDevice]:
    """The vGPU devices of one GPU, each tied to its GPU instance."""
    starts = _gi_starts(gpu)
    by_uuid = {a.mdev_uuid: a for a in gpu.active_vgpus if a.mdev_uuid}
    by_parent = {a.parent: a for a in gpu.active_vgpus if a.parent}
    result = []
    unplaced = []
    for dev in report.vgpu_devices():
        if dev['gpu'] != gpu.pci_address:
            continue
        uuid = dev['uuid']
        vendor = uuid is None
        active = (by_parent.get(dev['parent']) if uuid is None
                  else by_uuid.get(uuid))
        # NVML's answer first, else the VF's nvidia/gpu_instance_id (the
        # report's own rule), else a guess by profile below.
        gi_id = (active.gpu_instance_id if active is not None
                 and active.gpu_instance_id is not None
                 else dev['gpu_instance_id'])
        name = dev['type_name']
        item = HostDevice(
            key=dev['parent'] if uuid is None else uuid,
            uuid=uuid,
            parent=dev['parent'],
            vf=vf_index(report, gpu, dev['parent']),
            type_name=vgpu_types.bare_name(name) if name else None,
            type_id=dev['type'],
            gi_start=starts.get(gi_id) if gi_id is not None else None,
            domains=tuple(dev['domains']),
            node_device=dev['libvirt_node_device'],
            vendor_vfio=vendor)
        if item.gi_start is None and dev['profile']:
            unplaced.append(item)
        else:
            result.append(item)
    result += _place_by_profile(gpu, result, unplaced)
    return sorted(result, key=lambda d: (d.gi_start is None,
                                         d.gi_start or 0, d.vf or 0,
                                         d.key))


def _place_by_profile(gpu: gpu_records.Gpu, placed: list[HostDevice],
                      unplaced: list[HostDevice]) -> list[HostDevice]:
    """Tie MIG-backed devices NVML did not place to GPU instances.

    Where the driver does not say which GPU instance a vendor-VFIO vGPU
    runs on, devices are matched to the instances of their profile with
    room left (one vGPU, or the type's per-instance maximum) in placement
    order, the order in which they are created.
    """
    taken = collections.Counter(d.gi_start for d in placed
                                if d.gi_start is not None)
    result = []
    for dev in sorted(unplaced, key=lambda d: (d.vf or 0, d.key)):
        backing = vgpu_types.backing(dev.type_name or '', gpu)
        free = sorted(gi.placement.start for gi in gpu.gpu_instances
                      if gi.profile_name == backing.profile and
                      taken[gi.placement.start] < backing.per_gpu_instance)
        start = free[0] if free else None
        if start is not None:
            taken[start] += 1
        result.append(dataclasses.replace(dev, gi_start=start))
    return result


def vf_holders(report: host_records.HostReport, devices: list[HostDevice],
               kept: list[HostDevice], pf: host_records.SriovPf,
               want: int) -> list[str]:
    """What a change of a GPU's VF count (through 0) would destroy.

    Every VF goes, also one with no vGPU: a guest (even shut off) that
    references it would lose its device, and the vGPU devices the layout
    keeps would go. The removal of a VF's vGPU device names the guests of
    a VF that carries one.

    :param devices: the GPU's vGPU devices (:func:`devices`).
    :param kept: those the layout keeps.
    """
    now = pf.num_vfs
    blockers = []
    if kept:
        blockers.append('changing the VF count (%d -> %d) removes every VF, '
                        'and %s stay' % (now, want, ', '.join(
                            d.describe() for d in kept)))
    named = {d.parent for d in devices if d.in_use}
    return blockers + [
        'domain %s (%s%s) references VF %s, which the VF-count change '
        '(%d -> %d) removes (seen when the plan was made)'
        % (dom.name, dom.state, '' if dom.nova_instance else
           ', not a Nova instance', vf, now, want)
        for vf in pf.vfs if vf not in named
        for dom in report.domains if vf in dom.pci_addresses]
