# SPDX-License-Identifier: Apache-2.0

"""A fake libnvidia-ml behind the real ``pynvml`` wrappers, for tests.

:class:`FakeNvmlFixture` replaces the shared library that ``pynvml`` loads
with :class:`FakeNvml`, whose methods are named after the C symbols the
wrappers look up and take exactly what the wrappers pass them (handles as
ctypes pointers, ``byref()`` of the wrappers' own structures, caller
allocated arrays) and return NVML return codes.  The code under test
therefore runs the real wrappers: it receives the real ctypes structures and
the real ``NVMLError_*`` classes, and a wrong calling convention fails here
as it would on a host.  Card models live in :mod:`fake_cards`.
"""

import copy
import ctypes
import dataclasses

import fixtures
import pynvml

from tests.unit.privsep import fake_cards
from tests.unit.privsep import fake_nvml_abi as abi

OK = pynvml.NVML_SUCCESS
_MIB = 1024 * 1024
#: Compute-instance profiles: (enum, compute slices); the ID is the enum.
CI_PROFILES = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 7))
_ERROR_STRINGS = {pynvml.NVML_ERROR_IN_USE: b'In use by another client',
                  pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES:
                  b'Insufficient resources'}


@dataclasses.dataclass(frozen=True, eq=False)
class _MigDevice:
    gpu: fake_cards.Gpu
    gi: fake_cards.GpuInstance
    ci: fake_cards.ComputeInstance


class _Library:
    """What ``pynvml.nvmlLib`` (a ``CDLL``) is replaced with."""

    def __init__(self, fake: 'FakeNvml'):
        self._fake = fake

    def __getattr__(self, name: str):
        fake = self._fake
        if not name.startswith('nvml') or name in fake.removed:
            raise AttributeError(name)
        impl = getattr(fake, name, None)
        if impl is None:
            raise AttributeError(name)

        def c_function(*args):
            fake.calls.append(name)
            if name == 'nvmlErrorString':
                return impl(*args)
            if name in fake.failures:
                return fake.failures[name]
            if name != 'nvmlInitWithFlags' and not fake.init_count:
                return pynvml.NVML_ERROR_UNINITIALIZED
            try:
                impl(*args)
            except abi.Ret as r:
                return r.code
            return OK
        return c_function


