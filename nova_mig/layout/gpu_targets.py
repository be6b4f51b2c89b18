# SPDX-License-Identifier: Apache-2.0

"""Validate a layout against a host and resolve what each GPU must become.

Everything is checked before anything is touched: profiles offered by the
GPU (as NVML reports them), the set fitting the card, at most one ``+me``,
a vGPU type for each profile in the host's device mode, enough VFs.  Each
error names the GPU, the profile and why.
"""

import dataclasses
import logging
import os
import uuid as uuid_mod

from nova_mig import exception
from nova_mig.layout import fit
from nova_mig.layout import spec
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types
from nova_mig import sysfs_gateway

LOG = logging.getLogger(__name__)

#: Namespace of the vGPU device UUIDs nova-mig derives.
UUID_NAMESPACE = uuid_mod.UUID('3c6f0f1e-5d0a-4b9e-8f43-9a1d2c7b6e55')


def device_uuid(hostname: str, gpu_uuid: str, what: str, where: int) -> str:
    """Deterministic vGPU UUID: host, GPU, profile (or type), placement."""
    return str(uuid_mod.uuid5(UUID_NAMESPACE, '%s/%s/%s/%d' % (
        hostname, gpu_uuid.lower(), what, where)))


@dataclasses.dataclass(frozen=True)
class TypeRef:
    """A vGPU type known by name, with this host's ID for it."""

    name: str                 # bare name: "A100D-1-10C"
    id: int | None

    @property
    def mdev_type(self) -> str | None:
        return None if self.id is None else 'nvidia-%d' % self.id


@dataclasses.dataclass(frozen=True)
class DeviceTarget:
    """A vGPU device a GPU must carry."""

    type: TypeRef
    #: mdev UUID; None in vendor-VFIO mode (the driver picks it).
    uuid: str | None
    #: VF index asked by the layout; None lets nova-mig choose.
    vf: int | None = None
    #: True when the layout gave the UUID (an existing one must match).
    uuid_given: bool = False


@dataclasses.dataclass(frozen=True)
class GiTarget:
    profile: gpu_records.GpuInstanceProfile
    placement: gpu_records.Placement
    device: DeviceTarget | None = None
    #: The second and further vGPUs sharing the instance (``vgpus: N``).
    more_devices: tuple[DeviceTarget, ...] = ()
    #: False: no compute instance is created on it.
    compute_instance: bool = True

    @property
    def devices(self) -> list[DeviceTarget]:
        """Every vGPU device wanted on the instance."""
        return ([self.device] if self.device else []) + list(
            self.more_devices)


@dataclasses.dataclass
class GpuTarget:
    """What one GPU must become."""

    gpu: gpu_records.Gpu
    entry: spec.GpuSpec
    mode: str
    #: None leaves the MIG mode as it is.
    mig: bool | None
    #: VFs wanted enabled; None leaves SR-IOV alone.
    sriov_vfs: int | None
    #: None leaves the MIG geometry alone.
    gpu_instances: list[GiTarget] | None
    #: None leaves time-sliced vGPUs alone.
    time_sliced: list[DeviceTarget] | None

    @property
    def label(self) -> str:
        return 'GPU %s (%s)' % (self.gpu.pci_address, self.gpu.name)

    def devices(self) -> list[DeviceTarget]:
        if self.gpu_instances is not None:
            return [d for gi in self.gpu_instances for d in gi.devices]
        return list(self.time_sliced or ())


Types = dict[str, TypeRef]


def _compute_type(name: str) -> bool:
    """True for a compute ("C") vGPU type."""
    parsed = vgpu_types.parse(name)
    return parsed is not None and parsed.series == 'C'


def host_types(report: host_records.HostReport, gpu: gpu_records.Gpu) -> Types:
    """vGPU types of a GPU by bare name: NVML's, then its parents'."""
    types: dict[str, TypeRef] = {}
    for vtype in gpu.vgpu_types or ():
        name = vgpu_types.bare_name(vtype.name)
        types[name] = TypeRef(name, vtype.id)
    for parent in report.parents:
        if parent.pf_address != gpu.pci_address:
            continue
        for mtype in parent.types:
            name = vgpu_types.bare_name(mtype.name)
            type_id = mtype.id.rpartition('-')[2]
            if name not in types:
                types[name] = TypeRef(
                    name, int(type_id) if type_id.isdigit() else None)
    return types


