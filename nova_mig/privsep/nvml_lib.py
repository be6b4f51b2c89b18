# SPDX-License-Identifier: Apache-2.0

"""NVML call helpers shared by the NVML backend and its privsep daemon."""

import contextlib
import ctypes
import inspect
import logging
import math
import typing

import pynvml

LOG = logging.getLogger(__name__)

#: NVML error code -> NVML's name without the prefix ("IN_USE").
CODE_NAMES = {getattr(pynvml, name): name[len('NVML_ERROR_'):]
              for name in dir(pynvml) if name.startswith('NVML_ERROR_')}
#: Codes meaning the library or the kernel driver cannot be used at all.
UNAVAILABLE_CODES = frozenset(['LIBRARY_NOT_FOUND', 'DRIVER_NOT_LOADED',
                               'LIB_RM_VERSION_MISMATCH'])
#: Codes meaning "this GPU or driver does not offer that".
ABSENT_CODES = frozenset(['NOT_SUPPORTED', 'FUNCTION_NOT_FOUND'])
#: NVML's "no such ID" value (INVALID_GPU_INSTANCE_ID, time-sliced vGPU).
INVALID_ID = 0xFFFFFFFF
#: Room for any card's placements (memory slices x profiles), see NVML's
#: nvmlDeviceGetGpuInstancePossiblePlacements_v2.
_MAX_PLACEMENTS = 32
_MIB = 1024 * 1024
#: What the helpers return for one NVML object: plain values only, so they
#: cross the privsep channel unchanged.
Record = dict[str, typing.Any]


class NvmlCallFailed(Exception):
    """An NVML call failed.

    Its arguments are plain strings so that oslo.privsep, which rebuilds an
    exception from its class path and ``args``, carries it across intact.
    """

    def __init__(self, call: str, gpu: str, code: str, reason: str):
        super().__init__(call, gpu, code, reason)
        self.call = call
        self.gpu = gpu
        self.code = code
        self.reason = reason

    def __str__(self) -> str:
        return '%s on GPU %s: %s (%s)' % (self.call, self.gpu, self.reason,
                                          self.code)


def call(name: str, gpu: str, *args: typing.Any) -> typing.Any:
    """Call ``pynvml.<name>(*args)``, turning NVML errors into NvmlCallFailed.

    :param gpu: what to name the GPU in the error (UUID, index or "-").
    """
    try:
        return getattr(pynvml, name)(*args)
    except pynvml.NVMLError as e:
        reason = str(e)
        raise NvmlCallFailed(name, gpu, CODE_NAMES.get(e.value, str(e.value)),
                             reason) from e
    except pynvml.NVMLLibraryMismatchError as e:
        # pynvml raises this instead of FunctionNotFound for unversioned
        # wrappers (throwOnVersionMismatch).
        raise NvmlCallFailed(name, gpu, 'FUNCTION_NOT_FOUND', str(e)) from e


def optional(name: str, gpu: str, *args: typing.Any,
             codes: frozenset[str] = ABSENT_CODES,
             default: typing.Any = None) -> typing.Any:
    """Like :func:`call`, returning ``default`` for the given error codes."""
    try:
        return call(name, gpu, *args)
    except NvmlCallFailed as e:
        if e.code in codes:
            LOG.debug('%s not available on GPU %s: %s', name, gpu, e.code)
            return default
        raise


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode('utf-8', 'replace')
    return value


# -- library and devices ---------------------------------------------------
def init() -> None:
    call('nvmlInit', '-')


def shutdown() -> None:
    call('nvmlShutdown', '-')


@contextlib.contextmanager
def session() -> typing.Iterator[None]:
    """NVML initialised for the duration of the block."""
    init()
    try:
        yield
    finally:
        try:
            shutdown()
        except NvmlCallFailed as e:
            LOG.warning('nvmlShutdown failed: %s', e)


def device_count() -> int:
    count: int = call('nvmlDeviceGetCount', '-')
    return count


def handle_by_index(index: int) -> typing.Any:
    return call('nvmlDeviceGetHandleByIndex', str(index), index)


