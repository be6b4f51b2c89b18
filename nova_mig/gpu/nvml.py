# SPDX-License-Identifier: Apache-2.0

"""GPU backend driving real NVIDIA GPUs through NVML (``pynvml``)."""

import logging
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.model import gpu_records
from nova_mig.privsep import nvml_calls
from nova_mig.privsep import nvml_lib
from nova_mig.privsep import sysfs_writes

LOG = logging.getLogger(__name__)

#: NVML codes reported as GpuOperationRefused: the card said no.
REFUSAL_CODES = frozenset(['INSUFFICIENT_RESOURCES', 'IN_USE',
                           'NO_PERMISSION', 'NOT_SUPPORTED',
                           'INVALID_ARGUMENT', 'NOT_FOUND'])


def _unavailable(error: nvml_lib.NvmlCallFailed) -> exception.NvmlUnavailable:
    return exception.NvmlUnavailable(
        reason='%s failed: %s (%s)' % (error.call, error.reason, error.code))


def _nvml_error(error: nvml_lib.NvmlCallFailed,
                gpu: str) -> exception.NovaMigException:
    if error.code in nvml_lib.UNAVAILABLE_CODES:
        return _unavailable(error)
    return exception.NvmlError(call=error.call, gpu=gpu,
                               reason='%s (%s)' % (error.reason, error.code))


Records = list[nvml_lib.Record]


def _gpu(index: int, ident: nvml_lib.Record, mode: tuple[int, int] | None,
         profiles: Records, gpu_instances: Records,
         processes: dict[int, list[int]], vgpu_types: Records | None,
         active: Records) -> gpu_records.Gpu:
    """Build the data model from the helper layer's plain values."""
    model_profiles = tuple(
        gpu_records.GpuInstanceProfile(
            id=p['id'], name=p['name'], slice_count=p['slice_count'],
            memory_mb=p['memory_mb'], instance_count=p['instance_count'],
            multiprocessor_count=p['multiprocessor_count'],
            placements=tuple(gpu_records.Placement(start, size)
                             for start, size in p['placements']))
        for p in profiles)
    names = {p.id: p.name for p in model_profiles}
    current, pending = mode or (gpu_records.MIG_DISABLED,
                                gpu_records.MIG_DISABLED)
    return gpu_records.Gpu(
        index=index,
        pci_address=ident['pci_address'],
        uuid=ident['uuid'],
        name=ident['name'],
        pci_device_id=ident['pci_device_id'],
        memory_total_mb=ident['memory_total_mb'],
        compute_capability=ident['compute_capability'],
        mig_current=current,
        mig_pending=pending,
        profiles=model_profiles,
        gpu_instances=tuple(
            _gpu_instance(gi, names.get(gi['profile_id'], ''),
                          processes.get(gi['id'], ()))
            for gi in gpu_instances),
        vgpu_types=None if vgpu_types is None else tuple(
            gpu_records.VgpuType(**t) for t in vgpu_types),
        active_vgpus=tuple(gpu_records.ActiveVgpu(**v) for v in active),
    )


def _gpu_instance(gi: nvml_lib.Record, profile_name: str,
                  processes: typing.Iterable[int] = ()
                  ) -> gpu_records.GpuInstance:
    return gpu_records.GpuInstance(
        id=gi['id'], profile_id=gi['profile_id'], profile_name=profile_name,
        placement=gpu_records.Placement(gi['start'], gi['size']),
        compute_instances=tuple(
            gpu_records.ComputeInstance(id=ci['id'],
                                        profile_id=ci['profile_id'])
            for ci in gi.get('compute_instances', ())),
        processes=tuple(processes),
        creatable_vgpu_types=(
            None if gi.get('creatable_vgpu_types') is None
            else tuple(gi['creatable_vgpu_types'])))


