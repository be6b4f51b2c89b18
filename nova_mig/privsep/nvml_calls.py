# SPDX-License-Identifier: Apache-2.0

"""Privileged NVML entry points (context ``nvml_pctxt``).

Create and destroy MIG GPU and compute instances, change the MIG mode and
reset a GPU. Each entry point takes plain values, validates them as
untrusted input (GPU UUIDs and PCI addresses by pattern, IDs in their
range), opens NVML inside the privsep daemon, finds the GPU by UUID and
returns plain dicts. NVML failures leave as
:class:`nova_mig.privsep.nvml_lib.NvmlCallFailed`, whose plain arguments
survive privsep's (class path, args) serialisation; the backend turns them
into nova-mig exceptions. A refused argument leaves as an ``EACCES``
PermissionError (see :func:`nova_mig.sysfs_gateway.refused`).
"""

import errno
import os
import re
import stat

from oslo_concurrency import processutils

from nova_mig import privsep
from nova_mig.privsep import nvml_lib
from nova_mig import sysfs_gateway

#: An NVML GPU UUID: ``GPU-`` and a canonical UUID.
GPU_UUID_RE = re.compile(
    r'GPU-[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}')
#: NVML's IDs and profile IDs are unsigned 32-bit integers.
MAX_ID = 0xFFFFFFFF
#: The GPU reset tool: the first of these that exists, never the caller's.
RESET_TOOLS = ('/usr/bin/nvidia-smi', '/usr/sbin/nvidia-smi',
               '/usr/local/bin/nvidia-smi')


def _gpu(gpu_uuid: object) -> str:
    if not isinstance(gpu_uuid, str) or not GPU_UUID_RE.fullmatch(gpu_uuid):
        raise sysfs_gateway.refused('GPU UUID %r' % (gpu_uuid,),
                                    'not of the form GPU-<UUID>')
    return gpu_uuid


def _id(what: str, value: object) -> int:
    return sysfs_gateway.check_int(what, value, 0, MAX_ID)


@privsep.nvml_pctxt.entrypoint
def create_gpu_instance(gpu_uuid: str, profile_id: int,
                        start: int | None = None,
                        size: int | None = None) -> dict[str, int]:
    """Create a GPU instance.

    :returns: ``{'id', 'profile_id', 'start', 'size'}``
    """
    _gpu(gpu_uuid)
    _id('profile ID', profile_id)
    if start is not None or size is not None:
        _id('placement start', start)
        sysfs_gateway.check_int('placement size', size, 1, MAX_ID)
    with nvml_lib.session():
        return nvml_lib.create_gpu_instance(gpu_uuid, profile_id, start,
                                            size)


@privsep.nvml_pctxt.entrypoint
def destroy_gpu_instance(gpu_uuid: str, gpu_instance_id: int) -> None:
    _gpu(gpu_uuid)
    _id('GPU instance ID', gpu_instance_id)
    with nvml_lib.session():
        nvml_lib.destroy_gpu_instance(gpu_uuid, gpu_instance_id)


@privsep.nvml_pctxt.entrypoint
def create_compute_instance(gpu_uuid: str,
                            gpu_instance_id: int) -> dict[str, int]:
    """Create the full-size compute instance of a GPU instance.

    :returns: ``{'id', 'profile_id'}``
    """
    _gpu(gpu_uuid)
    _id('GPU instance ID', gpu_instance_id)
    with nvml_lib.session():
        return nvml_lib.create_compute_instance(gpu_uuid, gpu_instance_id)


@privsep.nvml_pctxt.entrypoint
def destroy_compute_instance(gpu_uuid: str, gpu_instance_id: int,
                             compute_instance_id: int) -> None:
    _gpu(gpu_uuid)
    _id('GPU instance ID', gpu_instance_id)
    _id('compute instance ID', compute_instance_id)
    with nvml_lib.session():
        nvml_lib.destroy_compute_instance(gpu_uuid, gpu_instance_id,
                                          compute_instance_id)


def reset_tool() -> str:
    """The reset tool: the first of :data:`RESET_TOOLS` installed."""
    for path in RESET_TOOLS:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise nvml_lib.NvmlCallFailed(
        'nvidia-smi --gpu-reset', '-', 'RESET_FAILED',
        'nvidia-smi is not installed as any of %s' % ', '.join(RESET_TOOLS))