def handle_by_uuid(uuid: str) -> typing.Any:
    return call('nvmlDeviceGetHandleByUUID', uuid, uuid)


def pci_address(info: typing.Any) -> str:
    """sysfs spelling (``0000:41:00.0``) of an ``nvmlPciInfo_t``."""
    bus_id = _text(info.busIdLegacy) or _text(info.busId)
    domain, _sep, rest = bus_id.strip().lower().rpartition(':')
    domain, _sep, bus = domain.rpartition(':')
    if not domain:
        return bus_id.lower()
    # NVML writes the domain with 4 (legacy) or 8 (busId) hex digits.
    return '%04x:%s:%s' % (int(domain, 16), bus, rest)


def identity(handle: typing.Any, gpu: str) -> Record:
    """UUID, name, PCI identity, memory and compute capability."""
    pci = call('nvmlDeviceGetPciInfo', gpu, handle)
    memory = call('nvmlDeviceGetMemoryInfo', gpu, handle)
    return {
        'uuid': _text(call('nvmlDeviceGetUUID', gpu, handle)),
        'name': _text(call('nvmlDeviceGetName', gpu, handle)),
        'pci_address': pci_address(pci),
        'pci_device_id': pci.pciDeviceId,
        'memory_total_mb': memory.total // _MIB,
        'compute_capability': tuple(
            call('nvmlDeviceGetCudaComputeCapability', gpu, handle)),
    }


def mig_mode(handle: typing.Any, gpu: str) -> tuple[int, int] | None:
    """``(current, pending)``, or None when the GPU has no MIG."""
    mode = optional('nvmlDeviceGetMigMode', gpu, handle)
    return None if mode is None else (mode[0], mode[1])


