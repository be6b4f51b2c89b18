# SPDX-License-Identifier: Apache-2.0

"""GPUs for the layout unit tests, built from the simulator's catalog."""

from nova_mig.model import constants
from nova_mig.model import gpu as gpu_model
from nova_mig.model import host as host_model
from nova_mig.simulator import catalog


def gpu(model: str = 'A100-PCIE-80GB', index: int = 0,
        gpu_instances=()) -> gpu_model.Gpu:
    entry = catalog.default_catalog().get(model)
    return gpu_model.Gpu(
        index=index, pci_address='0000:%02x:00.0' % (0x41 + index),
        uuid='GPU-00000000-0000-4000-8000-%012d' % index,
        name=entry.nvml_name, pci_device_id=entry.pci_device_id,
        memory_total_mb=entry.memory_total_mb,
        compute_capability=entry.compute_capability,
        mig_current=gpu_model.MIG_ENABLED, mig_pending=gpu_model.MIG_ENABLED,
        profiles=entry.profiles, gpu_instances=tuple(gpu_instances),
        vgpu_types=entry.vgpu_types)


def gi(card: gpu_model.Gpu, gi_id: int, profile: str,
       start: int) -> gpu_model.GpuInstance:
    prof = card.profile_by_name(profile)
    return gpu_model.GpuInstance(
        id=gi_id, profile_id=prof.id, profile_name=prof.name,
        placement=gpu_model.Placement(start, prof.placements[0].size),
        compute_instances=(gpu_model.ComputeInstance(0, 0),))


def report(*gpus: gpu_model.Gpu) -> host_model.HostReport:
    """A host without vGPU devices, SR-IOV or domains."""
    return host_model.HostReport(
        hostname='h', device_mode=constants.MODE_NONE, gpus=list(gpus),
        parents=[], mdevs=[], sriov={}, domains=[], node_devices=[])
