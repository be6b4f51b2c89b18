"""Discover a compute host: GPUs, MIG geometry, vGPU parents, devices, guests.

:func:`discover` joins what three sources say (the GPU backend, sysfs and
libvirt) into one :class:`HostReport`, the input of every other nova-mig
command.
"""

import dataclasses
import socket

from oslo_log import log as logging

from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import gpu as gpu_model
from nova_mig.model import vgpu_types

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class HostReport:
    """Everything discovered about a host, with the raw records kept."""

    hostname: str
    device_mode: str
    gpus: list[gpu_model.Gpu]
    parents: list[sysfs.VgpuParent]
    mdevs: list[sysfs.Mdev]
    sriov: dict[str, sysfs.SriovPf]
    domains: list[virt.Domain]
    node_devices: list[virt.MdevNodeDevice]

    # -- lookups ----------------------------------------------------------
    def gpu_by_address(self, address: str) -> gpu_model.Gpu | None:
        for gpu in self.gpus:
            if gpu.pci_address == address:
                return gpu
        return None

    def domains_using(self, mdev_uuid: str | None = None,
                      pci_address: str | None = None) -> list[virt.Domain]:
        """Domains referencing an mdev UUID or a PCI address."""
        return [d for d in self.domains
                if (mdev_uuid and mdev_uuid in d.mdev_uuids) or
                (pci_address and pci_address in d.pci_addresses)]

    def type_names(self) -> dict[str, str]:
        """Type ID -> type name, from sysfs and from the GPU backend."""
        names = {}
        for gpu in self.gpus:
            for vtype in gpu.vgpu_types or ():
                names['nvidia-%d' % vtype.id] = vtype.name
                names[str(vtype.id)] = vtype.name
        for parent in self.parents:
            for mtype in parent.types:
                names[mtype.id] = mtype.name
        return names

    def profile_of_type(self, type_name: str, gpu: gpu_model.Gpu | None
                        ) -> str | None:
        names = None
        if gpu is not None and gpu.profiles:
            names = {p.name for p in gpu.profiles}
        return vgpu_types.profile_for(type_name, names)

    # -- vGPU devices -------------------------------------------------------
    def vgpu_devices(self) -> list[dict]:
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
            if (parent.mode != sysfs.MODE_VENDOR_VFIO or
                    not parent.current_type):
                continue
            type_id = str(parent.current_type)
            devices.append(self._device(
                uuid=None, parent=parent.address, type_id=type_id,
                type_name=names.get(type_id),
                domains=self.domains_using(pci_address=parent.address),
                node_device=None))
        return devices

    def _device(self, uuid, parent, type_id, type_name, domains,
                node_device) -> dict:
        pf = self._pf_of(parent)
        gpu = self.gpu_by_address(pf)
        gi_id = None
        if gpu is not None and uuid:
            for active in gpu.active_vgpus:
                if active.mdev_uuid == uuid:
                    gi_id = active.gpu_instance_id
        return {
            'uuid': uuid,
            'parent': parent,
            'gpu': pf,
            'type': type_id,
            'type_name': type_name,
            'profile': (self.profile_of_type(type_name, gpu)
                        if type_name else None),
            'gpu_instance_id': gi_id,
            'domain': domains[0].name if domains else None,
            'domains': [d.name for d in domains],
            'domain_state': domains[0].state if domains else None,
            'libvirt_node_device': node_device,
        }

    def _pf_of(self, address: str) -> str:
        for parent in self.parents:
            if parent.address == address:
                return parent.pf_address
        for pf in self.sriov.values():
            if address in pf.vfs:
                return pf.address
        return address

    # -- serialisation --------------------------------------------------------
    def as_dict(self) -> dict:
        """The report as the JSON document ``nova-mig discover`` prints."""
        devices = self.vgpu_devices()
        by_gi = {}
        for dev in devices:
            if dev['gpu_instance_id'] is not None:
                by_gi[(dev['gpu'], dev['gpu_instance_id'])] = dev
        gpus = []
        for gpu in self.gpus:
            pf = self.sriov.get(gpu.pci_address)
            instances = []
            for gi in sorted(gpu.gpu_instances,
                             key=lambda g: g.placement.start):
                dev = by_gi.get((gpu.pci_address, gi.id))
                instances.append({
                    'id': gi.id,
                    'profile': gi.profile_name,
                    'profile_id': gi.profile_id,
                    'placement_start': gi.placement.start,
                    'placement_size': gi.placement.size,
                    'compute_instances': len(gi.compute_instances),
                    'processes': list(gi.processes),
                    'vgpu_device': (dev['uuid'] or dev['parent'])
                    if dev else None,
                    'in_use': bool(gi.processes) or bool(
                        dev and dev['domain']),
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
                'mig_mode': _mig_word(gpu.mig_current),
                'mig_pending': _mig_word(gpu.mig_pending),
                'memory_slices': memory_slices(gpu),
                'sriov_vfs': ({'total': pf.total_vfs, 'enabled': pf.num_vfs}
                              if pf else None),
                'gpu_instances': instances,
            })
        parents = []
        for parent in self.parents:
            gpu = self.gpu_by_address(parent.pf_address)
            parents.append({
                'address': parent.address,
                'pf_address': parent.pf_address,
                'mode': parent.mode,
                'current_type': (str(parent.current_type)
                                 if parent.current_type else None),
                'types': [{
                    'id': t.id,
                    'name': t.name,
                    'profile': self.profile_of_type(t.name, gpu),
                    'available_instances': t.available_instances,
                } for t in parent.types],
            })
        return {
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


def _mig_word(value: int) -> str:
    return 'enabled' if value == gpu_model.MIG_ENABLED else 'disabled'


def memory_slices(gpu: gpu_model.Gpu) -> int:
    """Memory slices of a MIG-capable GPU: the end of its widest placement."""
    ends = [p.start + p.size for prof in gpu.profiles
            for p in prof.placements]
    return max(ends) if ends else 0


def discover(backend, hostname: str | None = None) -> HostReport:
    """Discover the host behind a GPU backend.

    :param backend: a :class:`nova_mig.gpu.base.GpuBackend`; it also says
        where sysfs and libvirt are.
    :param hostname: the host's name; defaults to this machine's FQDN.
    :raises: :class:`nova_mig.exception.NovaMigException` subclasses naming
        the source that failed.
    """
    gpus = backend.list_gpus()
    reader = sysfs.SysfsReader(backend.sysfs_root())
    parents = reader.mdev_parents() + reader.vendor_vfio_parents()
    sriov = {}
    for gpu in gpus:
        pf = reader.sriov(gpu.pci_address)
        if pf is not None:
            sriov[gpu.pci_address] = pf
    host = virt.LibvirtHost(backend.libvirt_uri())
    try:
        domains = host.domains()
        node_devices = host.mdev_node_devices()
    finally:
        host.close()
    name = hostname or getattr(backend, 'hostname', None) or socket.getfqdn()
    return HostReport(
        hostname=name,
        device_mode=sysfs.mode_of(parents),
        gpus=gpus,
        parents=parents,
        mdevs=reader.mdevs(),
        sriov=sriov,
        domains=domains,
        node_devices=node_devices)
