# SPDX-License-Identifier: Apache-2.0

"""Write a discovered host as a simulated-host file, to replay it anywhere.

``nova-mig discover --host-file OUT`` captures a real host (read-only) so an
operator can attach it to a bug report: the GPUs with what the GPU backend
reports about them (MIG profiles and placements, vGPU types with their
GPU-instance profile IDs and per-instance maxima), the GPU and compute
instances, the SR-IOV VFs, the vGPU devices and the libvirt domains.  The
GPU models travel in the file's own ``models`` section, in the form of the
simulator's catalog, so the file replays on hosts whose catalog does not
know the card.  Format: ``doc/source/reference/simulated-host.rst``; the
version, schema and writer: :mod:`nova_mig.documents.simulated_host_file`.
"""

import re
import typing

from nova_mig.documents import simulated_host_file
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types

#: Prefix of the model keys of a captured host.
MODEL_PREFIX = 'captured-'

Document = dict[str, typing.Any]


def model_key(gpu: gpu_records.Gpu) -> str:
    """``captured-NVIDIA-A100-80GB-PCIe-20B510DE``: one key per card model."""
    slug = re.sub(r'[^A-Za-z0-9]+', '-', gpu.name).strip('-')
    return '%s%s-%08X' % (MODEL_PREFIX, slug, gpu.pci_device_id)


def _profile(profile: gpu_records.GpuInstanceProfile) -> Document:
    return {'id': profile.id, 'name': profile.name,
            'slices': profile.slice_count, 'memory_mb': profile.memory_mb,
            'instances': profile.instance_count,
            'multiprocessors': profile.multiprocessor_count,
            'placements': ' '.join('%d:%d' % (p.start, p.size)
                                   for p in profile.placements)}


def _type_id(type_id: str) -> int | None:
    """``nvidia-699`` or ``699`` -> 699."""
    digits = type_id.rsplit('-', 1)[-1]
    return int(digits) if digits.isdigit() else None


def _framebuffer_mb(description: dict[str, str]) -> int:
    value = description.get('framebuffer', '0').rstrip('M')
    return int(value) if value.isdigit() else 0


def _sysfs_types(report: host_records.HostReport,
                 gpu: gpu_records.Gpu) -> list[Document]:
    """vGPU types from the parents' sysfs files (no NVML answer)."""
    profiles = {p.name: p.id for p in gpu.profiles}
    found: dict[int, Document] = {}
    for parent in report.parents:
        if parent.pf_address != gpu.pci_address:
            continue
        for mtype in parent.types:
            type_id = _type_id(mtype.id)
            if type_id is None or type_id in found:
                continue
            # The one place that decides (NVML first, the name rule
            # when the GPU has no NVML record).
            profile = vgpu_types.backing(mtype.name, gpu).profile
            maximum = mtype.description.get('max_instance', '1')
            found[type_id] = {
                'id': type_id, 'name': mtype.name,
                'gpu_instance_profile': (profiles.get(profile)
                                         if profile else None),
                'framebuffer_mb': _framebuffer_mb(mtype.description),
                'max_instances': int(maximum) if maximum.isdigit() else 1}
    return [found[k] for k in sorted(found)]


def _vgpu_type(vtype: gpu_records.VgpuType) -> Document:
    entry: Document = {
        'id': vtype.id, 'name': vtype.name,
        'gpu_instance_profile': vtype.gpu_instance_profile_id,
        'framebuffer_mb': vtype.framebuffer_mb,
        'max_instances': vtype.max_instances}
    if vtype.max_instances_per_gi is not None:
        entry['max_instances_per_gi'] = vtype.max_instances_per_gi
    return entry