def resolve_mode(report: host_records.HostReport, gpu: gpu_records.Gpu,
                 sysfs_root: str) -> str:
    """The host's device mode, also when no VF is enabled yet."""
    if report.device_mode != constants.MODE_NONE:
        return report.device_mode
    if gpu.vgpu_types is None:
        return constants.MODE_NONE
    if os.path.isdir(sysfs_gateway.Sysfs(sysfs_root).path(
            sysfs_gateway.MDEV_BUS_CLASS)):
        return constants.MODE_MDEV
    if gpu.pci_address in report.sriov:
        return constants.MODE_VENDOR_VFIO
    return constants.MODE_NONE


class _Resolver:

    def __init__(self, report: host_records.HostReport, sysfs_root: str):
        self.report = report
        self.sysfs_root = sysfs_root
        self.errors: list[str] = []

    def error(self, gpu: gpu_records.Gpu, what: str, why: str) -> None:
        self.errors.append('GPU %s (%s): %s: %s' % (
            gpu.pci_address, gpu.name, what, why))

    def pick_type(self, gpu: gpu_records.Gpu, types: Types, profile: str,
                  asked: str | None) -> TypeRef | None:
        if asked:
            ref = types.get(vgpu_types.bare_name(asked))
            if ref is None:
                self.error(gpu, 'profile %s' % profile, 'vGPU type %s is '
                           'not offered on this GPU' % asked)
            elif vgpu_types.backing(ref.name, gpu).profile != profile:
                found = vgpu_types.backing(ref.name, gpu)
                self.error(gpu, 'profile %s' % profile, found.reason or (
                    'vGPU type %s is not backed by this profile' % asked))
                ref = None
            return ref
        matching = [types[n] for n in
                    vgpu_types.types_backed_by(profile, types, gpu)]
        if not matching:
            unknown = vgpu_types.unknown_among(
                (types[n].name for n in sorted(types)), gpu)
            self.error(gpu, 'profile %s' % profile, unknown or (
                'no vGPU type backed by this profile is offered on this GPU '
                '(offered: %s)' % (', '.join(sorted(types)) or 'none')))
            return None
        # Compute ("C") types first, then by name, so the choice is stable.
        matching.sort(key=lambda t: (not _compute_type(t.name), t.name))
        return matching[0]

    def sriov(self, gpu: gpu_records.Gpu, entry: spec.GpuSpec) -> int | None:
        pf = self.report.sriov.get(gpu.pci_address)
        asked = entry.sriov_vfs
        if asked is None:
            return None
        if pf is None or not pf.total_vfs:
            if asked not in (spec.ALL_VFS, 0):
                self.error(gpu, 'sriov_vfs', 'the GPU has no SR-IOV')
            return None
        if isinstance(asked, str):      # all of them
            return pf.total_vfs
        if asked > pf.total_vfs:
            self.error(gpu, 'sriov_vfs', '%d VFs asked, the GPU offers %d'
                       % (asked, pf.total_vfs))
            return None
        return asked

    def mig_geometry(self, gpu: gpu_records.Gpu, entry: spec.GpuSpec,
                     mode: str, types: Types) -> list[GiTarget] | None:
        if entry.gpu_instances is None:
            return None
        wanted = []
        for gi in entry.gpu_instances:
            profile = gpu.profile_by_name(gi.profile)
            if profile is None:
                self.error(gpu, 'profile %s' % gi.profile, 'not offered by '
                           'this GPU; it offers %s' % (', '.join(
                               p.name for p in gpu.profiles) or 'none'))
                continue
            wanted.append(fit.Wanted(profile, gi.placement))
        if len(wanted) != len(entry.gpu_instances):
            return None
        try:
            placements = fit.fit(gpu, wanted, gpu.gpu_instances)
        except fit.NoFit as e:
            self.error(gpu, 'profile %s' % e.profile, e.reason)
            return None
        result = []
        for gi, item, placement in zip(entry.gpu_instances, wanted,
                                       placements):
            device = self.device(gpu, entry, mode, types, gi, item.profile,
                                 placement)
            result.append(GiTarget(item.profile, placement, device,
                                   self.more_devices(gpu, mode, gi, device,
                                                     placement),
                                   compute_instance=gi.compute_instance))
        return result

    def more_devices(self, gpu: gpu_records.Gpu, mode: str, gi: spec.GiSpec,
                     first: DeviceTarget | None,
                     placement: gpu_records.Placement
                     ) -> tuple[DeviceTarget, ...]:
        """The vGPUs after the first on a shared GPU instance."""
        if gi.vgpus == 1 or first is None:
            return ()
        what = 'profile %s at %d' % (gi.profile, placement.start)
        limit = vgpu_types.backing(first.type.name, gpu).per_gpu_instance
        if gi.vgpus > limit:
            self.error(gpu, what, '%d vGPUs of %s wanted, the driver allows '
                       '%d per GPU instance' % (gi.vgpus, first.type.name,
                                                limit))
            return ()
        return tuple(self._device_target(
            gpu, mode, first.type, None, what,
            '%s/%d' % (gi.profile, n), placement.start)
            for n in range(1, gi.vgpus))

    def device(self, gpu: gpu_records.Gpu, entry: spec.GpuSpec, mode: str,
               types: Types, gi: spec.GiSpec,
               profile: gpu_records.GpuInstanceProfile,
               placement: gpu_records.Placement) -> DeviceTarget | None:
        asked = gi.vgpu if isinstance(gi.vgpu, spec.VgpuSpec) else None
        wanted = (gi.vgpu is not False and
                  (gi.vgpu is not None or entry.vgpus == 'all'))
        if not wanted:
            return None
        what = 'profile %s at %d' % (profile.name, placement.start)
        if mode == constants.MODE_NONE:
            self.error(gpu, what, 'a vGPU device is wanted but the host '
                       'has no vGPU manager or device mode (mdev or '
                       'vendor-vfio); set "vgpus: none" for bare MIG')
            return None
        ref = self.pick_type(gpu, types, profile.name,
                             asked.type if asked else None)
        if ref is None:
            return None
        return self._device_target(gpu, mode, ref, asked, what, profile.name,
                                   placement.start)

    def _device_target(self, gpu: gpu_records.Gpu, mode: str, ref: TypeRef,
                       asked: spec.VgpuSpec | None, what: str, key: str,
                       where: int) -> DeviceTarget:
        dev_uuid = asked.uuid if asked else None
        if mode == constants.MODE_VENDOR_VFIO:
            if dev_uuid:
                self.error(gpu, what, 'a vGPU UUID cannot be chosen in '
                           'vendor-vfio mode (the driver assigns it)')
            dev_uuid = None
        elif dev_uuid is None:
            dev_uuid = device_uuid(self.report.hostname, gpu.uuid, key,
                                   where)
        given = bool(asked and asked.uuid)
        return DeviceTarget(ref, dev_uuid, asked.vf if asked else None,
                            given and mode != constants.MODE_VENDOR_VFIO)

    def time_sliced(self, gpu: gpu_records.Gpu, sliced: spec.TimeSlicedSpec,
                    mode: str, types: Types) -> list[DeviceTarget]:
        ref = types.get(vgpu_types.bare_name(sliced.type))
        what = 'vGPU type %s' % sliced.type
        parsed = vgpu_types.parse(sliced.type)
        if mode == constants.MODE_NONE:
            self.error(gpu, what, 'the host has no vGPU manager')
            return []
        if (ref is None or parsed is None or
                vgpu_types.backing(ref.name, gpu).profile is not None):
            self.error(gpu, what, 'not a time-sliced vGPU type offered on '
                       'this GPU (offered: %s)' % ', '.join(
                           n for n in sorted(types)
                           if not vgpu_types.backing(n, gpu).profile))
            return []
        limit = {vgpu_types.bare_name(t.name): t.max_instances
                 for t in gpu.vgpu_types or ()}.get(ref.name)
        if limit is not None and sliced.count > limit:
            self.error(gpu, what, '%d devices wanted, the type allows %d '
                       'per GPU' % (sliced.count, limit))
        result = [self._device_target(gpu, mode, ref, d, what, ref.name, n)
                  for n, d in enumerate(sliced.devices)]
        n = len(result)
        while len(result) < sliced.count:
            result.append(self._device_target(gpu, mode, ref, None, what,
                                              ref.name, n))
            n += 1
        return result

    def check_vfs(self, target: GpuTarget) -> None:
        devices = target.devices()
        gpu = target.gpu
        pf = self.report.sriov.get(gpu.pci_address)
        if pf is None or not pf.total_vfs or not devices:
            return
        vfs = target.sriov_vfs if target.sriov_vfs is not None \
            else pf.num_vfs
        if len(devices) > vfs:
            self.error(gpu, 'vGPU devices', '%d devices need as many VFs '
                       '(one vGPU per VF), %d are enabled or asked' % (
                           len(devices), vfs))
        seen = set()
        for dev in devices:
            if dev.vf is None:
                continue
            if dev.vf >= vfs or dev.vf in seen:
                self.error(gpu, 'vGPU on VF %d' % dev.vf, 'the VF is %s' % (
                    'taken twice' if dev.vf in seen else
                    'beyond the %d VFs enabled or asked' % vfs))
            seen.add(dev.vf)

    def resolve(self, gpu: gpu_records.Gpu, entry: spec.GpuSpec) -> GpuTarget:
        mode = resolve_mode(self.report, gpu, self.sysfs_root)
        if (entry.device_mode != constants.MODE_AUTO and
                mode not in (constants.MODE_NONE, entry.device_mode)):
            self.error(gpu, 'device_mode', '%s asked but the host runs %s'
                       % (entry.device_mode, mode))
        if entry.mig is not None and not gpu.mig_capable and entry.mig:
            self.error(gpu, 'mig', 'the GPU is not MIG capable')
        types = host_types(self.report, gpu)
        target = GpuTarget(
            gpu=gpu, entry=entry, mode=mode,
            mig=entry.mig if gpu.mig_capable else None,
            sriov_vfs=self.sriov(gpu, entry),
            gpu_instances=(self.mig_geometry(gpu, entry, mode, types)
                           if gpu.mig_capable else None),
            time_sliced=(self.time_sliced(gpu, entry.time_sliced, mode, types)
                         if entry.time_sliced else None))
        if target.mig is False:
            target.gpu_instances = []
        self.check_vfs(target)
        return target


