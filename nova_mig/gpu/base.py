"""The GPU backend plugin interface and the host's GPU data model.

A backend is a stevedore plugin of the ``nova_mig.gpu_backends`` namespace.
It answers what NVML answers: the GPUs, their MIG mode, the GPU-instance
profiles each card supports, existing GPU and compute instances and, where
NVIDIA's vGPU manager runs, the vGPU types.  It also performs the few
operations nova-mig needs on the card (create and destroy GPU and compute
instances).  Everything the backend returns is plain data, so the rest of
nova-mig never sees ``pynvml`` objects.
"""

import abc
import dataclasses

from nova_mig import exception

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


@dataclasses.dataclass(frozen=True)
class VgpuType:
    """A vGPU type as NVIDIA's vGPU manager reports it."""

    id: int                   # the suffix of the mdev type "nvidia-<id>"
    name: str                 # "NVIDIA A100D-1-10C"
    #: GPU-instance profile ID backing this type; None for time-sliced types.
    gpu_instance_profile_id: int | None
    framebuffer_mb: int
    max_instances: int


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


class GpuBackend(metaclass=abc.ABCMeta):
    """Interface of a GPU backend plugin.

    :param conf: the ``oslo_config.cfg.ConfigOpts`` nova-mig runs with.
    """

    def __init__(self, conf):
        self.conf = conf

    # -- the host as seen by the kernel -----------------------------------
    def sysfs_root(self) -> str:
        """Root of the sysfs tree describing the host."""
        return self.conf.host.sysfs_root

    def libvirt_uri(self) -> str:
        """URI of the libvirt daemon managing the host's guests."""
        return self.conf.libvirt.connection_uri

    @abc.abstractmethod
    def sysfs_writer(self):
        """The object that performs sysfs writes for this host.

        It has ``write(path, value)`` and raises ``OSError`` with the errno
        the kernel would give.  For real hosts it goes through privsep.
        """

    # -- reads --------------------------------------------------------------
    @abc.abstractmethod
    def list_gpus(self) -> list[Gpu]:
        """Every GPU of the host, ordered by NVML index.

        :raises: :class:`nova_mig.exception.NvmlUnavailable` when the
            backend cannot reach the GPUs at all.
        """

    # -- changes --------------------------------------------------------------
    @abc.abstractmethod
    def create_gpu_instance(self, gpu_uuid: str, profile_id: int,
                            placement: Placement | None = None
                            ) -> GpuInstance:
        """Create a GPU instance, at ``placement`` when given."""

    @abc.abstractmethod
    def destroy_gpu_instance(self, gpu_uuid: str, gpu_instance_id: int
                             ) -> None:
        """Destroy a GPU instance that holds no compute instance."""

    @abc.abstractmethod
    def create_compute_instance(self, gpu_uuid: str, gpu_instance_id: int
                                ) -> ComputeInstance:
        """Create the full-size compute instance of a GPU instance."""

    def set_mig_mode(self, gpu_uuid: str, enabled: bool) -> tuple[int, int]:
        """Enable or disable MIG mode on a GPU.

        The new mode may stay pending until the GPU is reset; the caller
        compares the returned current mode with the one it asked for.

        :returns: ``(current, pending)`` after the change.
        :raises: :class:`nova_mig.exception.GpuOperationRefused` (code
            ``NOT_SUPPORTED`` for a backend that cannot change the mode,
            ``IN_USE`` while GPU instances or vGPUs exist).
        """
        raise exception.GpuOperationRefused(
            gpu=gpu_uuid, code='NOT_SUPPORTED',
            operation='%s MIG mode' % ('enable' if enabled else 'disable'),
            reason='the %s backend cannot change the MIG mode; use '
                   '"nvidia-smi -i <GPU> -mig %d"' % (
                       type(self).__name__, int(enabled)))

    @abc.abstractmethod
    def destroy_compute_instance(self, gpu_uuid: str, gpu_instance_id: int,
                                 compute_instance_id: int) -> None:
        """Destroy one compute instance."""
