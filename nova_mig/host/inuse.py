"""Prove, right before a destructive step, that nothing uses its target.

One check shared by ``layout apply`` (and the boot restore), ``reap
--apply`` and ``retype``.  A plan is made once; between the plan and each
step a guest may be defined or started (Nova reuses unused mdevs, including
ones nova-mig just created).  So every step that destroys or reassigns
something asks :class:`Checker` first, and reads fresh:

- libvirt domains in every state (running, paused, shut off, merely
  defined) whose XML references the mdev UUID or the PCI address;
- processes holding the device's ``/dev/vfio`` nodes open (``/proc/*/fd``);
- for a GPU instance: the processes NVML reports on it and a vGPU still
  running on it.

A real kernel's mdev ``remove`` blocks until QEMU lets the device go, so a
removal must never be attempted on a used device: it would hang holding the
host lock.
"""

import dataclasses
import logging
import os

from nova_mig import exception
from nova_mig.gpu import base
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig.model import host as host_model

LOG = logging.getLogger(__name__)

#: What a destructive step acts on.
MDEV = 'mdev'
#: A PCI function given to guests (vendor-VFIO vGPU, SR-IOV VF).
FUNCTION = 'function'
GPU_INSTANCE = 'gpu-instance'


@dataclasses.dataclass(frozen=True)
class Target:
    """What a destructive step destroys or reassigns.

    :param kind: :data:`MDEV`, :data:`FUNCTION` or :data:`GPU_INSTANCE`.
    :param key: the mdev UUID, the PCI address, or the GPU's UUID.
    """

    kind: str
    key: str
    gi_id: int | None = None
    iommu_group: int | None = None

    def describe(self) -> str:
        if self.kind == MDEV:
            return 'vGPU %s' % self.key
        if self.kind == FUNCTION:
            return 'PCI function %s' % self.key
        return 'GPU instance %s of GPU %s' % (self.gi_id, self.key)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Who uses a target; empty :attr:`users` and :attr:`unknown` = free."""

    target: Target
    users: tuple[str, ...] = ()
    #: Why some evidence could not be read; counts as used when strict.
    unknown: str = ''

    @property
    def in_use(self) -> bool:
        return bool(self.users or self.unknown)

    def reason(self) -> str:
        parts = list(self.users)
        if self.unknown:
            parts.append(self.unknown)
        return '; '.join(parts)


# -- open /dev/vfio handles --------------------------------------------------
def open_device_nodes(proc_root: str) -> tuple[dict[str, set[int]], int]:
    """Which processes hold which ``/dev/vfio`` nodes open.

    :returns: (target path -> PIDs, number of processes whose descriptors
        could not be read for lack of permission).
    :raises: :class:`nova_mig.exception.SysfsError` when ``proc_root``
        cannot be listed.
    """
    holders: dict[str, set[int]] = {}
    denied = 0
    try:
        entries = os.listdir(proc_root)
    except OSError as e:
        raise exception.SysfsError(path=proc_root, reason=e.strerror or e)
    for entry in entries:
        if not entry.isdigit():
            continue
        fd_dir = os.path.join(proc_root, entry, 'fd')
        try:
            fds = os.listdir(fd_dir)
        except PermissionError:
            denied += 1
            continue
        except OSError:      # the process exited meanwhile
            continue
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if '/vfio/' in target:
                holders.setdefault(target, set()).add(int(entry))
    return holders, denied


def vfio_nodes(dev_root: str, sysfs_root: str, kind: str, key: str,
               iommu_group: int | None) -> list[str]:
    """The /dev/vfio nodes through which a device is opened.

    The group node ``<dev>/vfio/<group>`` and, on kernels with VFIO device
    files (iommufd), ``<dev>/vfio/devices/vfio<N>``.

    :param kind: ``constants.MODE_MDEV`` for an mdev UUID, anything else
        for a PCI address.
    """
    reader = sysfs.SysfsReader(sysfs_root)
    if kind == constants.MODE_MDEV:
        dev = reader.path(sysfs.MDEV_DEVICES, key)
    else:
        dev = reader.path(sysfs.PCI_DEVICES, key)
        group = reader.link_name(os.path.join(dev, 'iommu_group'))
        iommu_group = int(group) if group and group.isdigit() else None
    vfio = os.path.join(dev_root, 'vfio')
    nodes = []
    if iommu_group is not None:
        nodes.append(os.path.join(vfio, str(iommu_group)))
    nodes += [os.path.join(vfio, 'devices', name)
              for name in reader.listdir(os.path.join(dev, 'vfio-dev'))]
    return nodes


def domains_referencing(uri: str, kind: str, key: str
                        ) -> list[host_model.Domain]:
    """Every domain (any state) whose XML references one device.

    :param kind: ``constants.MODE_MDEV`` for an mdev UUID, anything else
        for a PCI address.
    :raises: :class:`nova_mig.exception.LibvirtError`.
    """
    with virt.LibvirtHost(uri) as host:
        if kind == constants.MODE_MDEV:
            return host.domains_using(mdev_uuid=key)
        return host.domains_using(pci_address=key)


def label(domain: host_model.Domain) -> str:
    """``name (state)`` of a domain, saying when it is no Nova instance."""
    extra = '' if domain.nova_instance else ', not a Nova instance'
    return '%s (%s%s)' % (domain.name, domain.state, extra)


class Checker:
    """Reads, at the moment it is asked, whether a target is used.

    :param backend: the GPU backend (sysfs root, libvirt URI, NVML).
    :param proc_root: ``[reaper]proc_root``.
    :param dev_root: ``[reaper]dev_root``.
    :param strict: when some process descriptors cannot be read (not
        root), count the target as used (the reaper) instead of noting it
        once in :attr:`notes` (``layout apply``, which the plan already
        refused on what libvirt and NVML showed).
    """

    def __init__(self, backend: base.GpuBackend, proc_root: str,
                 dev_root: str, strict: bool = True):
        self.backend = backend
        self.proc_root = proc_root
        self.dev_root = dev_root
        self.strict = strict
        self.notes: list[str] = []

    def handles(self) -> tuple[dict[str, set[int]] | None, str]:
        """Open /dev/vfio nodes now; (None, why) when unknown."""
        try:
            nodes, denied = open_device_nodes(self.proc_root)
        except exception.NovaMigException as e:
            return None, str(e)
        if denied:
            return None, ('cannot read the descriptors of %d processes in %s '
                          '(run as root)' % (denied, self.proc_root))
        return nodes, ''

    def holders(self, kind: str, key: str, iommu_group: int | None
                ) -> tuple[tuple[int, ...] | None, str]:
        """PIDs holding a device's /dev/vfio nodes; (None, why) if unknown."""
        nodes, note = self.handles()
        if nodes is None:
            return None, note
        found: set[int] = set()
        for node in vfio_nodes(self.dev_root, self.backend.sysfs_root(),
                               kind, key, iommu_group):
            found |= nodes.get(node, set())
        return tuple(sorted(found)), ''

    def _device(self, target: Target) -> Verdict:
        mode = (constants.MODE_MDEV if target.kind == MDEV
                else constants.MODE_VENDOR_VFIO)
        users = ['domain %s' % label(d) for d in domains_referencing(
            self.backend.libvirt_uri(), mode, target.key)]
        pids, note = self.holders(mode, target.key, target.iommu_group)
        if pids:
            users.append('held open by pid %s' % ', '.join(
                str(p) for p in pids))
        unknown = ''
        if pids is None:
            if self.strict:
                unknown = 'open handles unknown: %s' % note
            elif note not in self.notes:
                self.notes.append(note)
                LOG.warning('Open /dev/vfio handles not checked: %s', note)
        return Verdict(target, tuple(users), unknown)

    def _gpu_instance(self, target: Target) -> Verdict:
        users = []
        for gpu in self.backend.list_gpus():
            if gpu.uuid != target.key:
                continue
            for gi in gpu.gpu_instances:
                if gi.id == target.gi_id and gi.processes:
                    users.append('processes %s on GPU instance %d' % (
                        ', '.join(str(p) for p in gi.processes), gi.id))
            for vgpu in gpu.active_vgpus:
                if vgpu.gpu_instance_id == target.gi_id:
                    users.append('vGPU %s runs on GPU instance %s' % (
                        vgpu.mdev_uuid or vgpu.parent, target.gi_id))
        return Verdict(target, tuple(users))

    def check(self, target: Target) -> Verdict:
        """Who uses ``target`` now.

        :raises: :class:`nova_mig.exception.LibvirtError` (then nothing can
            be proven unused) and the backend's errors.
        """
        if target.kind == GPU_INSTANCE:
            verdict = self._gpu_instance(target)
        else:
            verdict = self._device(target)
        if verdict.in_use:
            LOG.warning('%s is in use: %s', target.describe(),
                        verdict.reason())
        return verdict

    def require_free(self, *targets: Target) -> None:
        """Check every target; raise for the first one in use.

        :raises: :class:`nova_mig.exception.TargetInUse`.
        """
        for target in targets:
            verdict = self.check(target)
            if verdict.in_use:
                raise exception.TargetInUse(target=target.describe(),
                                            users=verdict.reason())
