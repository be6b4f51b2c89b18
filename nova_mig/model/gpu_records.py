# SPDX-License-Identifier: Apache-2.0

"""The host's GPU data model: GPUs, MIG profiles, GPU and compute instances.

Plain frozen dataclasses, as NVML reports them, so nothing above the GPU
backends ever sees ``pynvml`` objects.
"""

import dataclasses

#: MIG mode values as NVML reports them.
MIG_DISABLED = 0
MIG_ENABLED = 1


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a GPU instance sits, in memory slices."""

    start: int
    size: int

    @property
    def slices(self) -> range:
        return range(self.start, self.start + self.size)

    def overlaps(self, other: 'Placement') -> bool:
        return (self.start < other.start + other.size and
                other.start < self.start + self.size)


@dataclasses.dataclass(frozen=True)
class GpuInstanceProfile:
    """A GPU-instance profile a card supports (``nvidia-smi mig -lgip``)."""

    id: int
    name: str                 # as NVIDIA names it on this GPU: "1g.10gb+me"
    slice_count: int          # compute slices
    memory_mb: int
    instance_count: int       # max instances of this profile on the GPU
    multiprocessor_count: int
    placements: tuple[Placement, ...]

    @property
    def media_extensions(self) -> bool:
        """True for the profiles of which a GPU holds at most one."""
        return '+me' in self.name


@dataclasses.dataclass(frozen=True)
class ComputeInstance:
    id: int
    profile_id: int


@dataclasses.dataclass(frozen=True)
class GpuInstance:
    """An existing GPU instance (``nvidia-smi mig -lgi``)."""

    id: int
    profile_id: int
    profile_name: str
    placement: Placement
    compute_instances: tuple[ComputeInstance, ...] = ()
    #: PIDs of processes NVML reports on this GPU instance.
    processes: tuple[int, ...] = ()
    #: vGPU type IDs the driver can create on it now
    #: (nvmlGpuInstanceGetCreatableVgpus); None where it cannot tell.
    creatable_vgpu_types: tuple[int, ...] | None = None


@dataclasses.dataclass(frozen=True)
class VgpuType:
    """A vGPU type as NVIDIA's vGPU manager reports it."""

    id: int                   # the suffix of the mdev type "nvidia-<id>"
    name: str                 # "NVIDIA A100D-1-10C"
    #: GPU-instance profile ID backing this type; None for time-sliced types.
    gpu_instance_profile_id: int | None
    framebuffer_mb: int
    max_instances: int
    #: vGPUs of this type one GPU instance holds (NVML's
    #: nvmlVgpuTypeGetMaxInstancesPerGpuInstance: above 1 for time-sliced
    #: MIG-backed types); None where the driver cannot tell, which means 1
    #: for a MIG-backed type.
    max_instances_per_gi: int | None = None
    #: False where the driver lacks nvmlVgpuTypeGetGpuInstanceProfileId
    #: (``gpu_instance_profile_id`` is then None without meaning
    #: time-sliced): the profile then comes from the type's name.
    profile_from_driver: bool = True


@dataclasses.dataclass(frozen=True)
class ActiveVgpu:
    """A vGPU the driver has placed on a GPU (``nvidia-smi vgpu -q``)."""

    #: None where NVML cannot tell (vendor-specific VFIO, old drivers).
    mdev_uuid: str | None
    type_id: int | None
    #: GPU instance it runs on, for MIG-backed vGPUs; None otherwise.
    gpu_instance_id: int | None
    #: PCI address of the function (VF or PF) carrying it, when known.
    parent: str | None = None


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One physical GPU."""

    index: int
    pci_address: str          # lower-case, as sysfs spells it: 0000:41:00.0
    uuid: str                 # "GPU-..."
    name: str                 # "NVIDIA A100 80GB PCIe"
    pci_device_id: int        # NVML's pciDeviceId, e.g. 0x20B510DE
    memory_total_mb: int
    compute_capability: tuple[int, int]
    mig_current: int
    mig_pending: int
    #: Profiles the card supports; empty when the card is not MIG capable.
    profiles: tuple[GpuInstanceProfile, ...] = ()
    gpu_instances: tuple[GpuInstance, ...] = ()
    #: vGPU types; None when no vGPU manager runs on the host.
    vgpu_types: tuple[VgpuType, ...] | None = None
    active_vgpus: tuple[ActiveVgpu, ...] = ()

    @property
    def mig_enabled(self) -> bool:
        return self.mig_current == MIG_ENABLED

    @property
    def mig_capable(self) -> bool:
        return bool(self.profiles)

    def profile(self, profile_id: int) -> GpuInstanceProfile | None:
        for profile in self.profiles:
            if profile.id == profile_id:
                return profile
        return None

    def profile_by_name(self, name: str) -> GpuInstanceProfile | None:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        return None
