# SPDX-License-Identifier: Apache-2.0

"""Driver state of the fake NVML: cards, MIG instances, vGPU types."""

import dataclasses

#: NVML's "no GPU instance" / time-sliced profile ID.
INVALID_ID = 0xFFFFFFFF
#: The PID and the mdev of busy_a100().
PROCESS = 4242
MDEV = '1b2c3d4e-0000-4000-8000-000000000001'


@dataclasses.dataclass
class Profile:
    enum: int
    id: int
    name: str                    # as NVML spells it: "MIG 1g.10gb"
    slice_count: int
    instance_count: int
    memory_mb: int
    multiprocessor_count: int
    placements: list[tuple[int, int]]


@dataclasses.dataclass
class ComputeInstance:
    id: int
    profile_id: int
    slice_count: int
    processes: list[int] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class GpuInstance:
    id: int
    profile: Profile
    start: int
    size: int
    cis: dict[int, ComputeInstance] = dataclasses.field(default_factory=dict)

    def overlaps(self, start: int, size: int) -> bool:
        return self.start < start + size and start < self.start + self.size


@dataclasses.dataclass
class VgpuType:
    id: int
    name: str
    profile_id: int              # INVALID_ID for time-sliced types
    framebuffer_mb: int
    max_instances: int
    #: vGPUs of the type one GPU instance holds (3 for the time-sliced
    #: MIG-backed types of an RTX PRO 6000).
    max_per_gi: int = 1


@dataclasses.dataclass
class ActiveVgpu:
    id: int                      # nvmlVgpuInstance_t
    mdev_uuid: str
    type_id: int
    gpu_instance_id: int = INVALID_ID


@dataclasses.dataclass
class Gpu:
    uuid: str
    name: str
    bus_id: str                  # "00000000:41:00.0"
    pci_device_id: int
    memory_mb: int
    compute_capability: tuple[int, int]
    mig_capable: bool = False
    mig_current: int = 0
    mig_pending: int = 0
    profiles: list[Profile] = dataclasses.field(default_factory=list)
    gis: dict[int, GpuInstance] = dataclasses.field(default_factory=dict)
    #: None: no vGPU manager (NVML answers NOT_SUPPORTED).
    vgpu_types: list[VgpuType] | None = None
    active_vgpus: list[ActiveVgpu] = dataclasses.field(default_factory=list)
    max_mig_devices: int = 7

    def profile(self, profile_id: int) -> Profile | None:
        return next((p for p in self.profiles if p.id == profile_id), None)


# -- card models (NVIDIA MIG User Guide, "Supported MIG Profiles") ----------
#: A100-80GB: (enum, id, name, slices, instances, memory MiB, SMs,
#: placement starts, placement size).
_A100_80GB_PROFILES = (
    (0, 19, 'MIG 1g.10gb', 1, 7, 9728, 14, range(7), 1),
    (7, 20, 'MIG 1g.10gb+me', 1, 1, 9728, 14, range(7), 1),
    (9, 15, 'MIG 1g.20gb', 1, 4, 19968, 14, (0, 2, 4, 6), 2),
    (1, 14, 'MIG 2g.20gb', 2, 3, 19968, 28, (0, 2, 4), 2),
    (2, 9, 'MIG 3g.40gb', 3, 2, 40192, 42, (0, 4), 4),
    (3, 5, 'MIG 4g.40gb', 4, 1, 40192, 56, (0,), 4),
    (4, 0, 'MIG 7g.80gb', 7, 1, 80384, 98, (0,), 8),
)

#: vGPU types of an A100D (IDs made up: hosts must resolve names).
A100D_VGPU_TYPES = (
    (699, 'NVIDIA A100D-1-10C', 19, 10240, 7),
    (700, 'NVIDIA A100D-1-10CME', 20, 10240, 1),
    (701, 'NVIDIA A100D-2-20C', 14, 20480, 3),
    (702, 'NVIDIA A100D-3-40C', 9, 40960, 2),
    (703, 'NVIDIA A100D-7-80C', 0, 81920, 1),
    (710, 'NVIDIA A100D-20C', INVALID_ID, 20480, 4),
)


def a100_80gb(index: int = 0, mig: int = 1, vgpu: bool = True) -> Gpu:
    """An empty A100 80GB PCIe with MIG mode ``mig`` (current and pending).

    :param vgpu: whether NVIDIA's vGPU manager answers for the card.
    """
    profiles = [Profile(enum, pid, name, slices, count, memory, sms,
                        [(start, size) for start in starts])
                for (enum, pid, name, slices, count, memory, sms, starts,
                     size) in _A100_80GB_PROFILES]
    return Gpu(
        uuid='GPU-a100%04d-0000-4000-8000-000000000000' % index,
        name='NVIDIA A100 80GB PCIe',
        bus_id='00000000:%02X:00.0' % (0x41 + index),
        pci_device_id=0x20B510DE,
        memory_mb=81920,
        compute_capability=(8, 0),
        mig_capable=True, mig_current=mig, mig_pending=mig,
        profiles=profiles,
        vgpu_types=([VgpuType(*t) for t in A100D_VGPU_TYPES]
                    if vgpu else None))


