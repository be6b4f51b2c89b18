# SPDX-License-Identifier: Apache-2.0

"""C calling-convention helpers and vGPU functions of the fake NVML."""

import ctypes

import pynvml

from tests.unit.privsep import fake_cards

MIB = 1024 * 1024


class Ret(Exception):
    """Leave a fake C function with an NVML return code."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def val(arg):
    return arg.value if hasattr(arg, 'value') else arg


def out(ref):
    """The object behind ``byref(obj)`` or ``pointer(obj)``."""
    return ref._obj if hasattr(ref, '_obj') else ref.contents


def set_handle(ref, handle) -> None:
    """Store ``handle`` in the handle variable ``ref`` points to."""
    slot = ctypes.c_void_p.from_buffer(out(ref))
    slot.value = ctypes.cast(handle, ctypes.c_void_p).value


class VgpuFunctions:
    """C functions of the vGPU manager; mixed into FakeNvml.

    Relies on FakeNvml's ``gpus``, ``_gpu``, ``_fill_array`` and
    ``_fill_string``.
    """

    def _vgpu_gpu(self, handle) -> fake_cards.Gpu:
        gpu = self._gpu(handle)
        if gpu.vgpu_types is None:
            raise Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    def _vgpu_type(self, type_id) -> fake_cards.VgpuType:
        for gpu in self.gpus:
            for vgpu_type in gpu.vgpu_types or ():
                if vgpu_type.id == val(type_id):
                    return vgpu_type
        raise Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)

    def _vgpu(self, vgpu_id) -> fake_cards.ActiveVgpu:
        for gpu in self.gpus:
            for vgpu in gpu.active_vgpus:
                if vgpu.id == val(vgpu_id):
                    return vgpu
        raise Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)

    def nvmlDeviceGetSupportedVgpus(self, handle, count_ref, array):
        types = [t.id for t in self._vgpu_gpu(handle).vgpu_types]
        self._fill_array(count_ref, array, types,
                         lambda arr, i, type_id: arr.__setitem__(i, type_id))

    def nvmlVgpuTypeGetName(self, type_id, buf, size_ref):
        name = self._vgpu_type(type_id).name
        self._fill_string(buf, out(size_ref), name)

    def nvmlVgpuTypeGetGpuInstanceProfileId(self, type_id, id_ref):
        out(id_ref).value = self._vgpu_type(type_id).profile_id

    def nvmlVgpuTypeGetFramebufferSize(self, type_id, size_ref):
        size_mb = self._vgpu_type(type_id).framebuffer_mb
        out(size_ref).value = size_mb * MIB

    def nvmlVgpuTypeGetMaxInstances(self, handle, type_id, count_ref):
        self._vgpu_gpu(handle)
        out(count_ref).value = self._vgpu_type(type_id).max_instances

    def nvmlVgpuTypeGetMaxInstancesPerGpuInstance(self, info_ref):
        info = out(info_ref)
        if info.version != pynvml.nvmlVgpuTypeMaxInstance_v1:
            raise Ret(pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        vgpu_type = self._vgpu_type(info.vgpuTypeId)
        if vgpu_type.profile_id == fake_cards.INVALID_ID:
            raise Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        info.maxInstancePerGI = vgpu_type.max_per_gi

    def nvmlGpuInstanceGetCreatableVgpus(self, gi_handle, info_ref):
        """Types of the GI's profile with room left on that GI.

        The GI takes one type at a time, up to the type's per-GI maximum.
        """
        gpu, gi = self._gi_of(gi_handle)
        info = out(info_ref)
        if info.version != pynvml.nvmlVgpuTypeIdInfo_v1:
            raise Ret(pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        if gpu.vgpu_types is None:
            raise Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        on_gi = [v.type_id for v in gpu.active_vgpus
                 if v.gpu_instance_id == gi.id]
        types = [t.id for t in gpu.vgpu_types
                 if t.profile_id == gi.profile.id and
                 set(on_gi) <= {t.id} and len(on_gi) < t.max_per_gi]
        capacity = info.vgpuCount
        info.vgpuCount = len(types)
        if types and (not info.vgpuTypeIds or capacity < len(types)):
            raise Ret(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        for i, type_id in enumerate(types):
            info.vgpuTypeIds[i] = type_id

    def nvmlDeviceGetActiveVgpus(self, handle, count_ref, array):
        vgpus = [v.id for v in self._vgpu_gpu(handle).active_vgpus]
        self._fill_array(count_ref, array, vgpus,
                         lambda arr, i, vgpu_id: arr.__setitem__(i, vgpu_id))

    def nvmlVgpuInstanceGetMdevUUID(self, vgpu_id, buf_ref, size):
        mdev_uuid = self._vgpu(vgpu_id).mdev_uuid
        self._fill_string(out(buf_ref), size, mdev_uuid)

    def nvmlVgpuInstanceGetType(self, vgpu_id, type_ref):
        out(type_ref).value = self._vgpu(vgpu_id).type_id

    def nvmlVgpuInstanceGetGpuInstanceId(self, vgpu_id, id_ref):
        out(id_ref).value = self._vgpu(vgpu_id).gpu_instance_id
