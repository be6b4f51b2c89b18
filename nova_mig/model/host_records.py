# SPDX-License-Identifier: Apache-2.0

"""What discovery reports about a compute host: plain typed records.

The sysfs records (vGPU parents, their types, mdevs, SR-IOV functions), the
libvirt records (domains, mdev node devices) and the :class:`HostReport`
joining them with the GPU backend's :mod:`nova_mig.model.gpu_records` data.
:mod:`nova_mig.host` reads them; every package above uses them.
"""

import dataclasses
import typing

from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import vgpu_types


class VgpuDevice(typing.TypedDict):
    """A vGPU device as :meth:`HostReport.vgpu_devices` lists it.

    JSON-ready: the discover document's ``vgpu_devices`` entries, key for
    key.
    """

    #: The mdev UUID; None for a vendor-VFIO vGPU (keyed by its VF).
    uuid: str | None
    #: The PCI address of the parent (VF or PF).
    parent: str
    #: The PCI address of the GPU (PF).
    gpu: str
    #: The type ID: ``nvidia-<N>`` (mdev) or ``<N>`` (vendor VFIO).
    type: str
    type_name: str | None
    #: The MIG profile backing the type; None when time-sliced or unknown.
    profile: str | None
    mapping: str | None
    gpu_instance_id: int | None
    #: The first domain referencing the device, and its state.
    domain: str | None
    domains: list[str]
    domain_state: str | None
    libvirt_node_device: str | None


#: The version of the discover document :meth:`HostReport.as_dict` makes
#: (its schema and reader: :mod:`nova_mig.documents.discover`). Raise it
#: when a key the planner reads changes meaning or goes away.
DOCUMENT_VERSION = 1


# -- sysfs ---------
@dataclasses.dataclass(frozen=True)
class MdevType:
    """One entry of a parent's ``mdev_supported_types``."""

    id: str                    # "nvidia-699"
    name: str                  # "NVIDIA A100D-1-10C"
    description: dict[str, str]
    available_instances: int
    device_api: str
    devices: tuple[str, ...]   # UUIDs of the mdevs of this type


@dataclasses.dataclass(frozen=True)
class VgpuParent:
    """A device that can carry vGPUs: an SR-IOV VF or a PF."""

    address: str
    pf_address: str            # its own address when it is a PF
    mode: str                  # a constants.DEVICE_MODES entry
    types: tuple[MdevType, ...]
    #: vendor VFIO only: the vGPU type ID the VF carries (0 = none).
    current_type: int = 0
    #: vendor VFIO only, from the VF's ``nvidia/`` files while it carries a
    #: vGPU: the GPU instance it sits on (``gpu_instance_id``), its
    #: ``placement_id`` and its ``vgpu_params``; None / empty otherwise.
    gpu_instance_id: int | None = None
    placement_id: int | None = None
    vgpu_params: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Mdev:
    """An existing mediated device."""

    uuid: str
    type_id: str
    parent: str
    iommu_group: int | None


@dataclasses.dataclass(frozen=True)
class SriovPf:
    """SR-IOV state of a physical function."""

    address: str
    total_vfs: int
    num_vfs: int
    vfs: tuple[str, ...]


# -- libvirt ---------
@dataclasses.dataclass(frozen=True)
class Domain:
    """A libvirt domain and the host devices it references."""

    name: str
    uuid: str
    state: str
    persistent: bool
    #: True when the domain carries Nova's metadata (an instance).
    nova_instance: bool
    mdev_uuids: tuple[str, ...]
    pci_addresses: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class MdevNodeDevice:
    """A libvirt node device of the ``mdev`` capability."""

    name: str
    uuid: str
    parent: str | None         # PCI address of the parent when known
    type_id: str | None


