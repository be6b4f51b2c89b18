# SPDX-License-Identifier: Apache-2.0

"""The GPU backend plugin interface.

A backend is a stevedore plugin of the ``nova_mig.gpu_backends`` namespace.
It answers what NVML answers: the GPUs, their MIG mode, the GPU-instance
profiles each card supports, existing GPU and compute instances and, where
NVIDIA's vGPU manager runs, the vGPU types.  It also performs the few
operations nova-mig needs on the card (create and destroy GPU and compute
instances).  Everything the backend returns is plain data of
:mod:`nova_mig.model.gpu_records`, so the rest of nova-mig never sees
``pynvml`` objects.
"""

import abc
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.model import gpu_records


def reset_command(pci_address: str) -> list[str]:
    """The command that resets one GPU (NVML offers no call for it)."""
    return ['nvidia-smi', '--gpu-reset', '-i', pci_address]


class SysfsWriter(typing.Protocol):
    """Changes a host's devices through sysfs, by intent.

    Each method raises ``OSError``: ``EACCES`` for an argument outside its
    domain (see :class:`nova_mig.sysfs_gateway.Writer`), else the kernel's
    errno.
    """

    def set_sriov_numvfs(self, pf: str, count: int) -> None:
        """Set the SR-IOV VF count of a PF."""

    def create_mdev(self, parent: str, type_id: str, uuid: str) -> None:
        """Create mdev ``uuid`` of type ``type_id`` (``nvidia-<N>``)."""

    def remove_mdev(self, uuid: str) -> None:
        """Remove a mediated device."""

    def set_vgpu_type(self, vf: str, type_id: int) -> None:
        """Give a vendor-VFIO VF a vGPU type (create its vGPU)."""

    def clear_vgpu_type(self, vf: str) -> None:
        """Write 0 to a vendor-VFIO VF's vGPU type (remove its vGPU)."""

    def sriov_manage(self, tool: str, pf: str, enable: bool) -> None:
        """Enable all (``-e``) or disable (``-d``) a PF's VFs.

        Runs NVIDIA's sriov-manage at ``tool``, which re-binds the PF.
        """


class GpuBackend(metaclass=abc.ABCMeta):
    """Interface of a GPU backend plugin.

    :param conf: the ``oslo_config.cfg.ConfigOpts`` nova-mig runs with.
    """

    def __init__(self, conf: cfg.ConfigOpts):
        self.conf = conf

    # -- the host as seen by the kernel -----------------------------------
    def sysfs_root(self) -> str:
        """Root of the sysfs tree describing the host."""
        root: str = self.conf.host.sysfs_root
        return root

    def libvirt_uri(self) -> str:
        """URI of the libvirt daemon managing the host's guests."""
        uri: str = self.conf.libvirt.connection_uri
        return uri

    @abc.abstractmethod
    def sysfs_writer(self) -> SysfsWriter:
        """The object that changes this host's devices (a SysfsWriter).

        For real hosts it goes through privsep.
        """

    # -- reads --------------------------------------------------------------
    @abc.abstractmethod
    def list_gpus(self) -> list[gpu_records.Gpu]:
        """Every GPU of the host, ordered by NVML index.

        :raises: :class:`nova_mig.exception.NvmlUnavailable` when the
            backend cannot reach the GPUs at all.
        """

    # -- changes --------------------------------------------------------------
    @abc.abstractmethod
    def create_gpu_instance(self, gpu_uuid: str, profile_id: int,
                            placement: gpu_records.Placement | None = None
                            ) -> gpu_records.GpuInstance:
        """Create a GPU instance, at ``placement`` when given."""

    @abc.abstractmethod
    def destroy_gpu_instance(self, gpu_uuid: str, gpu_instance_id: int
                             ) -> None:
        """Destroy a GPU instance that holds no compute instance."""

    @abc.abstractmethod
    def create_compute_instance(self, gpu_uuid: str, gpu_instance_id: int
                                ) -> gpu_records.ComputeInstance:
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

    def reset_gpu(self, gpu_uuid: str, pci_address: str) -> None:
        """Reset a GPU, so a pending MIG mode takes effect.

        NVML has no reset call: the NVML backend runs ``nvidia-smi
        --gpu-reset -i <PCI address>`` as root. The caller proves the GPU
        idle first.

        :raises: :class:`nova_mig.exception.GpuOperationRefused` (code
            ``NOT_SUPPORTED`` for a backend that cannot, ``RESET_FAILED``
            when the reset fails).
        """
        raise exception.GpuOperationRefused(
            gpu=gpu_uuid, code='NOT_SUPPORTED', operation='reset the GPU',
            reason='the %s backend cannot reset a GPU; run "%s"' % (
                type(self).__name__, ' '.join(reset_command(pci_address))))

    @abc.abstractmethod
    def destroy_compute_instance(self, gpu_uuid: str, gpu_instance_id: int,
                                 compute_instance_id: int) -> None:
        """Destroy one compute instance."""