class NvmlBackend(backend_api.GpuBackend):
    """Reads GPUs in-process with NVML; changes them through privsep.

    NVML is initialised on first use and shut down by :meth:`close`.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._initialised = False

    # -- lifecycle -----------------------------------------------------------
    def _ensure_init(self) -> None:
        if self._initialised:
            return
        try:
            nvml_lib.init()
        except nvml_lib.NvmlCallFailed as e:
            raise _unavailable(e)
        self._initialised = True

    def close(self) -> None:
        """Shut NVML down if this backend initialised it."""
        if not self._initialised:
            return
        self._initialised = False
        try:
            nvml_lib.shutdown()
        except nvml_lib.NvmlCallFailed as e:
            LOG.warning('Shutting NVML down failed: %s', e)

    def sysfs_writer(self) -> sysfs_writes.PrivsepSysfsWriter:
        return sysfs_writes.PrivsepSysfsWriter(self.sysfs_root())

    # -- reads ---------------------------------------------------------------
    def list_gpus(self) -> list[gpu_records.Gpu]:
        self._ensure_init()
        try:
            count = nvml_lib.device_count()
        except nvml_lib.NvmlCallFailed as e:
            raise _nvml_error(e, '-')
        return [self._read_gpu(index) for index in range(count)]

    def _read_gpu(self, index: int) -> gpu_records.Gpu:
        gpu = str(index)
        try:
            handle = nvml_lib.handle_by_index(index)
            ident = nvml_lib.identity(handle, gpu)
            gpu = ident['uuid']
            mode = nvml_lib.mig_mode(handle, gpu)
            profiles: list[nvml_lib.Record] = []
            gpu_instances: list[nvml_lib.Record] = []
            processes: dict[int, list[int]] = {}
            vgpu_types = nvml_lib.vgpu_types(handle, gpu)
            if mode is not None:
                profiles = nvml_lib.profiles(handle, gpu)
                if mode[0] == gpu_records.MIG_ENABLED:
                    gpu_instances = nvml_lib.gpu_instances(
                        handle, gpu, profiles, vgpu=vgpu_types is not None)
                    processes = nvml_lib.processes_by_gpu_instance(handle,
                                                                   gpu)
            active = ([] if vgpu_types is None
                      else nvml_lib.active_vgpus(handle, gpu))
        except nvml_lib.NvmlCallFailed as e:
            raise _nvml_error(e, gpu)
        return _gpu(index, ident, mode, profiles, gpu_instances, processes,
                    vgpu_types, active)

    def _profile_name(self, gpu_uuid: str, profile_id: int) -> str:
        self._ensure_init()
        try:
            handle = nvml_lib.handle_by_uuid(gpu_uuid)
            for profile in nvml_lib.profile_infos(handle, gpu_uuid):
                if profile['id'] == profile_id:
                    name: str = profile['name']
                    return name
        except nvml_lib.NvmlCallFailed as e:
            LOG.warning('Cannot name profile %s of GPU %s: %s', profile_id,
                        gpu_uuid, e)
        return ''

    # -- changes -------------------------------------------------------------
    def _change(self, operation: str, gpu_uuid: str,
                entrypoint: typing.Callable[..., typing.Any],
                *args: typing.Any) -> typing.Any:
        LOG.info('GPU %s: %s %s', gpu_uuid, operation, args[1:])
        try:
            return entrypoint(*args)
        except nvml_lib.NvmlCallFailed as e:
            if e.code in REFUSAL_CODES:
                raise exception.GpuOperationRefused(
                    gpu=gpu_uuid, operation=operation,
                    reason='%s: %s' % (e.call, e.reason), code=e.code)
            raise _nvml_error(e, gpu_uuid)

    def create_gpu_instance(self, gpu_uuid: str, profile_id: int,
                            placement: gpu_records.Placement | None = None
                            ) -> gpu_records.GpuInstance:
        start = size = None
        if placement is not None:
            start, size = placement.start, placement.size
        gi = self._change('create GPU instance', gpu_uuid,
                          nvml_calls.create_gpu_instance, gpu_uuid,
                          profile_id, start, size)
        return _gpu_instance(gi, self._profile_name(gpu_uuid, profile_id))

    def destroy_gpu_instance(self, gpu_uuid: str, gpu_instance_id: int
                             ) -> None:
        self._change('destroy GPU instance', gpu_uuid,
                     nvml_calls.destroy_gpu_instance, gpu_uuid,
                     gpu_instance_id)

    def create_compute_instance(self, gpu_uuid: str, gpu_instance_id: int
                                ) -> gpu_records.ComputeInstance:
        ci = self._change('create compute instance', gpu_uuid,
                          nvml_calls.create_compute_instance, gpu_uuid,
                          gpu_instance_id)
        return gpu_records.ComputeInstance(id=ci['id'],
                                           profile_id=ci['profile_id'])

    def destroy_compute_instance(self, gpu_uuid: str, gpu_instance_id: int,
                                 compute_instance_id: int) -> None:
        self._change('destroy compute instance', gpu_uuid,
                     nvml_calls.destroy_compute_instance, gpu_uuid,
                     gpu_instance_id, compute_instance_id)

    def reset_gpu(self, gpu_uuid: str, pci_address: str) -> None:
        LOG.warning('GPU %s: resetting it (%s)', gpu_uuid,
                    ' '.join(backend_api.reset_command(pci_address)))
        try:
            nvml_calls.reset_gpu(gpu_uuid, pci_address)
        except nvml_lib.NvmlCallFailed as e:
            raise exception.GpuOperationRefused(
                gpu=gpu_uuid, operation='reset the GPU', code=e.code,
                reason='%s: %s' % (e.call, e.reason))

    def set_mig_mode(self, gpu_uuid: str, enabled: bool) -> tuple[int, int]:
        current, pending = self._change(
            '%s MIG mode' % ('enable' if enabled else 'disable'), gpu_uuid,
            nvml_calls.set_mig_mode, gpu_uuid, enabled)
        return current, pending