# -- the report ---------
@dataclasses.dataclass
class HostReport:
    """Everything discovered about a host, with the raw records kept."""

    hostname: str
    device_mode: str
    gpus: list[gpu_records.Gpu]
    parents: list[VgpuParent]
    mdevs: list[Mdev]
    sriov: dict[str, SriovPf]
    domains: list[Domain]
    node_devices: list[MdevNodeDevice]

    # -- lookups ----------------------------------------------------------
    def gpu_by_address(self, address: str) -> gpu_records.Gpu | None:
        for gpu in self.gpus:
            if gpu.pci_address == address:
                return gpu
        return None

    def domains_using(self, mdev_uuid: str | None = None,
                      pci_address: str | None = None) -> list[Domain]:
        """Domains referencing an mdev UUID or a PCI address."""
        return [d for d in self.domains
                if (mdev_uuid and mdev_uuid in d.mdev_uuids) or
                (pci_address and pci_address in d.pci_addresses)]

    def type_names(self) -> dict[str, str]:
        """Type ID -> type name, from sysfs and from the GPU backend."""
        names: dict[str, str] = {}
        for gpu in self.gpus:
            for vtype in gpu.vgpu_types or ():
                names['nvidia-%d' % vtype.id] = vtype.name
                names[str(vtype.id)] = vtype.name
        for parent in self.parents:
            for mtype in parent.types:
                names[mtype.id] = mtype.name
        return names

    # -- vGPU devices -------------------------------------------------------
    def vgpu_devices(self) -> list[VgpuDevice]:
        """Every vGPU device (mdev, or vendor-VFIO VF with a type)."""
        names = self.type_names()
        node_devices = {d.uuid: d.name for d in self.node_devices}
        devices = []
        for mdev in self.mdevs:
            devices.append(self._device(
                uuid=mdev.uuid, parent=mdev.parent, type_id=mdev.type_id,
                type_name=names.get(mdev.type_id),
                domains=self.domains_using(mdev_uuid=mdev.uuid),
                node_device=node_devices.get(mdev.uuid)))
        for parent in self.parents:
            if (parent.mode != constants.MODE_VENDOR_VFIO or
                    not parent.current_type):
                continue
            type_id = str(parent.current_type)
            devices.append(self._device(
                uuid=None, parent=parent.address, type_id=type_id,
                type_name=names.get(type_id),
                domains=self.domains_using(pci_address=parent.address),
                node_device=None))
        return devices

    def _device(self, uuid: str | None, parent: str, type_id: str,
                type_name: str | None, domains: list[Domain],
                node_device: str | None) -> VgpuDevice:
        pf = self._pf_of(parent)
        gpu = self.gpu_by_address(pf)
        gi_id = None
        if gpu is not None and uuid:
            for active in gpu.active_vgpus:
                if active.mdev_uuid == uuid:
                    gi_id = active.gpu_instance_id
        if gi_id is None:
            # Vendor-specific VFIO: what the VF's nvidia/gpu_instance_id says.
            gi_id = self._vf_gpu_instance(parent)
        backing = (vgpu_types.backing(type_name, gpu) if type_name
                   else None)
        return {
            'uuid': uuid,
            'parent': parent,
            'gpu': pf,
            'type': type_id,
            'type_name': type_name,
            'profile': backing.profile if backing else None,
            'mapping': backing.mapping if backing else None,
            'gpu_instance_id': gi_id,
            'domain': domains[0].name if domains else None,
            'domains': [d.name for d in domains],
            'domain_state': domains[0].state if domains else None,
            'libvirt_node_device': node_device,
        }

    def _vf_gpu_instance(self, address: str) -> int | None:
        for parent in self.parents:
            if parent.address == address and parent.current_type:
                return parent.gpu_instance_id
        return None

    def _pf_of(self, address: str) -> str:
        for parent in self.parents:
            if parent.address == address:
                return parent.pf_address
        for pf in self.sriov.values():
            if address in pf.vfs:
                return pf.address
        return address

    # -- serialisation --------------------------------------------------------
    def as_dict(self) -> dict[str, typing.Any]:
        """The report as the JSON document ``nova-mig discover`` prints."""
        devices = self.vgpu_devices()
        by_gi: dict[tuple[str, int], list[VgpuDevice]] = {}
        for dev in devices:
            if dev['gpu_instance_id'] is not None:
                by_gi.setdefault((dev['gpu'], dev['gpu_instance_id']),
                                 []).append(dev)
        gpus = []
        type_id = ('nvidia-%d' if self.device_mode == constants.MODE_MDEV
                   else '%d')
        for gpu in self.gpus:
            pf = self.sriov.get(gpu.pci_address)
            instances = []
            for gi in sorted(gpu.gpu_instances,
                             key=lambda g: g.placement.start):
                gi_devs = by_gi.get((gpu.pci_address, gi.id), [])
                gi_dev = gi_devs[0] if gi_devs else None
                instances.append({
                    'id': gi.id,
                    'profile': gi.profile_name,
                    'profile_id': gi.profile_id,
                    'placement_start': gi.placement.start,
                    'placement_size': gi.placement.size,
                    'compute_instances': len(gi.compute_instances),
                    'processes': list(gi.processes),
                    'vgpu_device': (gi_dev['uuid'] or gi_dev['parent'])
                    if gi_dev else None,
                    # Several with time-sliced MIG-backed types.
                    'vgpu_devices': [d['uuid'] or d['parent']
                                     for d in gi_devs],
                    # What NVML says it can create there now, as type
                    # IDs of the host's device mode (those of
                    # vgpu_devices' "type"); None where the driver cannot
                    # tell.
                    'creatable_vgpu_types': (
                        None if gi.creatable_vgpu_types is None
                        else [type_id % t
                              for t in gi.creatable_vgpu_types]),
                    'in_use': bool(gi.processes) or any(
                        d['domain'] for d in gi_devs),
                })
            gpus.append({
                'index': gpu.index,
                'pci_address': gpu.pci_address,
                'uuid': gpu.uuid,
                'model': gpu.name,
                'pci_device_id': '0x%08X' % gpu.pci_device_id,
                'compute_capability': '%d.%d' % gpu.compute_capability,
                'memory_total_mb': gpu.memory_total_mb,
                'mig_capable': gpu.mig_capable,
                'mig_mode': mig_word(gpu.mig_current),
                'mig_pending': mig_word(gpu.mig_pending),
                'memory_slices': memory_slices(gpu),
                'sriov_vfs': ({'total': pf.total_vfs, 'enabled': pf.num_vfs}
                              if pf else None),
                'gpu_instances': instances,
                'profiles': [profile_dict(p) for p in gpu.profiles],
                'type_mapping': type_mapping(gpu),
            })
        parents = []
        for parent in self.parents:
            pf_gpu = self.gpu_by_address(parent.pf_address)
            parents.append({
                'address': parent.address,
                'pf_address': parent.pf_address,
                'mode': parent.mode,
                'current_type': (str(parent.current_type)
                                 if parent.current_type else None),
                'gpu_instance_id': parent.gpu_instance_id,
                'types': [_type_dict(t, vgpu_types.backing(t.name, pf_gpu))
                          for t in parent.types],
            })
        return {
            'version': DOCUMENT_VERSION,
            'hostname': self.hostname,
            'device_mode': self.device_mode,
            'gpus': gpus,
            'vgpu_parents': parents,
            'vgpu_devices': devices,
            'domains': [{
                'name': d.name, 'uuid': d.uuid, 'state': d.state,
                'nova_instance': d.nova_instance,
                'mdevs': list(d.mdev_uuids),
                'pci_devices': list(d.pci_addresses),
            } for d in self.domains],
        }


