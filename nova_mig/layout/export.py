# SPDX-License-Identifier: Apache-2.0

"""Describe the current host as a layout (``nova-mig layout export``).

The export is exact: every GPU by PCI address, every GPU instance with its
placement, every vGPU device with its type, VF and (in mdev mode) UUID, so
applying it after a reboot re-creates the same geometry and devices.
"""

import collections

from nova_mig.layout import current
from nova_mig.layout import spec
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records


def _device(dev: current.HostDevice) -> spec.VgpuSpec:
    return spec.VgpuSpec(uuid=dev.uuid, type=dev.type_name, vf=dev.vf)


def _mig(gpu: gpu_records.Gpu, devices: list[current.HostDevice]
         ) -> tuple[spec.GiSpec, ...]:
    on_gi: dict[int, list[current.HostDevice]] = {}
    for dev in devices:
        if dev.gi_start is not None:
            on_gi.setdefault(dev.gi_start, []).append(dev)
    result = []
    for gi in sorted(gpu.gpu_instances, key=lambda g: g.placement.start):
        devs = on_gi.get(gi.placement.start, [])
        if len(devs) > 1:
            # A shared instance: its vGPUs by count and type.
            result.append(spec.GiSpec(
                profile=gi.profile_name, placement=gi.placement.start,
                vgpu=spec.VgpuSpec(type=devs[0].type_name),
                vgpus=len(devs),
                compute_instance=bool(gi.compute_instances)))
            continue
        result.append(spec.GiSpec(
            profile=gi.profile_name, placement=gi.placement.start,
            vgpu=_device(devs[0]) if devs else False,
            compute_instance=bool(gi.compute_instances)))
    return tuple(result)


def _time_sliced(devices: list[current.HostDevice]
                 ) -> spec.TimeSlicedSpec | None:
    if not devices:
        return None
    names = collections.Counter(d.type_name for d in devices)
    name = names.most_common(1)[0][0]
    chosen = [d for d in devices if d.type_name == name]
    return spec.TimeSlicedSpec(
        type=name or '', count=len(chosen),
        devices=tuple(_device(d) for d in chosen))


def gpu_spec(report: host_records.HostReport, gpu: gpu_records.Gpu
             ) -> spec.GpuSpec:
    """The exact layout entry of one GPU as it is now."""
    devices = current.devices(report, gpu)
    pf = report.sriov.get(gpu.pci_address)
    mode = (report.device_mode if report.device_mode != constants.MODE_NONE
            else constants.MODE_AUTO)
    # The mode the GPU has after its next reset: a pending change is kept,
    # so a restore after a reboot does not undo it.
    mig = (gpu.mig_pending == gpu_records.MIG_ENABLED if gpu.mig_capable
           else None)
    comment = '%s %s' % (gpu.name, gpu.uuid)
    if gpu.mig_capable and gpu.mig_pending != gpu.mig_current:
        comment += '; MIG %s pending a GPU reset' % (
            'enabled' if mig else 'disabled')
    return spec.GpuSpec(
        selector=spec.Selector(pci_address=gpu.pci_address),
        where='gpus[%d]' % gpu.index,
        comment=comment,
        mig=mig, device_mode=mode,
        sriov_vfs=pf.num_vfs if pf and pf.total_vfs else None,
        vgpus='none' if mig else 'all',
        gpu_instances=_mig(gpu, devices) if mig else None,
        time_sliced=None if mig else _time_sliced(devices))


def export(report: host_records.HostReport,
           source: str = '<export>') -> spec.Layout:
    """The whole host as a layout."""
    return spec.Layout(
        gpus=tuple(gpu_spec(report, gpu) for gpu in report.gpus),
        source=source,
        description='Exported from host %s by nova-mig' % report.hostname)