def add_gpu_instance(gpu: Gpu, gi_id: int, profile_id: int, start: int,
                     cis: int = 1, processes: tuple[int, ...] = ()
                     ) -> GpuInstance:
    """Put a GPU instance (with ``cis`` full-size CIs) on a fake card."""
    profile = gpu.profile(profile_id)
    gi = GpuInstance(gi_id, profile, start, dict(profile.placements)[start])
    for ci_id in range(cis):
        # Full-size CI profile: its ID is the enum of its slice count.
        ci_profile = {1: 0, 2: 1, 3: 2, 4: 3, 7: 4}[profile.slice_count]
        gi.cis[ci_id] = ComputeInstance(ci_id, ci_profile,
                                        profile.slice_count,
                                        list(processes))
    gpu.gis[gi_id] = gi
    return gi


def busy_a100() -> Gpu:
    """A100 80GB, MIG on, three GPU instances and two vGPUs.

    3g.40gb@0 (a CI running a process, a MIG-backed vGPU), 2g.20gb@4 (a CI),
    1g.10gb@6 (no CI); a time-sliced vGPU.
    """
    gpu = a100_80gb()
    add_gpu_instance(gpu, 1, 9, 0, processes=(PROCESS,))
    add_gpu_instance(gpu, 2, 14, 4)
    add_gpu_instance(gpu, 3, 19, 6, cis=0)
    gpu.active_vgpus.append(ActiveVgpu(7, MDEV.upper(), 702, 1))
    gpu.active_vgpus.append(ActiveVgpu(8, MDEV[:-1] + '2', 710))
    return gpu


def t4(index: int = 1) -> Gpu:
    """A Tesla T4: no MIG at all."""
    return Gpu(
        uuid='GPU-7e540000-0000-4000-8000-%012d' % index,
        name='Tesla T4',
        bus_id='00000000:%02X:00.0' % (0x81 + index),
        pci_device_id=0x1EB810DE,
        memory_mb=15360,
        compute_capability=(7, 5))


#: RTX PRO 6000 Blackwell Server Edition (IDs made up: hosts read them):
#: (enum, id, name, slices, instances, memory MiB, SMs, starts, size).
_RTX_PRO_6000_PROFILES = (
    (0, 14, 'MIG 1g.24gb', 1, 4, 24064, 46, range(4), 1),
    (10, 47, 'MIG 1g.24gb+gfx', 1, 4, 24064, 46, range(4), 1),
    (1, 21, 'MIG 2g.48gb', 2, 2, 48384, 94, (0, 2), 2),
    (11, 35, 'MIG 2g.48gb+gfx', 2, 2, 48384, 94, (0, 2), 2),
    (3, 5, 'MIG 4g.96gb', 4, 1, 97024, 188, (0,), 4),
    (12, 32, 'MIG 4g.96gb+gfx', 4, 1, 97024, 188, (0,), 4),
)

#: Its MIG-backed vGPU types run on +gfx GPU instances only, although no
#: name says so; DC-1-8Q is time-sliced on its GPU instance (3 per GI).
RTX_PRO_6000_VGPU_TYPES = (
    (1401, 'NVIDIA RTX Pro 6000 Blackwell DC-1-24Q', 47, 24576, 4, 1),
    (1402, 'NVIDIA RTX Pro 6000 Blackwell DC-1-8Q', 47, 8192, 12, 3),
    (1403, 'NVIDIA RTX Pro 6000 Blackwell DC-2-12C', 35, 12288, 4, 2),
    (1404, 'NVIDIA RTX Pro 6000 Blackwell DC-4-24Q', 32, 24576, 4, 4),
    (1410, 'NVIDIA RTX Pro 6000 Blackwell DC-24Q', INVALID_ID, 24576, 4, 1),
)


def rtx_pro_6000(index: int = 0) -> Gpu:
    """An empty RTX PRO 6000 Blackwell Server Edition, MIG on."""
    profiles = [Profile(enum, pid, name, slices, count, memory, sms,
                        [(start, size) for start in starts])
                for (enum, pid, name, slices, count, memory, sms, starts,
                     size) in _RTX_PRO_6000_PROFILES]
    return Gpu(
        uuid='GPU-b6000%03d-0000-4000-8000-000000000000' % index,
        name='NVIDIA RTX PRO 6000 Blackwell Server Edition',
        bus_id='00000000:%02X:00.0' % (0x61 + index),
        pci_device_id=0x2BB510DE,
        memory_mb=97887,
        compute_capability=(12, 0),
        mig_capable=True, mig_current=1, mig_pending=1,
        profiles=profiles,
        vgpu_types=[VgpuType(*t) for t in RTX_PRO_6000_VGPU_TYPES])