def profile_dict(profile: gpu_records.GpuInstanceProfile
                 ) -> dict[str, typing.Any]:
    """A GPU-instance profile with its placements, as discover prints it.

    The rebalance planner enumerates each GPU's valid geometries from it.
    """
    return {'id': profile.id, 'name': profile.name,
            'slices': profile.slice_count, 'memory_mb': profile.memory_mb,
            'instances': profile.instance_count,
            'multiprocessors': profile.multiprocessor_count,
            'placements': [{'start': p.start, 'size': p.size}
                           for p in profile.placements]}


def _type_dict(mtype: MdevType, backing: vgpu_types.Backing
               ) -> dict[str, typing.Any]:
    return {'id': mtype.id, 'name': mtype.name, 'profile': backing.profile,
            'per_gpu_instance': backing.per_gpu_instance,
            'mapping': backing.mapping,
            'available_instances': mtype.available_instances}


def type_mapping(gpu: gpu_records.Gpu) -> str | None:
    """How the GPU's vGPU types map to profiles: ``driver`` or ``name``.

    None without a vGPU manager.
    """
    if gpu.vgpu_types is None:
        return None
    if gpu.vgpu_types and all(t.profile_from_driver
                              for t in gpu.vgpu_types):
        return vgpu_types.MAPPING_DRIVER
    return vgpu_types.MAPPING_NAME


def mig_word(value: int) -> str:
    """A MIG mode as reports and host files spell it."""
    return 'enabled' if value == gpu_records.MIG_ENABLED else 'disabled'


def memory_slices(gpu: gpu_records.Gpu) -> int:
    """Memory slices of a MIG-capable GPU: the end of its widest placement."""
    ends = [p.start + p.size for prof in gpu.profiles
            for p in prof.placements]
    return max(ends) if ends else 0