class FakeNvml(abi.VgpuFunctions):
    """Driver state plus the C functions of libnvidia-ml that pynvml uses.

    :param gpus: the cards, in NVML index order.
    :param privileged: False makes every change answer NO_PERMISSION.
    :param profiles_need_mig: True makes profile and placement queries
        answer NOT_SUPPORTED while MIG is off.
    """

    def __init__(self, gpus: list[fake_cards.Gpu], privileged: bool = True,
                 profiles_need_mig: bool = False):
        self.gpus = gpus
        self.privileged = privileged
        self.profiles_need_mig = profiles_need_mig
        self.init_count = 0
        self.calls: list[str] = []
        self.failures: dict[str, int] = {}
        self.removed: set[str] = set()
        self._by_addr: dict[int, object] = {}
        self._addr_of: dict[int, int] = {}
        self._migs: dict[tuple[int, int], _MigDevice] = {}

    # -- test controls --------------------------------------------------------
    def fail(self, symbol: str, code: int) -> None:
        """Make the C function ``symbol`` return ``code``."""
        self.failures[symbol] = code

    def remove(self, symbol: str) -> None:
        """Make ``symbol`` missing from the library (FunctionNotFound)."""
        self.removed.add(symbol)
        pynvml._nvmlGetFunctionPointer_cache.clear()

    def snapshot(self):
        """Comparable copy of the MIG state, to prove nothing changed."""
        return copy.deepcopy([(g.mig_current, g.gis) for g in self.gpus])

    # -- handles --------------------------------------------------------------
    def _handle(self, obj: object, ptr_type):
        key = id(obj)
        if key not in self._addr_of:
            addr = 0x1000 * (len(self._by_addr) + 1)
            self._addr_of[key] = addr
            self._by_addr[addr] = obj
        return ctypes.cast(ctypes.c_void_p(self._addr_of[key]), ptr_type)

    def _fill(self, array, count_ref, objects: list, ptr_type) -> None:
        """Return handles of ``objects`` in a caller-allocated array.

        NVML trusts the caller to size the array to instanceCount; the
        fake checks it, an overflow on a host would corrupt memory.
        """
        if array is None or len(array) < len(objects):
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        for i, obj in enumerate(objects):
            array[i] = self._handle(obj, ptr_type)
        abi.out(count_ref).value = len(objects)

    def _forget(self, obj: object) -> None:
        addr = self._addr_of.pop(id(obj), None)
        self._by_addr.pop(addr, None)

    def _obj(self, handle, kind):
        obj = self._by_addr.get(ctypes.cast(handle, ctypes.c_void_p).value)
        if not isinstance(obj, kind):
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return obj

    def _gpu(self, handle) -> fake_cards.Gpu:
        return self._obj(handle, fake_cards.Gpu)

    def _mig_gpu(self, handle) -> fake_cards.Gpu:
        gpu = self._gpu(handle)
        if not gpu.mig_capable or gpu.mig_current != 1:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    def _check_privileged(self) -> None:
        if not self.privileged:
            raise abi.Ret(pynvml.NVML_ERROR_NO_PERMISSION)

    def _gi_of(self, handle) -> tuple:
        gi = self._obj(handle, fake_cards.GpuInstance)
        gpu = next(g for g in self.gpus if gi in g.gis.values())
        return gpu, gi

    @staticmethod
    def _fill_string(buf, size, text: str) -> None:
        data = text.encode()
        if len(data) >= abi.val(size):
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        buf.value = data

    @staticmethod
    def _fill_array(count_ref, array, items, fill) -> None:
        """NVML's two-call convention: NULL array asks for the count."""
        count = abi.out(count_ref)
        capacity = count.value
        count.value = len(items)
        if array is None:
            if items:
                raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
            return
        if capacity < len(items):
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_SIZE)
        for i, item in enumerate(items):
            fill(array, i, item)

    # -- library --------------------------------------------------------------
    def nvmlInitWithFlags(self, flags):
        self.init_count += 1

    def nvmlShutdown(self):
        self.init_count -= 1

    def nvmlErrorString(self, code):
        return _ERROR_STRINGS.get(abi.val(code), b'Unknown Error')

    # -- devices --------------------------------------------------------------
    def nvmlDeviceGetCount_v2(self, count_ref):
        abi.out(count_ref).value = len(self.gpus)

    def nvmlDeviceGetHandleByIndex_v2(self, index, device_ref):
        if not 0 <= abi.val(index) < len(self.gpus):
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gpu = self.gpus[abi.val(index)]
        abi.set_handle(device_ref, self._handle(gpu, pynvml.c_nvmlDevice_t))

    def nvmlDeviceGetHandleByUUID(self, uuid, device_ref):
        for gpu in self.gpus:
            if gpu.uuid.encode() == abi.val(uuid):
                abi.set_handle(device_ref,
                               self._handle(gpu, pynvml.c_nvmlDevice_t))
                return
        raise abi.Ret(pynvml.NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetName(self, handle, buf, size):
        self._fill_string(buf, size, self._gpu(handle).name)

    def nvmlDeviceGetUUID(self, handle, buf, size):
        self._fill_string(buf, size, self._gpu(handle).uuid)

    def nvmlDeviceGetPciInfo_v3(self, handle, info_ref):
        gpu, info = self._gpu(handle), abi.out(info_ref)
        domain, bus, rest = gpu.bus_id.split(':')
        info.busId = gpu.bus_id.upper().encode()
        info.busIdLegacy = ('%s:%s:%s' % (domain[-4:], bus, rest)).upper(
            ).encode()
        info.domain = int(domain, 16)
        info.bus = int(bus, 16)
        info.device = int(rest.split('.')[0], 16)
        info.pciDeviceId = gpu.pci_device_id

    def nvmlDeviceGetMemoryInfo(self, handle, memory_ref):
        memory = abi.out(memory_ref)
        memory.total = self._gpu(handle).memory_mb * _MIB
        memory.free, memory.used = memory.total, 0

    def nvmlDeviceGetCudaComputeCapability(self, handle, major, minor):
        cc = self._gpu(handle).compute_capability
        abi.out(major).value, abi.out(minor).value = cc

    def nvmlDeviceGetMigMode(self, handle, current_ref, pending_ref):
        gpu = self._gpu(handle)
        if not gpu.mig_capable:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        abi.out(current_ref).value = gpu.mig_current
        abi.out(pending_ref).value = gpu.mig_pending

    def nvmlDeviceSetMigMode(self, handle, mode, status_ref):
        gpu = self._gpu(handle)
        self._check_privileged()
        if not gpu.mig_capable:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        if gpu.gis or gpu.active_vgpus:
            raise abi.Ret(pynvml.NVML_ERROR_IN_USE)
        # The new mode stays pending until the GPU is reset.
        gpu.mig_pending = abi.val(mode)
        abi.out(status_ref).value = pynvml.NVML_SUCCESS

    # -- GPU-instance profiles ------------------------------------------------
    def _readable_mig_gpu(self, handle) -> fake_cards.Gpu:
        gpu = self._gpu(handle)
        if not gpu.mig_capable or (self.profiles_need_mig and
                                   gpu.mig_current != 1):
            raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return gpu

    def _profile_by_enum(self, handle, enum) -> fake_cards.Profile:
        gpu = self._readable_mig_gpu(handle)
        if not 0 <= enum < pynvml.NVML_GPU_INSTANCE_PROFILE_COUNT:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        for profile in gpu.profiles:
            if profile.enum == enum:
                return profile
        raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)

    @staticmethod
    def _fill_profile(info, profile: fake_cards.Profile) -> None:
        info.id = profile.id
        info.sliceCount = profile.slice_count
        info.instanceCount = profile.instance_count
        info.multiprocessorCount = profile.multiprocessor_count
        info.memorySizeMB = profile.memory_mb

    def nvmlDeviceGetGpuInstanceProfileInfoV(self, handle, enum, info_ref):
        info = abi.out(info_ref)
        if info.version != pynvml.nvmlGpuInstanceProfileInfo_v2:
            raise abi.Ret(pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        profile = self._profile_by_enum(handle, enum)
        self._fill_profile(info, profile)
        info.name = profile.name.encode()

    def nvmlDeviceGetGpuInstanceProfileInfo(self, handle, enum, info_ref):
        self._fill_profile(abi.out(info_ref),
                           self._profile_by_enum(handle, enum))

    def nvmlDeviceGetGpuInstancePossiblePlacements_v2(self, handle,
                                                      profile_id, array,
                                                      count_ref):
        profile = self._readable_mig_gpu(handle).profile(profile_id)
        if profile is None:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)

        def fill(arr, i, placement):
            arr[i].start, arr[i].size = placement
        self._fill_array(count_ref, array, profile.placements, fill)

    # -- GPU instances --------------------------------------------------------
    def nvmlDeviceGetGpuInstances(self, handle, profile_id, array,
                                  count_ref):
        gpu = self._mig_gpu(handle)
        if gpu.profile(profile_id) is None:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        gis = [gi for gi in gpu.gis.values() if gi.profile.id == profile_id]
        self._fill(array, count_ref, gis, pynvml.c_nvmlGpuInstance_t)

    def nvmlDeviceGetGpuInstanceById(self, handle, gi_id, gi_ref):
        gi = self._mig_gpu(handle).gis.get(abi.val(gi_id))
        if gi is None:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_FOUND)
        abi.set_handle(gi_ref, self._handle(
            gi, pynvml.c_nvmlGpuInstance_t))

    def nvmlGpuInstanceGetInfo(self, handle, info_ref):
        gpu, gi = self._gi_of(handle)
        info = abi.out(info_ref)
        info.device = self._handle(gpu, pynvml.c_nvmlDevice_t)
        info.id, info.profileId = gi.id, gi.profile.id
        info.placement.start, info.placement.size = gi.start, gi.size

    def _create_gi(self, handle, profile_id, placement, gi_ref) -> None:
        gpu = self._mig_gpu(handle)
        self._check_privileged()
        profile = gpu.profile(profile_id)
        if profile is None:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if placement is not None and placement not in profile.placements:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        same = [gi for gi in gpu.gis.values() if gi.profile.id == profile_id]
        if len(same) >= profile.instance_count:
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)
        if '+me' in profile.name and any(
                '+me' in gi.profile.name for gi in gpu.gis.values()):
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)
        free = [p for p in ([placement] if placement else profile.placements)
                if not any(gi.overlaps(*p) for gi in gpu.gis.values())]
        if not free:
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)
        gi_id = min(set(range(1, 64)) - set(gpu.gis))
        gi = gpu.gis[gi_id] = fake_cards.GpuInstance(gi_id, profile,
                                                     *free[0])
        abi.set_handle(gi_ref, self._handle(
            gi, pynvml.c_nvmlGpuInstance_t))

    def nvmlDeviceCreateGpuInstance(self, handle, profile_id, gi_ref):
        self._create_gi(handle, profile_id, None, gi_ref)

    def nvmlDeviceCreateGpuInstanceWithPlacement(self, handle, profile_id,
                                                 placement_ref, gi_ref):
        placement = abi.out(placement_ref)
        self._create_gi(handle, profile_id,
                        (placement.start, placement.size), gi_ref)

    def nvmlGpuInstanceDestroy(self, handle):
        gpu, gi = self._gi_of(handle)
        self._check_privileged()
        if gi.cis:
            raise abi.Ret(pynvml.NVML_ERROR_IN_USE)
        del gpu.gis[gi.id]
        self._forget(gi)

    # -- compute instances ----------------------------------------------------
    def nvmlGpuInstanceGetComputeInstanceProfileInfoV(self, handle, enum,
                                                      engine, info_ref):
        _gpu, gi = self._gi_of(handle)
        info = abi.out(info_ref)
        if info.version != pynvml.nvmlComputeInstanceProfileInfo_v2:
            raise abi.Ret(pynvml.NVML_ERROR_ARGUMENT_VERSION_MISMATCH)
        if (engine != pynvml.NVML_COMPUTE_INSTANCE_ENGINE_PROFILE_SHARED or
                not 0 <= enum < pynvml.NVML_COMPUTE_INSTANCE_PROFILE_COUNT):
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        slices = dict(CI_PROFILES).get(enum)
        if slices is None or slices > gi.profile.slice_count:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_SUPPORTED)
        info.id, info.sliceCount = enum, slices
        info.instanceCount = gi.profile.slice_count // slices
        info.name = ('%dc.%s' % (slices, gi.profile.name[4:])).encode()

    def nvmlGpuInstanceCreateComputeInstance(self, handle, profile_id,
                                             ci_ref):
        _gpu, gi = self._gi_of(handle)
        self._check_privileged()
        slices = dict(CI_PROFILES).get(profile_id)
        if slices is None or slices > gi.profile.slice_count:
            raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        used = sum(ci.slice_count for ci in gi.cis.values())
        if used + slices > gi.profile.slice_count:
            raise abi.Ret(pynvml.NVML_ERROR_INSUFFICIENT_RESOURCES)
        ci_id = min(set(range(64)) - set(gi.cis))
        ci = gi.cis[ci_id] = fake_cards.ComputeInstance(ci_id, profile_id,
                                                        slices)
        abi.set_handle(ci_ref, self._handle(
            ci, pynvml.c_nvmlComputeInstance_t))

    def nvmlGpuInstanceGetComputeInstances(self, handle, profile_id, array,
                                           count_ref):
        _gpu, gi = self._gi_of(handle)
        cis = [ci for ci in gi.cis.values() if ci.profile_id == profile_id]
        self._fill(array, count_ref, cis, pynvml.c_nvmlComputeInstance_t)

    def nvmlGpuInstanceGetComputeInstanceById(self, handle, ci_id, ci_ref):
        _gpu, gi = self._gi_of(handle)
        ci = gi.cis.get(abi.val(ci_id))
        if ci is None:
            raise abi.Ret(pynvml.NVML_ERROR_NOT_FOUND)
        abi.set_handle(ci_ref, self._handle(
            ci, pynvml.c_nvmlComputeInstance_t))

    def _ci_owner(self, ci: fake_cards.ComputeInstance) -> tuple:
        for gpu in self.gpus:
            for gi in gpu.gis.values():
                if ci in gi.cis.values():
                    return gpu, gi
        raise abi.Ret(pynvml.NVML_ERROR_INVALID_ARGUMENT)

    def nvmlComputeInstanceGetInfo_v2(self, handle, info_ref):
        ci = self._obj(handle, fake_cards.ComputeInstance)
        gpu, gi = self._ci_owner(ci)
        info = abi.out(info_ref)
        info.device = self._handle(gpu, pynvml.c_nvmlDevice_t)
        info.gpuInstance = self._handle(gi, pynvml.c_nvmlGpuInstance_t)
        info.id, info.profileId = ci.id, ci.profile_id
        info.placement.start, info.placement.size = 0, ci.slice_count

    def nvmlComputeInstanceDestroy(self, handle):
        ci = self._obj(handle, fake_cards.ComputeInstance)
        _gpu, gi = self._ci_owner(ci)
        self._check_privileged()
        if ci.processes:
            raise abi.Ret(pynvml.NVML_ERROR_IN_USE)
        del gi.cis[ci.id]
        self._migs.pop((id(gi), id(ci)), None)
        self._forget(ci)

    # -- MIG devices and processes --------------------------------------------
    def _mig_devices(self, gpu: fake_cards.Gpu) -> list[_MigDevice]:
        return [_MigDevice(gpu, gi, ci)
                for gi in sorted(gpu.gis.values(), key=lambda g: g.id)
                for ci in sorted(gi.cis.values(), key=lambda c: c.id)]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle, count_ref):
        gpu = self._gpu(handle)
        count = gpu.max_mig_devices if gpu.mig_capable else 0
        abi.out(count_ref).value = count

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle, index, mig_ref):
        devices = self._mig_devices(self._mig_gpu(handle))
        if abi.val(index) >= len(devices):
            raise abi.Ret(pynvml.NVML_ERROR_NOT_FOUND)
        mig = devices[abi.val(index)]
        # One handle per MIG device, as NVML hands out.
        mig = self._migs.setdefault((id(mig.gi), id(mig.ci)), mig)
        abi.set_handle(mig_ref, self._handle(
            mig, pynvml.c_nvmlDevice_t))

    def nvmlDeviceGetGpuInstanceId(self, handle, id_ref):
        abi.out(id_ref).value = self._obj(handle, _MigDevice).gi.id

    def nvmlDeviceGetComputeRunningProcesses_v3(self, handle, count_ref,
                                                array):
        mig = self._obj(handle, _MigDevice)

        def fill(arr, i, pid):
            arr[i].pid, arr[i].usedGpuMemory = pid, 512 * _MIB
            arr[i].gpuInstanceId = mig.gi.id
            arr[i].computeInstanceId = mig.ci.id
        self._fill_array(count_ref, array, mig.ci.processes, fill)


class FakeNvmlFixture(fixtures.Fixture):
    """Install a :class:`FakeNvml` as the library ``pynvml`` talks to.

    :param library_missing: make ``nvmlInit`` fail as on a host without
        libnvidia-ml.so.1 (``pynvml``'s own ``CDLL`` load fails).
    """

    def __init__(self, gpus: list[fake_cards.Gpu] | None = None,
                 library_missing: bool = False, **kwargs):
        super().__init__()
        self.fake = FakeNvml(gpus or [], **kwargs)
        self.library_missing = library_missing

    def _setUp(self):
        def no_library(name, *args, **kwargs):
            raise OSError('%s: cannot open shared object file' % name)

        lib = None if self.library_missing else _Library(self.fake)
        for name, value in (
                ('pynvml.nvmlLib', lib),
                ('pynvml._nvmlGetFunctionPointer_cache', {}),
                ('pynvml._nvmlLib_refcount', 0),
                ('pynvml.CDLL', no_library),
                ('pynvml.NVMLError._errcode_to_string',
                 dict(pynvml.NVMLError._errcode_to_string))):
            self.useFixture(fixtures.MonkeyPatch(name, value))
