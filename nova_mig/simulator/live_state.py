# SPDX-License-Identifier: Apache-2.0

"""The live state of the simulated host and the kernel rules on vGPUs."""

import collections
import copy
import errno
import hashlib
import logging
import os
import typing

from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.simulator import gpu_catalog
from nova_mig.simulator import pci

LOG = logging.getLogger(__name__)

STATE_VERSION = 1


# -- the records of state.json (plain dicts: the state is saved as JSON) ----
class ComputeInstanceRecord(typing.TypedDict):
    id: int
    profile_id: int


class GpuInstanceRecord(typing.TypedDict):
    id: int
    profile_id: int
    #: The placement start.
    start: int
    compute_instances: list[ComputeInstanceRecord]
    #: IDs of the processes running on it.
    processes: list[int]


class GpuRecord(typing.TypedDict):
    index: int
    #: The catalog key of its GPU model.
    model: str
    pci_address: str
    uuid: str
    #: ``MIG_ENABLED`` or ``MIG_DISABLED`` of
    #: :mod:`nova_mig.model.gpu_records`.
    mig_current: int
    mig_pending: int
    numvfs: int
    #: Hopper: a MIG mode change stays pending until a GPU reset.
    mig_mode_needs_reset: typing.NotRequired[bool]
    gpu_instances: list[GpuInstanceRecord]


class VgpuRecord(typing.TypedDict):
    uuid: str
    type_id: int
    #: Index of the GPU it runs on.
    gpu: int
    #: PCI address of its parent function (a VF, or the PF).
    parent: str
    gpu_instance_id: int | None
    iommu_group: int


class DomainRecord(typing.TypedDict):
    name: str
    uuid: str
    #: One of :data:`DOMAIN_STATES`.
    state: str
    #: Whether Nova created it (it carries Nova's metadata).
    nova: bool
    display_name: str
    mdevs: list[str]
    pci_hostdevs: list[str]


class StateData(typing.TypedDict):
    """What ``state.json`` holds; :func:`empty` builds one."""

    version: int
    hostname: str
    device_mode: str
    vgpu_manager: bool
    mdev_node_name: str
    next_iommu_group: int
    serial: int
    gpus: list[GpuRecord]
    vgpus: list[VgpuRecord]
    domains: list[DomainRecord]
    sriov_manage: typing.NotRequired[bool]
    #: A captured host's own GPU models, in the catalog's form.
    models: typing.NotRequired[gpu_catalog.Data]
    host_file: typing.NotRequired[str]
    host_file_sha256: typing.NotRequired[str]


def file_digest(content: bytes) -> str:
    """SHA-256 of a host file or a saved state, as the state records it."""
    return hashlib.sha256(content).hexdigest()


DOMAIN_STATES = ('running', 'paused', 'shutoff')
#: Domain states in which QEMU holds its devices open.
ACTIVE_DOMAIN_STATES = ('running', 'paused')


def kernel_error(code: int, reason: str) -> OSError:
    """An ``OSError`` as a failed sysfs write raises it."""
    return OSError(code, '%s: %s' % (os.strerror(code), reason))