# -- GPU-instance profiles --------------------------------------------------
def mig_memory_gb(total_bytes: int, profile_mb: int) -> int:
    """The ``<N>gb`` of a profile name, rounded as NVIDIA's go-nvlib does.

    The profile's share of the card is rounded up to eighths, then scaled
    to the card's memory in whole GiB: an H200's 16384 MiB instance of
    143771 MiB is ``18gb``, where ``ceil(MiB / 1024)`` would say ``16gb``.
    """
    if total_bytes <= 0:
        return math.ceil(profile_mb / 1024)
    share = math.ceil(profile_mb * _MIB / total_bytes * 8) / 8
    total_gb = -(-total_bytes // (1024 * _MIB))
    # Python's round() rounds halves to even; go's math.Round away from 0.
    return int(math.floor(share * total_gb + 0.5))


def _profile_name(info: typing.Any, total_bytes: int) -> str:
    name = _text(getattr(info, 'name', b'')).strip()
    if name.startswith('MIG '):
        name = name[len('MIG '):]
    if not name:
        # Version 1 structures carry no name: rebuild nvidia-smi's from the
        # slices and the memory (never a "+me", "+gfx" or "-me" suffix).
        name = '%dg.%dgb' % (info.sliceCount,
                             mig_memory_gb(total_bytes, info.memorySizeMB))
    return name


def _profile_info(handle: typing.Any, gpu: str, enum: int) -> typing.Any:
    try:
        return call('nvmlDeviceGetGpuInstanceProfileInfo', gpu, handle,
                    enum, 2)
    except NvmlCallFailed as e:
        if e.code != 'FUNCTION_NOT_FOUND':
            raise
    # Drivers older than the "V" entry point only have version 1.
    return call('nvmlDeviceGetGpuInstanceProfileInfo', gpu, handle, enum, 1)


def profile_infos(handle: typing.Any, gpu: str) -> list[Record]:
    """GPU-instance profiles of a card, without their placements."""
    profiles: dict[int, Record] = {}
    total_bytes: int | None = None
    # Every profile enum the installed bindings know: nvidia-ml-py 13.x
    # adds the +gfx, -me and +me.all ones (NVML_GPU_INSTANCE_PROFILE_COUNT
    # 0x11 or more, 0xA in 12.535).
    for enum in range(pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT):
        try:
            info = _profile_info(handle, gpu, enum)
        except NvmlCallFailed as e:
            if e.code in ('NOT_SUPPORTED', 'INVALID_ARGUMENT'):
                continue
            raise
        if total_bytes is None and not getattr(info, 'name', b''):
            total_bytes = int(call('nvmlDeviceGetMemoryInfo', gpu,
                                   handle).total)
        profiles.setdefault(info.id, {
            'id': info.id,
            'name': _profile_name(info, total_bytes or 0),
            'slice_count': info.sliceCount,
            'memory_mb': info.memorySizeMB,
            'instance_count': info.instanceCount,
            'multiprocessor_count': info.multiprocessorCount,
        })
    return list(profiles.values())


def possible_placements(handle: typing.Any, gpu: str,
                        profile_id: int) -> list[tuple[int, int]]:
    """``[(start, size)]`` where a GPU instance of the profile can go."""
    name = 'nvmlDeviceGetGpuInstancePossiblePlacements'
    wrapper = getattr(pynvml, name)
    if len(inspect.signature(wrapper).parameters) < 4:
        # Some pynvml releases allocate the array and return a list.
        return [(p.start, p.size)
                for p in call(name, gpu, handle, profile_id)]
    # pynvml 11.5+ passes the caller's array to the _v2 C function.
    placements = (pynvml.c_nvmlGpuInstancePlacement_t * _MAX_PLACEMENTS)()
    count = ctypes.c_uint(_MAX_PLACEMENTS)
    call(name, gpu, handle, profile_id, placements, ctypes.byref(count))
    return [(placements[i].start, placements[i].size)
            for i in range(count.value)]


def profiles(handle: typing.Any, gpu: str) -> list[Record]:
    """GPU-instance profiles with ``placements``; [] without MIG."""
    result = profile_infos(handle, gpu)
    for profile in result:
        profile['placements'] = possible_placements(handle, gpu,
                                                    profile['id'])
    return result


# -- GPU and compute instances -----------------------------------------------
def _gpu_instance_handles(handle: typing.Any, gpu: str,
                          profile: Record) -> list[typing.Any]:
    size = max(profile['instance_count'], 1)
    handles = (pynvml.c_nvmlGpuInstance_t * size)()
    count = ctypes.c_uint(size)
    call('nvmlDeviceGetGpuInstances', gpu, handle, profile['id'], handles,
         ctypes.byref(count))
    return [handles[i] for i in range(count.value)]


def _gi_dict(info: typing.Any) -> Record:
    return {'id': info.id, 'profile_id': info.profileId,
            'start': info.placement.start, 'size': info.placement.size}


def ci_profiles(gi: typing.Any, gpu: str) -> list[Record]:
    """Compute-instance profiles (shared engines) of a GPU instance."""
    result: dict[int, Record] = {}
    for enum in range(pynvml.NVML_COMPUTE_INSTANCE_PROFILE_COUNT):
        try:
            info = call('nvmlGpuInstanceGetComputeInstanceProfileInfo', gpu,
                        gi, enum,
                        pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED)
        except NvmlCallFailed as e:
            if e.code in ('NOT_SUPPORTED', 'INVALID_ARGUMENT'):
                continue
            raise
        result.setdefault(info.id, {'id': info.id,
                                    'slice_count': info.sliceCount,
                                    'instance_count': info.instanceCount})
    return list(result.values())


def compute_instances(gi: typing.Any, gpu: str) -> list[dict[str, int]]:
    """``[{'id', 'profile_id'}]`` of one GPU instance."""
    result = []
    for profile in ci_profiles(gi, gpu):
        size = max(profile['instance_count'], 1)
        handles = (pynvml.c_nvmlComputeInstance_t * size)()
        count = ctypes.c_uint(size)
        call('nvmlGpuInstanceGetComputeInstances', gpu, gi, profile['id'],
             handles, ctypes.byref(count))
        for i in range(count.value):
            info = call('nvmlComputeInstanceGetInfo', gpu, handles[i])
            result.append({'id': info.id, 'profile_id': info.profileId})
    return sorted(result, key=lambda ci: ci['id'])


def gpu_instances(handle: typing.Any, gpu: str,
                  profile_list: list[Record],
                  vgpu: bool = False) -> list[Record]:
    """Existing GPU instances with their compute instances.

    :param vgpu: also ask which vGPU types each can take now
        (``creatable_vgpu_types``; needs the vGPU manager).
    :returns: dicts with ``id, profile_id, start, size,
        compute_instances``; [] when MIG is off.
    """
    result = []
    for profile in profile_list:
        try:
            handles = _gpu_instance_handles(handle, gpu, profile)
        except NvmlCallFailed as e:
            if e.code == 'NOT_SUPPORTED':      # MIG mode is off
                return []
            raise
        for gi in handles:
            entry = _gi_dict(call('nvmlGpuInstanceGetInfo', gpu, gi))
            entry['compute_instances'] = compute_instances(gi, gpu)
            if vgpu:
                entry['creatable_vgpu_types'] = creatable_vgpus(gi, gpu)
            result.append(entry)
    return sorted(result, key=lambda gi: gi['id'])


def processes_by_gpu_instance(handle: typing.Any,
                              gpu: str) -> dict[int, list[int]]:
    """PIDs of compute processes, keyed by GPU-instance ID.

    Walks the MIG devices (one per compute instance) of the GPU.
    """
    result: dict[int, list[int]] = {}
    count = optional('nvmlDeviceGetMaxMigDeviceCount', gpu, handle,
                     default=0)
    for index in range(count):
        mig = optional('nvmlDeviceGetMigDeviceHandleByIndex', gpu, handle,
                       index, codes=frozenset(['NOT_FOUND']))
        if mig is None:                        # no MIG device at that index
            continue
        gi_id = call('nvmlDeviceGetGpuInstanceId', gpu, mig)
        procs = optional('nvmlDeviceGetComputeRunningProcesses', gpu, mig,
                         codes=frozenset(['NOT_SUPPORTED']), default=[])
        pids = result.setdefault(gi_id, [])
        pids.extend(p.pid for p in procs if p.pid not in pids)
    return result


# -- vGPU --------------------------------------------------------------------
def vgpu_types(handle: typing.Any, gpu: str) -> list[Record] | None:
    """vGPU types of the GPU; None when no vGPU manager answers."""
    type_ids = optional('nvmlDeviceGetSupportedVgpus', gpu, handle)
    if type_ids is None:
        return None
    result = []
    for type_id in type_ids:
        profile_id = optional('nvmlVgpuTypeGetGpuInstanceProfileId', gpu,
                              type_id)
        result.append({
            'id': int(type_id),
            'name': _text(call('nvmlVgpuTypeGetName', gpu, type_id)),
            'gpu_instance_profile_id': (
                None if profile_id in (None, INVALID_ID) else profile_id),
            'profile_from_driver': profile_id is not None,
            'framebuffer_mb': call('nvmlVgpuTypeGetFramebufferSize', gpu,
                                   type_id) // _MIB,
            'max_instances': call('nvmlVgpuTypeGetMaxInstances', gpu, handle,
                                  type_id),
            'max_instances_per_gi': (
                None if profile_id in (None, INVALID_ID) else
                optional('nvmlVgpuTypeGetMaxInstancesPerGpuInstance', gpu,
                         type_id)),
        })
    return result


def creatable_vgpus(gi: typing.Any, gpu: str) -> list[int] | None:
    """vGPU type IDs the driver can create on one GPU instance now.

    :returns: None where the driver has no such call (older than vGPU 17)
        or the GPU instance does not answer.
    """
    info = pynvml.c_nvmlVgpuTypeIdInfo_v1_t()
    info.version = pynvml.nvmlVgpuTypeIdInfo_v1
    result = optional('nvmlGpuInstanceGetCreatableVgpus', gpu, gi, info)
    if result is None:
        return None
    return [int(result.vgpuTypeIds[i]) for i in range(result.vgpuCount)]


def active_vgpus(handle: typing.Any, gpu: str) -> list[Record]:
    """vGPUs running on the GPU: ``mdev_uuid, type_id, gpu_instance_id``.

    nvmlVgpuInstanceGetMdevUUID and nvmlVgpuInstanceGetType follow NVML's
    reference; that nvmlVgpuInstanceGetGpuInstanceId gives 0xFFFFFFFF for
    time-sliced vGPUs and that the mdev UUID comes in its canonical dashed
    form is UNVERIFIED on hardware.  Each value is None when unavailable.
    """
    result = []
    for vgpu in optional('nvmlDeviceGetActiveVgpus', gpu, handle,
                         default=[]):
        mdev = optional('nvmlVgpuInstanceGetMdevUUID', gpu, vgpu)
        gi_id = optional('nvmlVgpuInstanceGetGpuInstanceId', gpu, vgpu,
                         default=INVALID_ID)
        result.append({
            'mdev_uuid': _text(mdev).lower() if mdev else None,
            'type_id': optional('nvmlVgpuInstanceGetType', gpu, vgpu),
            'gpu_instance_id': None if gi_id == INVALID_ID else gi_id,
        })
    return result


# -- changes (need root; run in the privsep daemon) --------------------------
def _gpu_instance_by_id(handle: typing.Any, gpu: str,
                        gi_id: int) -> typing.Any:
    return call('nvmlDeviceGetGpuInstanceById', gpu, handle, gi_id)


def create_gpu_instance(gpu_uuid: str, profile_id: int,
                        start: int | None = None,
                        size: int | None = None) -> Record:
    """Create a GPU instance, at ``start``/``size`` when given."""
    handle = handle_by_uuid(gpu_uuid)
    if start is None:
        gi = call('nvmlDeviceCreateGpuInstance', gpu_uuid, handle,
                  profile_id)
    else:
        placement = pynvml.c_nvmlGpuInstancePlacement_t()
        placement.start = start
        placement.size = size
        gi = call('nvmlDeviceCreateGpuInstanceWithPlacement', gpu_uuid,
                  handle, profile_id, ctypes.byref(placement))
    return _gi_dict(call('nvmlGpuInstanceGetInfo', gpu_uuid, gi))


def destroy_gpu_instance(gpu_uuid: str, gi_id: int) -> None:
    handle = handle_by_uuid(gpu_uuid)
    gi = _gpu_instance_by_id(handle, gpu_uuid, gi_id)
    call('nvmlGpuInstanceDestroy', gpu_uuid, gi)


def create_compute_instance(gpu_uuid: str, gi_id: int) -> dict[str, int]:
    """Create the compute instance spanning the whole GPU instance."""
    handle = handle_by_uuid(gpu_uuid)
    gi = _gpu_instance_by_id(handle, gpu_uuid, gi_id)
    candidates = ci_profiles(gi, gpu_uuid)
    if not candidates:
        raise NvmlCallFailed('nvmlGpuInstanceGetComputeInstanceProfileInfo',
                             gpu_uuid, 'NOT_SUPPORTED',
                             'GPU instance %d offers no compute-instance '
                             'profile' % gi_id)
    full = max(candidates, key=lambda p: p['slice_count'])
    ci = call('nvmlGpuInstanceCreateComputeInstance', gpu_uuid, gi,
              full['id'])
    info = call('nvmlComputeInstanceGetInfo', gpu_uuid, ci)
    return {'id': info.id, 'profile_id': info.profileId}


def set_mig_mode(gpu_uuid: str, enabled: bool) -> tuple[int, int]:
    """Change the MIG mode; ``(current, pending)`` afterwards."""
    handle = handle_by_uuid(gpu_uuid)
    call('nvmlDeviceSetMigMode', gpu_uuid, handle, int(bool(enabled)))
    mode = call('nvmlDeviceGetMigMode', gpu_uuid, handle)
    return mode[0], mode[1]


def destroy_compute_instance(gpu_uuid: str, gi_id: int, ci_id: int) -> None:
    handle = handle_by_uuid(gpu_uuid)
    gi = _gpu_instance_by_id(handle, gpu_uuid, gi_id)
    ci = call('nvmlGpuInstanceGetComputeInstanceById', gpu_uuid, gi, ci_id)
    call('nvmlComputeInstanceDestroy', gpu_uuid, ci)