def _uuids_elsewhere(report: host_records.HostReport,
                     targets: list[GpuTarget]) -> list[str]:
    """A wanted UUID the host already has, on another GPU: refused now.

    The kernel would refuse the create (EEXIST) half-way through an apply.
    """
    pf_of = {p.address: p.pf_address for p in report.parents}
    where = {m.uuid: pf_of.get(m.parent, m.parent) for m in report.mdevs}
    errors = []
    for target in targets:
        for device in target.devices():
            other = where.get(device.uuid or '')
            if other is not None and other != target.gpu.pci_address:
                errors.append('vGPU UUID %s already exists on GPU %s; '
                              'UUIDs are unique across the host'
                              % (device.uuid, other))
    return errors


def resolve(report: host_records.HostReport, layout: spec.Layout,
            sysfs_root: str) -> list[GpuTarget]:
    """Validate ``layout`` on the host and resolve each selected GPU.

    :raises: :class:`nova_mig.exception.LayoutValidationFailed` listing
        every problem; nothing has been changed.
    """
    pairs, errors = spec.select(layout, report.gpus)
    resolver = _Resolver(report, sysfs_root)
    resolver.errors += errors
    targets = [resolver.resolve(gpu, entry) for gpu, entry in pairs]
    uuids = [d.uuid for t in targets for d in t.devices() if d.uuid]
    for dup in sorted({u for u in uuids if uuids.count(u) > 1}):
        resolver.errors.append('vGPU UUID %s is used twice' % dup)
    resolver.errors += _uuids_elsewhere(report, targets)
    if resolver.errors:
        raise exception.LayoutValidationFailed(
            path=layout.source, host=report.hostname,
            errors='\n'.join('  - %s' % e for e in resolver.errors),
            error_list=resolver.errors)
    return targets