class HostState:
    """The simulated host: a JSON-able dict plus the rules that change it.

    The dict is what ``state.json`` holds (:class:`StateData`).
    Methods raise ``OSError`` with the errno the kernel gives for refused
    vGPU and SR-IOV changes; the card operations live in
    :mod:`nova_mig.simulator.card`.
    """

    def __init__(self, data: StateData,
                 catalog: gpu_catalog.Catalog | None = None) -> None:
        self.data = data
        # A captured host's own GPU models travel with its state.
        self.catalog = (catalog or gpu_catalog.default_catalog()).extended(
            data.get('models'))

    # -- plain accessors ------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self.data['hostname']

    @property
    def device_mode(self) -> str:
        return self.data['device_mode']

    @property
    def vgpu_manager(self) -> bool:
        return self.data['vgpu_manager']

    @property
    def sriov_manage(self) -> bool:
        """NVIDIA's vendor-VFIO driver: VFs only through sriov-manage."""
        return (self.device_mode == constants.MODE_VENDOR_VFIO and
                bool(self.data.get('sriov_manage')))

    @property
    def gpus(self) -> list[GpuRecord]:
        return self.data['gpus']

    @property
    def vgpus(self) -> list[VgpuRecord]:
        return self.data['vgpus']

    @property
    def domains(self) -> list[DomainRecord]:
        return self.data['domains']

    def copy(self) -> 'HostState':
        return HostState(copy.deepcopy(self.data), self.catalog)

    def model(self, gpu: GpuRecord) -> gpu_catalog.GpuModel:
        return self.catalog.get(gpu['model'])

    def gpu_by_uuid(self, gpu_uuid: str) -> GpuRecord | None:
        for gpu in self.gpus:
            if gpu['uuid'] == gpu_uuid:
                return gpu
        return None

    def vf_addresses(self, gpu: GpuRecord) -> list[str]:
        return [pci.vf_address(gpu['pci_address'], i)
                for i in range(gpu['numvfs'])]

    def locate(self, address: str) -> tuple[GpuRecord, int | None] | None:
        """The GPU owning a present PCI function, and its VF index."""
        for gpu in self.gpus:
            if gpu['pci_address'] == address:
                return gpu, None
            for index, vf in enumerate(self.vf_addresses(gpu)):
                if vf == address:
                    return gpu, index
        return None

    def vgpu_parents(self, gpu: GpuRecord) -> list[str]:
        """Functions of a GPU that can carry vGPUs (VFs, or the PF)."""
        if not self.vgpu_manager:
            return []
        if self.model(gpu).sriov:
            return self.vf_addresses(gpu)
        if self.device_mode == constants.MODE_MDEV:
            return [gpu['pci_address']]
        return []

    def mdev_parents(self) -> list[tuple[GpuRecord, str]]:
        """``(gpu, address)`` of every mdev parent (mdev mode only)."""
        if self.device_mode != constants.MODE_MDEV:
            return []
        return [(gpu, address) for gpu in self.gpus
                for address in self.vgpu_parents(gpu)]

    def vgpu(self, vgpu_uuid: str) -> VgpuRecord | None:
        for vgpu in self.vgpus:
            if vgpu['uuid'] == vgpu_uuid:
                return vgpu
        return None

    def vgpus_on(self, address: str) -> list[VgpuRecord]:
        return [v for v in self.vgpus if v['parent'] == address]

    def vgpus_of(self, gpu: GpuRecord) -> list[VgpuRecord]:
        return [v for v in self.vgpus if v['gpu'] == gpu['index']]

    def gpu_instance(self, gpu: GpuRecord, gi_id: int
                     ) -> GpuInstanceRecord | None:
        for gi in gpu['gpu_instances']:
            if gi['id'] == gi_id:
                return gi
        return None

    def vgpu_on_gi(self, gpu: GpuRecord, gi: GpuInstanceRecord
                   ) -> VgpuRecord | None:
        for vgpu in self.vgpus_of(gpu):
            if vgpu['gpu_instance_id'] == gi['id']:
                return vgpu
        return None

    def active_users(self, vgpu: VgpuRecord) -> list[DomainRecord]:
        """Running or paused domains holding the vGPU."""
        return [d for d in self.domains
                if d['state'] in ACTIVE_DOMAIN_STATES and
                (vgpu['uuid'] in d['mdevs'] or
                 vgpu['parent'] in d['pci_hostdevs'])]

    # -- availability --------------------------------------------------------
    def room_on_gi(self, gpu: GpuRecord, gi: GpuInstanceRecord,
                   vgpu_type: gpu_records.VgpuType | None) -> bool:
        """Whether the GI takes one more vGPU of the type.

        A GI holds one vGPU, or up to the type's per-instance maximum of
        vGPUs of that one type (time-sliced MIG-backed types).
        """
        on_gi = [v for v in self.vgpus_of(gpu)
                 if v['gpu_instance_id'] == gi['id']]
        if not on_gi:
            return True
        per_gi = (vgpu_type.max_instances_per_gi or 1) if vgpu_type else 1
        return (all(v['type_id'] == vgpu_type.id for v in on_gi)
                if vgpu_type else False) and len(on_gi) < per_gi

    def free_gpu_instance(self, gpu: GpuRecord, profile_id: int,
                          start: int | None = None,
                          vgpu_type: gpu_records.VgpuType | None = None
                          ) -> GpuInstanceRecord | None:
        """The GI of a profile with a CI and room for a vGPU.

        The one carrying the fewest vGPUs, then the lowest placed: several
        vGPUs of a time-sliced MIG-backed type spread over the instances
        (the simulator's choice; the real driver's is unverified).
        """
        candidates = [gi for gi in gpu['gpu_instances']
                      if gi['profile_id'] == profile_id and
                      start in (None, gi['start']) and
                      gi['compute_instances'] and
                      self.room_on_gi(gpu, gi, vgpu_type)]
        carried = collections.Counter(v['gpu_instance_id']
                                      for v in self.vgpus_of(gpu))
        return min(candidates, key=lambda gi: (carried[gi['id']],
                                               gi['start']), default=None)

    def available_instances(self, gpu: GpuRecord, address: str,
                            vgpu_type: gpu_records.VgpuType) -> int:
        """What ``available_instances`` of the type reads on a parent."""
        on_parent = self.vgpus_on(address)
        if vgpu_type.gpu_instance_profile_id is not None:
            if (on_parent or gpu['mig_current'] != gpu_records.MIG_ENABLED or
                    self.free_gpu_instance(
                        gpu, vgpu_type.gpu_instance_profile_id,
                        vgpu_type=vgpu_type) is None):
                return 0
            return 1
        if gpu['mig_current'] == gpu_records.MIG_ENABLED:
            return 0
        existing = self.vgpus_of(gpu)
        # One time-sliced type per physical GPU: any vGPU of another type,
        # used or not, blocks every other type.
        if any(v['type_id'] != vgpu_type.id for v in existing):
            return 0
        left = max(vgpu_type.max_instances - len(existing), 0)
        if address != gpu['pci_address']:
            # A VF carries at most one vGPU.
            return 0 if on_parent else min(left, 1)
        return left

    def listed_types(self, gpu: GpuRecord) -> list[gpu_records.VgpuType]:
        """Types the driver lists on the GPU's parents now.

        A MIG-capable card lists its MIG-backed types while MIG is enabled
        and its time-sliced types while it is disabled.
        """
        model = self.model(gpu)
        if not model.mig_capable:
            return list(model.vgpu_types)
        mig = gpu['mig_current'] == gpu_records.MIG_ENABLED
        return [t for t in model.vgpu_types
                if (t.gpu_instance_profile_id is not None) == mig]

    def creatable_types(self, gpu: GpuRecord, address: str
                        ) -> list[gpu_records.VgpuType]:
        return [t for t in self.listed_types(gpu)
                if self.available_instances(gpu, address, t) > 0]

    # -- kernel-side changes -------------------------------------------------
    def create_vgpu(self, address: str, type_id: int, vgpu_uuid: str,
                    gi_start: int | None = None) -> VgpuRecord:
        """Create a vGPU of a type on a parent function.

        A MIG-backed vGPU lands on the free GPU instance of its profile
        with the lowest placement start, or on the one at ``gi_start``.

        :raises: ``OSError`` ENODEV (no such parent), EINVAL (bad UUID or
            type), EEXIST (UUID in use), ENOSPC (no instance available; the
            simulator's choice, NVIDIA's real errno is unverified).
        """
        found = self.locate(address)
        if found is None or address not in self.vgpu_parents(found[0]):
            raise kernel_error(errno.ENODEV, 'no vGPU parent %s' % address)
        gpu = found[0]
        vgpu_type = self.model(gpu).vgpu_type(type_id)
        if vgpu_type is None or vgpu_type not in self.listed_types(gpu):
            raise kernel_error(errno.EINVAL, 'type %s not supported on %s'
                               % (type_id, address))
        if not constants.is_uuid(vgpu_uuid):
            raise kernel_error(errno.EINVAL, 'invalid UUID %r' % vgpu_uuid)
        if self.vgpu(vgpu_uuid) is not None:
            raise kernel_error(errno.EEXIST, 'mdev %s exists' % vgpu_uuid)
        if self.available_instances(gpu, address, vgpu_type) < 1:
            raise kernel_error(
                errno.ENOSPC, 'no %s instance available on %s'
                % (vgpu_type.name, address))
        gi_id = None
        if vgpu_type.gpu_instance_profile_id is not None:
            gi = self.free_gpu_instance(
                gpu, vgpu_type.gpu_instance_profile_id, gi_start,
                vgpu_type)
            if gi is None:
                raise kernel_error(
                    errno.ENOSPC, 'no free GPU instance at placement %s '
                    'for %s' % (gi_start, vgpu_type.name))
            gi_id = gi['id']
        vgpu: VgpuRecord = {
            'uuid': vgpu_uuid, 'type_id': type_id, 'gpu': gpu['index'],
            'parent': address, 'gpu_instance_id': gi_id,
            'iommu_group': self._next_iommu_group()}
        self.vgpus.append(vgpu)
        LOG.debug('Simulator created vGPU %s (%s) on %s', vgpu_uuid,
                  vgpu_type.name, address)
        return vgpu

    def remove_vgpu(self, vgpu_uuid: str) -> None:
        """Remove a vGPU.

        :raises: ``OSError`` ENODEV when it does not exist, EBUSY when a
            running or paused domain holds it.  The real kernel does not
            fail there, it BLOCKS until QEMU releases the device: EBUSY is
            a tripwire so tests catch code that removes a device in use.
        """
        vgpu = self.vgpu(vgpu_uuid)
        if vgpu is None:
            raise kernel_error(errno.ENODEV, 'no mdev %s' % vgpu_uuid)
        users = self.active_users(vgpu)
        if users:
            raise kernel_error(
                errno.EBUSY,
                'vGPU %s is in use by domain %s; the real kernel would BLOCK '
                'this write until QEMU releases the device' %
                (vgpu_uuid, users[0]['name']))
        self.vgpus.remove(vgpu)

    def new_vgpu_uuid(self, address: str) -> str:
        """A deterministic UUID for a vGPU created by type ID (vendor VFIO)."""
        self.data['serial'] = self.data.get('serial', 0) + 1
        return pci.domain_uuid(self.hostname, 'vgpu/%s/%d' % (
            address, self.data['serial']))

    def sriov_manage_run(self, gpu: GpuRecord, enable: bool) -> None:
        """NVIDIA's ``sriov-manage -e|-d <PF>``: all VFs, or none.

        It re-binds the PF, which wipes its GPU instances (operators'
        reports); a VF carrying a vGPU keeps it from running.
        """
        busy = [v for v in self.vgpus_of(gpu)
                if v['parent'] != gpu['pci_address']]
        if busy:
            raise kernel_error(errno.EBUSY, 'VF %s of %s still carries vGPU '
                               '%s' % (busy[0]['parent'], gpu['pci_address'],
                                       busy[0]['uuid']))
        gpu['numvfs'] = self.model(gpu).sriov_totalvfs if enable else 0
        gpu['gpu_instances'] = []

    def set_numvfs(self, gpu: GpuRecord, count: int, raw: bool = True) -> None:
        """Apply the kernel's rules on writes to ``sriov_numvfs``.

        :param raw: a write of the attribute, which NVIDIA's vendor-VFIO
            driver refuses on its PF (:attr:`sriov_manage`).
        """
        if raw and self.sriov_manage and count != gpu['numvfs']:
            raise kernel_error(
                errno.EPERM, 'the nvidia driver manages the VFs of %s: '
                'use sriov-manage -e|-d' % gpu['pci_address'])
        total = self.model(gpu).sriov_totalvfs
        if count < 0 or count > total:
            raise kernel_error(errno.ERANGE, '%d VFs requested, %s offers %d'
                               % (count, gpu['pci_address'], total))
        current = gpu['numvfs']
        if count == current:
            return
        if current and count:
            raise kernel_error(
                errno.EBUSY, '%d VFs already enabled on %s; write 0 first'
                % (current, gpu['pci_address']))
        if not count:
            busy = [v for v in self.vgpus_of(gpu)
                    if v['parent'] != gpu['pci_address']]
            if busy:
                raise kernel_error(
                    errno.EBUSY, 'VF %s of %s still carries vGPU %s' % (
                        busy[0]['parent'], gpu['pci_address'],
                        busy[0]['uuid']))
        gpu['numvfs'] = count

    def wipe(self) -> None:
        """A reboot: instances, VFs and vGPUs vanish, domains shut off."""
        for gpu in self.gpus:
            gpu['gpu_instances'] = []
            gpu['numvfs'] = 0
            if gpu.get('mig_mode_needs_reset'):
                # Hopper: MIG mode can come back disabled after a reboot.
                gpu['mig_pending'] = gpu_records.MIG_DISABLED
            gpu['mig_current'] = gpu['mig_pending']
        self.data['vgpus'] = []
        for domain in self.domains:
            domain['state'] = 'shutoff'
        self.data['next_iommu_group'] = pci.FIRST_MDEV_GROUP

    def _next_iommu_group(self) -> int:
        group = self.data.get('next_iommu_group', pci.FIRST_MDEV_GROUP)
        self.data['next_iommu_group'] = group + 1
        return group


def empty(hostname: str, device_mode: str = constants.MODE_MDEV,
          vgpu_manager: bool = True) -> StateData:
    """A state dict without GPUs, vGPUs or domains."""
    return {
        'version': STATE_VERSION,
        'hostname': hostname,
        'device_mode': device_mode,
        'vgpu_manager': vgpu_manager,
        'mdev_node_name': 'uuid_parent',
        'next_iommu_group': pci.FIRST_MDEV_GROUP,
        'serial': 0,
        'gpus': [],
        'vgpus': [],
        'domains': [],
    }
