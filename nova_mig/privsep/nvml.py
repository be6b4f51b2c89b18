"""Privileged NVML entrypoints: create and destroy MIG instances.

Each entrypoint takes plain values, opens NVML inside the privsep daemon,
finds the GPU by UUID and returns plain dicts.  NVML failures leave as
:class:`nova_mig.privsep.nvml_lib.NvmlCallFailed`, whose plain arguments
survive privsep's (class path, args) serialisation; the backend turns them into
nova-mig exceptions.
"""

from oslo_concurrency import processutils

from nova_mig import privsep
from nova_mig.privsep import nvml_lib


@privsep.sys_admin_pctxt.entrypoint
def create_gpu_instance(gpu_uuid: str, profile_id: int,
                        start: int | None = None,
                        size: int | None = None) -> dict[str, int]:
    """Create a GPU instance.

    :returns: ``{'id', 'profile_id', 'start', 'size'}``
    """
    with nvml_lib.session():
        return nvml_lib.create_gpu_instance(gpu_uuid, profile_id, start,
                                            size)


@privsep.sys_admin_pctxt.entrypoint
def destroy_gpu_instance(gpu_uuid: str, gpu_instance_id: int) -> None:
    with nvml_lib.session():
        nvml_lib.destroy_gpu_instance(gpu_uuid, gpu_instance_id)


@privsep.sys_admin_pctxt.entrypoint
def create_compute_instance(gpu_uuid: str,
                            gpu_instance_id: int) -> dict[str, int]:
    """Create the full-size compute instance of a GPU instance.

    :returns: ``{'id', 'profile_id'}``
    """
    with nvml_lib.session():
        return nvml_lib.create_compute_instance(gpu_uuid, gpu_instance_id)


@privsep.sys_admin_pctxt.entrypoint
def destroy_compute_instance(gpu_uuid: str, gpu_instance_id: int,
                             compute_instance_id: int) -> None:
    with nvml_lib.session():
        nvml_lib.destroy_compute_instance(gpu_uuid, gpu_instance_id,
                                          compute_instance_id)


@privsep.sys_admin_pctxt.entrypoint
def reset_gpu(gpu_uuid: str, command: list[str]) -> str:
    """Run the GPU reset command (``nvidia-smi --gpu-reset -i <PCI>``).

    NVML has no reset call.  A failure leaves as NvmlCallFailed with code
    ``RESET_FAILED`` and the command's output.

    :returns: the command's standard output.
    """
    try:
        out, _err = processutils.execute(*command)
    except (processutils.ProcessExecutionError, OSError) as e:
        detail = getattr(e, 'stderr', None) or getattr(e, 'stdout', None)
        raise nvml_lib.NvmlCallFailed(
            ' '.join(command), gpu_uuid, 'RESET_FAILED',
            ' '.join(str(detail or e).split()))
    return str(out)


@privsep.sys_admin_pctxt.entrypoint
def set_mig_mode(gpu_uuid: str, enabled: bool) -> tuple[int, int]:
    """Enable or disable MIG mode; returns ``(current, pending)``."""
    with nvml_lib.session():
        current, pending = nvml_lib.set_mig_mode(gpu_uuid, enabled)
    return current, pending
