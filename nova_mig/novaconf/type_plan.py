# SPDX-License-Identifier: Apache-2.0

"""Decide which vGPU type each vGPU parent of the host offers to Nova.

Nova lets a PCI address carry one vGPU type only, and a VF carries at most
one vGPU, so on an SR-IOV GPU with MIG enabled every GPU instance gets its
own VF: a VF that already carries a vGPU keeps its type, then each GPU
instance without a vGPU, by placement, takes the next free VF with the type
backed by its profile (as many VFs as the type's vGPUs per GPU instance,
for time-sliced MIG-backed types; a GPU instance already carrying vGPUs
keeps those). VFs left over are not offered (Nova would count them as
capacity). The driver says which profile backs a type where it can
(:func:`nova_mig.model.vgpu_types.backing`); the type's name otherwise.
A GPU with MIG disabled offers one time-sliced type: the type of its vGPUs,
else the first of ``[nova]time_sliced_type`` it supports.
"""

import collections
import dataclasses
import logging
import re
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types
from nova_mig import naming
from nova_mig.novaconf import release

LOG = logging.getLogger(__name__)

#: (type ID, type name) of a vGPU type a parent offers.
TypeChoice = tuple[str, str]
#: Parent address -> [(type ID, mdev UUID or None)] of the vGPUs it carries.
Carried = dict[str, list[tuple[str, str | None]]]

NVIDIA_VENDOR_ID = '10de'


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One vGPU parent offered to Nova with one vGPU type."""

    address: str
    gpu: str                   # the PF address
    type_id: str               # "nvidia-700" (mdev) or "1414" (vendor VFIO)
    type_name: str             # without vendor prefix: "A100D-1-10C"
    profile: str | None        # None for time-sliced types
    resource_class: str
    traits: tuple[str, ...]
    is_vf: bool
    product_id: str            # 4 hex digits, as sysfs "device" shows it
    #: vGPUs of the type the parent carries plus those it can still make
    #: (one for a vendor-VFIO VF); the type's ``max_instances`` may cap it.
    capacity: int = 1


@dataclasses.dataclass
class NovaConfig:
    """What nova-compute must be told about this host's vGPUs."""

    hostname: str              # the compute node name of the providers
    device_mode: str
    assignments: list[Assignment]
    #: type ID -> host-wide cap, for types whose parents are VFs.
    max_instances: dict[str, int]
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: Vendor VFIO: device specs and aliases say "live_migratable": "yes".
    live_migratable: bool = False
    #: Either mode, ``[nova]live_migratable``: the ``[libvirt]``
    #: live-migration settings Nova's vGPU guide asks for are written.
    live_migration: bool = False


#: A sort key of text with numbers: its digit runs as numbers.
NaturalKey = tuple[int | str, ...]


def natural_key(text: str) -> NaturalKey:
    """Sort key ordering ``nvidia-99`` before ``nvidia-100``."""
    return tuple(int(p) if p.isdigit() else p
                 for p in re.split(r'(\d+)', text))


def read_product_ids(sysfs_root: str, addresses: typing.Iterable[str]
                     ) -> dict[str, str]:
    """PCI device IDs (``20b5``) of functions, from their sysfs ``device``.

    An unreadable ID is left out; the GPU's NVML ID is used instead.
    """
    reader = sysfs.SysfsReader(sysfs_root)
    result = {}
    for address in addresses:
        path = reader.path(sysfs.PCI_DEVICES, address, 'device')
        try:
            value = reader.read(path)
        except exception.SysfsError:
            continue
        result[address] = value.lower().removeprefix('0x')
    return result


