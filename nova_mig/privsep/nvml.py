"""Privileged NVML entrypoints: create and destroy MIG instances.

Each entrypoint takes plain values, opens NVML inside the privsep daemon,
finds the GPU by UUID and returns plain dicts.  NVML failures leave as
:class:`nova_mig.privsep.nvml_lib.NvmlCallFailed`, whose plain arguments
survive privsep's (class path, args) serialisation; the backend turns them into
nova-mig exceptions.
"""

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
def set_mig_mode(gpu_uuid: str, enabled: bool) -> tuple[int, int]:
    """Enable or disable MIG mode; returns ``(current, pending)``."""
    with nvml_lib.session():
        current, pending = nvml_lib.set_mig_mode(gpu_uuid, enabled)
    return current, pending