@privsep.nvml_pctxt.entrypoint
def reset_gpu(gpu_uuid: str, pci_address: str) -> str:
    """Reset the GPU ``gpu_uuid`` at ``pci_address`` with nvidia-smi.

    NVML has no reset call. The command is fixed here (``nvidia-smi
    --gpu-reset -i <PCI>``, nvidia-smi from :data:`RESET_TOOLS`); the PCI
    address must be the one NVML gives the GPU of that UUID. A failure
    leaves as NvmlCallFailed with code ``RESET_FAILED`` and the command's
    output.

    :returns: the command's standard output.
    """
    _gpu(gpu_uuid)
    sysfs_gateway.check_pci_address(pci_address)
    with nvml_lib.session():
        handle = nvml_lib.handle_by_uuid(gpu_uuid)
        found = nvml_lib.pci_address(nvml_lib.call(
            'nvmlDeviceGetPciInfo', gpu_uuid, handle))
    if found.lower() != pci_address:
        raise sysfs_gateway.refused(
            'PCI address %s' % pci_address,
            'GPU %s is at %s' % (gpu_uuid, found))
    command = [reset_tool(), '--gpu-reset', '-i', pci_address]
    try:
        out, _err = processutils.execute(*command)
    except (processutils.ProcessExecutionError, OSError) as e:
        detail = getattr(e, 'stderr', None) or getattr(e, 'stdout', None)
        raise nvml_lib.NvmlCallFailed(
            ' '.join(command), gpu_uuid, 'RESET_FAILED',
            ' '.join(str(detail or e).split()))
    return str(out)


def check_sriov_manage(tool: str) -> str:
    """The sriov-manage to run as root, checked.

    An absolute path named ``sriov-manage``, a regular file that root owns
    and only root may write, in directories only root may write (or
    root's sticky ones).

    :raises: PermissionError (``EACCES``) naming what is wrong.
    """
    if not isinstance(tool, str) or not os.path.isabs(tool) or \
            os.path.basename(tool) != 'sriov-manage':
        raise sysfs_gateway.refused('sriov-manage %r' % (tool,),
                                    'not an absolute path to sriov-manage')
    path = os.path.realpath(tool)
    for where in [path] + _parents(path):
        info = os.stat(where)
        # A root-owned sticky folder (/tmp) keeps root's entries root's.
        sticky = where != path and info.st_mode & stat.S_ISVTX
        if info.st_uid != 0 or (info.st_mode & 0o022 and not sticky):
            raise sysfs_gateway.refused(
                'sriov-manage %s' % tool, '%s is not root\'s alone' % where)
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise sysfs_gateway.refused('sriov-manage %s' % tool, 'not a file')
    return path


def _parents(path: str) -> list[str]:
    parents = []
    while path != os.path.dirname(path):
        path = os.path.dirname(path)
        parents.append(path)
    return parents


@privsep.nvml_pctxt.entrypoint
def sriov_manage(tool: str, pf: str, enable: bool) -> str:
    """Enable (``-e``) or disable (``-d``) a PF's VFs with sriov-manage.

    NVIDIA's vendor-specific VFIO driver refuses a raw ``sriov_numvfs``
    write on its PF; sriov-manage re-binds the PF instead. ``tool`` is
    checked (:func:`check_sriov_manage`), ``pf`` must be an NVIDIA PCI
    function.

    :returns: the command's standard output.
    :raises: OSError (``EIO``) with the command's last line on failure.
    """
    path = check_sriov_manage(tool)
    sysfs_gateway.Sysfs('/sys').nvidia_device(pf)
    command = [path, '-e' if enable else '-d', pf]
    try:
        out, _err = processutils.execute(*command)
    except (processutils.ProcessExecutionError, OSError) as e:
        detail = getattr(e, 'stderr', None) or getattr(e, 'stdout', None)
        raise OSError(errno.EIO, '%s failed: %s' % (
            ' '.join(command), ' '.join(str(detail or e).split())))
    return str(out)


@privsep.nvml_pctxt.entrypoint
def set_mig_mode(gpu_uuid: str, enabled: bool) -> tuple[int, int]:
    """Enable or disable MIG mode; returns ``(current, pending)``."""
    _gpu(gpu_uuid)
    if not isinstance(enabled, bool):
        raise sysfs_gateway.refused('MIG mode %r' % (enabled,),
                                    'not a boolean')
    with nvml_lib.session():
        current, pending = nvml_lib.set_mig_mode(gpu_uuid, enabled)
    return current, pending