class _Planner:
    """Builds a :class:`NovaConfig` from a host report."""

    def __init__(self, conf: cfg.ConfigOpts, report: host_records.HostReport,
                 product_ids: dict[str, str], sysfs_root: str):
        self.conf = conf
        self.naming = naming.Scheme.from_conf(conf)
        self.report = report
        self.product_ids = product_ids
        self.sysfs_root = sysfs_root
        self.mode = report.device_mode
        self.names = report.type_names()
        self.warnings: list[str] = []
        self.caps: dict[str, int | None] = {}
        self.capped: set[str] = set()

    def warn(self, msg: str, *args: object) -> None:
        text = msg % args
        LOG.warning('%s', text)
        self.warnings.append(text)

    # -- per GPU facts --------------------------------------------------
    def parents_of(self,
                   gpu: gpu_records.Gpu) -> list[host_records.VgpuParent]:
        pf = self.report.sriov.get(gpu.pci_address)
        order = {vf: i for i, vf in enumerate(pf.vfs)} if pf else {}
        parents = [p for p in self.report.parents
                   if p.pf_address == gpu.pci_address and p.mode == self.mode]
        return sorted(parents, key=lambda p: (
            p.address != gpu.pci_address, order.get(p.address, len(order)),
            natural_key(p.address)))

    def carried(self, parents: list[host_records.VgpuParent]) -> Carried:
        """Parent address -> [(type ID, mdev UUID)] of its vGPUs."""
        addresses = {p.address for p in parents}
        result: Carried = collections.defaultdict(list)
        for mdev in sorted(self.report.mdevs, key=lambda m: m.uuid):
            if mdev.parent in addresses:
                result[mdev.parent].append((mdev.type_id, mdev.uuid))
        for parent in parents:
            if (parent.mode == constants.MODE_VENDOR_VFIO and
                    parent.current_type):
                result[parent.address].append(
                    (str(parent.current_type), None))
        return result

    def offered(self, parent: host_records.VgpuParent, gpu: gpu_records.Gpu
                ) -> list[tuple[str, str]]:
        """(type ID, name) the parent offers.

        A vendor-VFIO VF lists only what is creatable now; the types the
        vGPU manager reports for its GPU complete the list.
        """
        result = [(t.id, t.name) for t in parent.types]
        if parent.mode == constants.MODE_VENDOR_VFIO:
            known = {type_id for type_id, _ in result}
            result += [(str(vt.id), vt.name) for vt in gpu.vgpu_types or ()
                       if str(vt.id) not in known]
        return result

    def type_for_profile(self, offered: list[TypeChoice], profile: str,
                         gpu: gpu_records.Gpu
                         ) -> tuple[str, str] | None:
        """The offered type backed by ``profile``.

        Several can match (other series, variants): prefer no suffix, then
        the compute series, then the lowest name.
        """
        matches = [(type_id, name) for type_id, name in offered
                   if vgpu_types.backing(name, gpu).profile == profile]

        def rank(item: tuple[str, str]
                 ) -> tuple[bool, bool, NaturalKey, NaturalKey]:
            parsed = vgpu_types.parse(item[1])
            if parsed is None:      # an unparsable name: last
                return (True, True, natural_key(item[1]),
                        natural_key(item[0]))
            return (parsed.suffix != '', parsed.series != 'C',
                    natural_key(parsed.name), natural_key(item[0]))
        return min(matches, key=rank) if matches else None

    def max_instances_of(self, gpu: gpu_records.Gpu,
                         parent: host_records.VgpuParent, type_id: str,
                         name: str) -> int | None:
        """How many vGPUs of a time-sliced type fit on the GPU."""
        for vt in gpu.vgpu_types or ():
            if type_id in (str(vt.id), 'nvidia-%d' % vt.id):
                return vt.max_instances
        if parent.address == gpu.pci_address:
            for mtype in parent.types:
                value = mtype.description.get('max_instance', '')
                if mtype.id == type_id and value.isdigit():
                    return int(value)
        return None

    # -- assignment ---------------------------------------------------------
    def assign_mig(self, gpu: gpu_records.Gpu,
                   parents: list[host_records.VgpuParent],
                   carried: Carried) -> dict[str, TypeChoice]:
        gis = sorted(gpu.gpu_instances,
                     key=lambda g: (g.placement.start, g.id))
        gi_of = {a.mdev_uuid: a.gpu_instance_id for a in gpu.active_vgpus}
        on_gi: collections.Counter[int | None] = collections.Counter()
        assigned = {}
        for parent in parents:
            if not carried.get(parent.address):
                continue
            type_id, uuid = carried[parent.address][0]
            name = self.names.get(type_id, type_id)
            assigned[parent.address] = (type_id, name)
            # An mdev's GPU instance from NVML; a vendor-VFIO VF's from
            # its nvidia/gpu_instance_id.
            gi_id = gi_of.get(uuid) if uuid else parent.gpu_instance_id
            if gi_id is None:
                backing = vgpu_types.backing(name, gpu)
                gi_id = next((g.id for g in gis
                              if on_gi[g.id] < backing.per_gpu_instance and
                              g.profile_name == backing.profile), None)
            on_gi[gi_id] += 1
        free = [p for p in parents if p.address not in assigned]
        left = [gi for gi in gis if not on_gi[gi.id]]
        for gi in left:
            if not free:
                self.warn('GPU %s: %d GPU instance(s) have no free VF to '
                          'carry a vGPU and are not offered; enable more '
                          'VFs (sriov-manage -e %s)', gpu.pci_address,
                          len(left) - left.index(gi), gpu.pci_address)
                break
            parent = free.pop(0)
            offered = self.offered(parent, gpu)
            choice = self.type_for_profile(offered, gi.profile_name, gpu)
            if choice is None:
                unknown = vgpu_types.unknown_among(
                    (n for _, n in offered), gpu)
                if unknown:
                    raise exception.ProfileNotKnown(reason=unknown)
                raise exception.NoVgpuTypeForProfile(
                    gpu=gpu.pci_address, model=gpu.name,
                    profile=gi.profile_name, parent=parent.address,
                    offered=', '.join(sorted(
                        {vgpu_types.bare_name(n) for _, n in offered})) or
                    'none')
            assigned[parent.address] = choice
            on_gi[gi.id] = 1
            # Time-sliced MIG-backed types: one VF per vGPU of the GI.
            per_gi = vgpu_types.backing(choice[1], gpu).per_gpu_instance
            while on_gi[gi.id] < per_gi and free:
                assigned[free.pop(0).address] = choice
                on_gi[gi.id] += 1
        if free:
            LOG.debug('GPU %s: VFs %s carry no vGPU and have no GPU '
                      'instance left; not offered', gpu.pci_address,
                      ', '.join(p.address for p in free))
        # One vGPU per VF offered: the host-wide cap of each type.
        for type_id, count in collections.Counter(
                t for t, _name in assigned.values()).items():
            self.add_cap(type_id, count, capped=True)
        return assigned

    def time_sliced_choice(self, gpu: gpu_records.Gpu,
                           parents: list[host_records.VgpuParent],
                           carried: Carried) -> TypeChoice | None:
        in_use = collections.Counter(
            type_id for vgpus in carried.values() for type_id, _ in vgpus)
        wanted = [w.strip().upper() for w in
                  self.conf.nova.time_sliced_type if w.strip()]
        if in_use:
            type_id = sorted(in_use.items(),
                             key=lambda i: (-i[1], natural_key(i[0])))[0][0]
            name = self.names.get(type_id, type_id)
            if len(in_use) > 1:
                self.warn('GPU %s carries vGPUs of several types (%s); '
                          'offering %s', gpu.pci_address,
                          ', '.join(sorted(in_use, key=natural_key)),
                          type_id)
            if wanted and vgpu_types.bare_name(name).upper() not in wanted:
                self.warn('GPU %s keeps type %s (%s) of its %d vGPU '
                          'device(s); [nova]time_sliced_type applies once '
                          'they are removed', gpu.pci_address,
                          vgpu_types.bare_name(name), type_id,
                          in_use[type_id])
            return type_id, name
        if not wanted:
            self.warn('GPU %s (%s) has MIG disabled and carries no vGPU: '
                      'left out; set [nova]time_sliced_type to offer a '
                      'time-sliced type on it', gpu.pci_address, gpu.name)
            return None
        offered = {vgpu_types.bare_name(name).upper(): (type_id, name)
                   for type_id, name in self.offered(parents[0], gpu)}
        for name in wanted:
            if name in offered:
                return offered[name]
        self.warn('GPU %s (%s) supports none of [nova]time_sliced_type '
                  '(%s): left out', gpu.pci_address, gpu.name,
                  ', '.join(wanted))
        return None

    def assign_time_sliced(self, gpu: gpu_records.Gpu,
                           parents: list[host_records.VgpuParent],
                           carried: Carried) -> dict[str, TypeChoice]:
        choice = self.time_sliced_choice(gpu, parents, carried)
        if choice is None:
            return {}
        type_id, name = choice
        assigned = {}
        for parent in parents:
            if carried.get(parent.address):
                other = carried[parent.address][0][0]
                assigned[parent.address] = (
                    other, self.names.get(other, other))
        pf_parent = parents[0].address == gpu.pci_address
        if pf_parent:
            assigned[gpu.pci_address] = (type_id, name)
            limit = self.max_instances_of(gpu, parents[0], type_id, name)
            self.add_cap(type_id, limit, capped=False)
            return assigned
        limit = self.max_instances_of(gpu, parents[0], type_id, name)
        count = sum(1 for t in assigned.values() if t[0] == type_id)
        for parent in parents:
            if limit is not None and count >= limit:
                break
            if parent.address in assigned:
                continue
            if type_id in {t for t, _ in self.offered(parent, gpu)}:
                assigned[parent.address] = (type_id, name)
                count += 1
        self.add_cap(type_id, limit, capped=True)
        return assigned

    def add_cap(self, type_id: str, count: int | None,
                capped: bool) -> None:
        if capped:
            self.capped.add(type_id)
        current = self.caps.get(type_id, 0)
        if current is None:
            return
        self.caps[type_id] = None if count is None else current + count

    # -- the whole host --------------------------------------------------
    def build(self) -> NovaConfig:
        report = self.report
        hostname = self.conf.nova.hypervisor_hostname or report.hostname
        if not report.gpus:
            raise exception.NoVgpuParents(
                host=report.hostname, where=self.sysfs_root,
                reason='the GPU backend reports no NVIDIA GPU')
        if self.mode not in (constants.MODE_MDEV, constants.MODE_VENDOR_VFIO):
            raise exception.NoVgpuParents(
                host=report.hostname, where=self.sysfs_root,
                reason='neither class/mdev_bus nor NVIDIA vendor-specific '
                       'VFIO VFs exist; check that the NVIDIA vGPU manager '
                       'is installed and VFs are enabled (sriov-manage -e '
                       'ALL)')
        assignments = []
        for gpu in sorted(report.gpus, key=lambda g: g.pci_address):
            parents = self.parents_of(gpu)
            if not parents:
                self.warn('GPU %s (%s) has no %s vGPU parent: left out',
                          gpu.pci_address, gpu.name, self.mode)
                continue
            carried = self.carried(parents)
            if gpu.mig_enabled:
                if not gpu.gpu_instances:
                    self.warn('GPU %s has MIG enabled but no GPU instance: '
                              'nothing to offer', gpu.pci_address)
                assigned = self.assign_mig(gpu, parents, carried)
            else:
                assigned = self.assign_time_sliced(gpu, parents, carried)
            for address in sorted(assigned, key=natural_key):
                assignments.append(self.assignment(gpu, address,
                                                   *assigned[address]))
        if not assignments:
            raise exception.NothingToConfigure(
                host=report.hostname,
                reason='; '.join(self.warnings) or 'no vGPU type to offer')
        used = {a.type_id for a in assignments}
        caps = {t: c for t, c in self.caps.items()
                if t in used and t in self.capped and c}
        return NovaConfig(hostname=hostname, device_mode=self.mode,
                          assignments=assignments, max_instances=caps,
                          warnings=self.warnings,
                          live_migratable=self.live_migratable(),
                          live_migration=bool(self.conf.nova.live_migratable))

    def live_migratable(self) -> bool:
        """``[nova]live_migratable`` in vendor-VFIO mode, release checked.

        :raises: :class:`~nova_mig.exception.NovaReleaseUnsupported`
        """
        if (not self.conf.nova.live_migratable or
                self.mode != constants.MODE_VENDOR_VFIO):
            return False
        release.check(release.target(self.conf.nova.release),
                      {release.PCI_LIVE_MIGRATABLE,
                       release.PCI_LIVE_MIGRATABLE_TRAIT})
        return True

    def capacity(self, address: str, type_id: str) -> int:
        """What Nova counts for a parent: its vGPUs plus those it can make.

        Nova's inventory for an mdev parent is its ``available_instances``
        plus the mdevs already created; a vendor-VFIO VF is one vGPU.
        """
        if self.mode == constants.MODE_VENDOR_VFIO:
            return 1
        carried = sum(1 for m in self.report.mdevs
                      if m.parent == address and m.type_id == type_id)
        return carried + sum(
            t.available_instances for p in self.report.parents
            if p.address == address for t in p.types if t.id == type_id)

    def assignment(self, gpu: gpu_records.Gpu, address: str, type_id: str,
                   name: str) -> Assignment:
        profile = vgpu_types.backing(name, gpu).profile
        traits = []
        if profile:
            traits.append(self.naming.profile_trait(profile))
        traits += [
            self.naming.model_trait(gpu.name),
            self.naming.compute_capability_trait(*gpu.compute_capability),
            self.naming.device_mode_trait(self.mode)]
        return Assignment(
            address=address, gpu=gpu.pci_address, type_id=type_id,
            type_name=vgpu_types.bare_name(name), profile=profile,
            resource_class=self.naming.resource_class_for_type(name, gpu),
            traits=tuple(traits), is_vf=address != gpu.pci_address,
            product_id=self.product_ids.get(
                address, '%04x' % (gpu.pci_device_id >> 16)),
            capacity=self.capacity(address, type_id))


def build(conf: cfg.ConfigOpts, report: host_records.HostReport,
          product_ids: dict[str, str] | None = None,
          sysfs_root: str = '/sys') -> NovaConfig:
    """Decide what nova-compute is told about the host's vGPUs.

    :param conf: nova-mig's configuration ([nova], [naming]).
    :param report: the discovered host.
    :param product_ids: PCI device ID of each parent; see
        :func:`read_product_ids`. Missing ones default to the GPU's.
    :param sysfs_root: where the host was read, for error messages.
    :raises: :class:`~nova_mig.exception.NoVgpuParents`,
        :class:`~nova_mig.exception.NothingToConfigure`,
        :class:`~nova_mig.exception.NoVgpuTypeForProfile`.
    """
    return _Planner(conf, report, product_ids or {}, sysfs_root).build()