def _model(report: host_records.HostReport, gpu: gpu_records.Gpu) -> Document:
    if gpu.vgpu_types is not None:
        types = [_vgpu_type(t) for t in gpu.vgpu_types]
    else:
        types = _sysfs_types(report, gpu)
    boards = [p.board for p in (vgpu_types.parse(t['name']) for t in types)
              if p is not None]
    pf = report.sriov.get(gpu.pci_address)
    slices = host_records.memory_slices(gpu)
    return {
        'description': 'captured from %s' % report.hostname,
        'nvml_name': gpu.name,
        'pci_device_id': '0x%08X' % gpu.pci_device_id,
        'memory_total_mb': gpu.memory_total_mb,
        'compute_capability': '%d.%d' % gpu.compute_capability,
        'board': boards[0] if boards else 'CAPTURED',
        'memory_slices': slices or None,
        'sriov_totalvfs': pf.total_vfs if pf else 0,
        'mig_profile_table': None,
        'mig_profiles': [_profile(p) for p in gpu.profiles],
        'vgpu_types': types,
    }


def _gpu_uuid(uuid: str) -> str:
    """``GPU-<lower-case UUID>``, as the host file spells it."""
    prefix, _sep, rest = uuid.partition('-')
    return '%s-%s' % (prefix.upper(), rest.lower())


def _gpu(report: host_records.HostReport, gpu: gpu_records.Gpu) -> Document:
    pf = report.sriov.get(gpu.pci_address)
    entry: Document = {
        'model': model_key(gpu),
        'pci_address': gpu.pci_address,
        'uuid': _gpu_uuid(gpu.uuid),
        'mig_mode': {'current': host_records.mig_word(gpu.mig_current),
                     'pending': host_records.mig_word(gpu.mig_pending)},
        'sriov_vfs': pf.num_vfs if pf else 0,
    }
    # Created in ID order, the replayed instances get the same IDs when
    # the captured ones were numbered from 1 without gaps.
    instances = sorted(gpu.gpu_instances, key=lambda gi: gi.id)
    if instances:
        entry['gpu_instances'] = [{
            'profile': gi.profile_name,
            'placement': gi.placement.start,
            'compute_instances': 1 if gi.compute_instances else 0,
            'processes': list(gi.processes),
        } for gi in instances]
    return entry


def _vgpus(report: host_records.HostReport) -> list[Document]:
    result = []
    for device in report.vgpu_devices():
        entry: Document = {}
        if device['uuid']:
            entry['uuid'] = device['uuid']
        entry['type'] = vgpu_types.bare_name(device['type_name'] or
                                             device['type'])
        entry['parent'] = device['parent']
        gpu = report.gpu_by_address(device['gpu'])
        gi_id = device['gpu_instance_id']
        if gpu is not None and gi_id is not None:
            for gi in gpu.gpu_instances:
                if gi.id == gi_id:
                    entry['gpu_instance'] = gi.placement.start
        result.append(entry)
    return result


def _domain(domain: host_records.Domain) -> Document:
    return {'name': domain.name, 'uuid': domain.uuid,
            'state': domain.state if domain.state in ('running', 'paused')
            else 'shutoff',
            'nova': domain.nova_instance,
            'mdevs': list(domain.mdev_uuids),
            'pci_hostdevs': list(domain.pci_addresses)}


def _node_name_form(report: host_records.HostReport) -> str:
    for device in report.node_devices:
        if device.name == constants.libvirt_mdev_name(device.uuid):
            return 'uuid'
    return 'uuid_parent'


def host_file(report: host_records.HostReport) -> Document:
    """The simulated-host document of a discovered host."""
    models: dict[str, Document] = {}
    for gpu in report.gpus:
        models.setdefault(model_key(gpu), _model(report, gpu))
    mode = (report.device_mode if report.device_mode in
            constants.DEVICE_MODES else constants.MODE_MDEV)
    return {
        'version': simulated_host_file.VERSION,
        'hostname': report.hostname,
        'device_mode': mode,
        'vgpu_manager': any(g.vgpu_types is not None for g in report.gpus)
        or bool(report.parents),
        'libvirt': {'mdev_node_name': _node_name_form(report)},
        'models': models,
        'gpus': [_gpu(report, g) for g in report.gpus],
        'vgpus': _vgpus(report),
        'domains': [_domain(d) for d in report.domains],
    }
