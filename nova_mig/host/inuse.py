# SPDX-License-Identifier: Apache-2.0

"""Prove, right before a destructive step, that nothing uses its target.

The one in-use verdict of every destructive path: ``layout apply``, ``layout
restore``, ``retype``, ``rebalance apply`` and ``reap --apply`` describe
what a step destroys as a :class:`Target` and ask :meth:`Checker.check`.
A plan is made once; between the plan and each step a guest may be defined
or started (Nova reuses unused mdevs, including ones nova-mig just
created), so each destructive step asks again, reading fresh, in this
order (the slowest and least likely to change first, libvirt last, right
before the write):

- processes holding the device's ``/dev/vfio`` nodes open: its IOMMU group
  node ``/dev/vfio/<group>`` and its VFIO device files
  ``/dev/vfio/devices/vfio<N>`` (``vfio-dev/``), from ``/proc/*/fd``;
  for a GPU instance, the processes NVML reports on it and a vGPU still
  running on it;
- libvirt domains in every state (running, paused, shut off, merely
  defined) whose XML references the mdev UUID or the PCI address.

Not root, the real ``/proc`` is read by the privileged helper (context
``proc_pctxt``, :func:`nova_mig.privsep.proc.vfio_holders`). Without a
full view of the process table (that helper not allowed, or, for another
``[reaper]proc_root``, not root or ``hidepid``) nothing can be proved
free: the target counts as used unless the operator overrides the check
(``--skip-handle-check``).

A real kernel's mdev ``remove`` blocks until QEMU lets the device go, so a
removal must never be attempted on a used device: it would hang holding the
host lock.
"""

import dataclasses
import datetime
import logging
import os
import time
import typing

from nova_mig import exception
from nova_mig.host import protocols
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

#: What a destructive step acts on.
MDEV = 'mdev'
#: A PCI function given to guests (vendor-VFIO vGPU, SR-IOV VF).
FUNCTION = 'function'
GPU_INSTANCE = 'gpu-instance'

#: The CLI flag that lets a destructive step run without the open-handle
#: view (see :class:`Checker`).
SKIP_FLAG = '--skip-handle-check'
#: The host's process table, read through privsep when not root.
PROC_ROOT = '/proc'
#: procfs mount options that hide other users' processes.
_HIDING = ('hidepid', 'subset')


def stamp(when: float) -> str:
    """A time of day with milliseconds, as the messages give it."""
    return datetime.datetime.fromtimestamp(when).strftime('%H:%M:%S.%f')[:-3]


@dataclasses.dataclass(frozen=True)
class Target:
    """What a destructive step destroys or reassigns.

    :param kind: :data:`MDEV`, :data:`FUNCTION` or :data:`GPU_INSTANCE`.
    :param key: the mdev UUID, the PCI address, or the GPU's UUID.
    :param iommu_group: the device's IOMMU group; None reads it from sysfs.
    :param role: why the step destroys it, when that is not obvious
        ("removed by the VF-count change").
    """

    kind: str
    key: str
    gi_id: int | None = None
    iommu_group: int | None = None
    role: str = ''

    def describe(self) -> str:
        if self.kind == MDEV:
            text = 'vGPU %s' % self.key
        elif self.kind == FUNCTION:
            text = 'PCI function %s' % self.key
        else:
            text = 'GPU instance %s of GPU %s' % (self.gi_id, self.key)
        return '%s (%s)' % (text, self.role) if self.role else text

    @property
    def mode(self) -> str:
        """The device mode :func:`vfio_nodes` and libvirt look it up by."""
        return (constants.MODE_MDEV if self.kind == MDEV
                else constants.MODE_VENDOR_VFIO)


def device_target(kind: str, key: str, iommu_group: int | None = None
                  ) -> Target:
    """The target of a vGPU device from a reaper or discovery kind."""
    return Target(MDEV if kind == constants.MODE_MDEV else FUNCTION, key,
                  iommu_group=iommu_group)


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Who uses a target; empty :attr:`users` and :attr:`unknown` = free."""

    target: Target
    users: tuple[str, ...] = ()
    #: Why some evidence could not be read; counts as used.
    unknown: str = ''
    #: ``name (state)`` of the domains referencing the device.
    domains: tuple[str, ...] = ()
    #: PIDs holding the device open; None when they cannot be known.
    pids: tuple[int, ...] | None = ()
    #: Why :attr:`pids` is None (also when the check was skipped).
    note: str = ''
    #: When the evidence was read (time.time()).
    seen: float = 0.0

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

    Read in this process (:func:`nova_mig.privsep.proc.scan`).

    :returns: (target path -> PIDs, number of processes whose descriptors
        could not be read for lack of permission).
    :raises: :class:`nova_mig.exception.SysfsError` when ``proc_root``
        cannot be listed.
    """
    from nova_mig.privsep import proc  # builds its context: oslo.privsep
    try:
        return proc.scan(proc_root, '/vfio/')
    except OSError as e:
        raise exception.SysfsError(path=proc_root, reason=e.strerror or e)


def privileged_device_nodes() -> tuple[dict[str, set[int]] | None, str]:
    """Open ``/dev/vfio`` nodes of every process, read by the root daemon.

    Through :func:`nova_mig.privsep.proc.vfio_holders` (sudo, the rule of
    ``nova-mig install-sudoers``).

    :returns: (target path -> PIDs, ''), or (None, why) when the daemon
        cannot start or cannot read every process.
    """
    from nova_mig.privsep import proc
    try:
        found = proc.vfio_holders()
    except exception.PrivsepStartFailed as e:
        return None, ('cannot read the descriptors of other users\' '
                      'processes in %s: %s' % (PROC_ROOT,
                                               str(e).rstrip('.')))
    except OSError as e:
        return None, str(e.strerror or e)
    return {node: set(pids) for node, pids in found.items()}, ''


def _unescape(field: str) -> str:
    """A mountinfo path field (spaces and the like are octal escapes)."""
    out, i = [], 0
    while i < len(field):
        if field[i] == '\\' and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return ''.join(out)


def hidden_processes(proc_root: str, euid: int | None = None,
                     mountinfo: str = '/proc/self/mountinfo') -> str:
    """Why other users' processes are hidden under ``proc_root``, or ''.

    A procfs mounted with ``hidepid=1|2`` (``noaccess``, ``invisible``) or
    ``subset=pid`` shows a user without root only their own processes:
    the scan of ``/proc/*/fd`` would find no holder and prove nothing.
    Root (``CAP_SYS_PTRACE``) sees every process.
    """
    if (os.geteuid() if euid is None else euid) == 0:
        return ''
    where = os.path.realpath(proc_root)
    found = ''
    try:
        with open(mountinfo) as f:
            lines = f.read().splitlines()
    except OSError:
        return ''
    for line in lines:
        fields = line.split()
        if '-' not in fields or len(fields) < 5:
            continue
        dash = fields.index('-')
        if (_unescape(fields[4]) != where or len(fields) < dash + 2 or
                fields[dash + 1] != 'proc'):
            continue
        options = fields[5].split(',') + (
            fields[dash + 3].split(',') if len(fields) > dash + 3 else [])
        found = ','.join(o for o in options
                         if o.split('=')[0] in _HIDING and
                         o.split('=', 1)[-1] not in ('0', 'off'))
    if not found:
        return ''
    return ('%s is mounted with %s: other users\' processes are hidden '
            '(run as root)' % (proc_root, found))


def vfio_nodes(dev_root: str, sysfs_root: str, kind: str, key: str,
               iommu_group: int | None) -> list[str]:
    """The /dev/vfio nodes through which a device is opened.

    The group node ``<dev>/vfio/<group>`` (the group read from the
    device's ``iommu_group`` link when not given) and, on kernels with
    VFIO device files (iommufd), ``<dev>/vfio/devices/vfio<N>``.

    :param kind: ``constants.MODE_MDEV`` for an mdev UUID, anything else
        for a PCI address.
    """
    reader = sysfs.SysfsReader(sysfs_root)
    if kind == constants.MODE_MDEV:
        dev = reader.path(sysfs.MDEV_DEVICES, key)
    else:
        dev = reader.path(sysfs.PCI_DEVICES, key)
    if iommu_group is None:
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
                        ) -> list[host_records.Domain]:
    """Every domain (any state) whose XML references one device.

    :param kind: ``constants.MODE_MDEV`` for an mdev UUID, anything else
        for a PCI address.
    :raises: :class:`nova_mig.exception.LibvirtError`.
    """
    with virt.LibvirtHost(uri) as host:
        if kind == constants.MODE_MDEV:
            return host.domains_using(mdev_uuid=key)
        return host.domains_using(pci_address=key)


def _referencing(uri: str, targets: list[Target]
                 ) -> dict[Target, list[host_records.Domain]]:
    """The domains (any state) referencing each device: one read.

    One device asks libvirt for the domains whose XML mentions it (see
    :meth:`nova_mig.host.virt.LibvirtHost.domains_using`); several list
    every domain once, so all are read at the same moment.
    """
    if len(targets) == 1:
        target = targets[0]
        return {target: domains_referencing(uri, target.mode, target.key)}
    with virt.LibvirtHost(uri) as host:
        domains = host.domains()
    return {t: [d for d in domains
                if (t.key.lower() in d.mdev_uuids if t.kind == MDEV
                    else t.key in d.pci_addresses)]
            for t in targets}


def label(domain: host_records.Domain) -> str:
    """``name (state)`` of a domain, saying when it is no Nova instance."""
    extra = '' if domain.nova_instance else ', not a Nova instance'
    return '%s (%s%s)' % (domain.name, domain.state, extra)


class Checker:
    """Reads, at the moment it is asked, whether a target is used.

    :param backend: the GPU backend (sysfs root, libvirt URI, NVML).
    :param proc_root: ``[reaper]proc_root``.
    :param dev_root: ``[reaper]dev_root``.
    :param strict: True (always, but with ``--skip-handle-check``): when
        the open handles cannot be read (some process descriptors
        unreadable, ``/proc`` hidden), the target counts as used. False
        notes that once in :attr:`notes` and goes on.
    :param clock: the time source of the "seen at" stamps.
    """

    def __init__(self, backend: protocols.Backend, proc_root: str,
                 dev_root: str, strict: bool = True,
                 clock: typing.Callable[[], float] = time.time):
        self.backend = backend
        self.proc_root = proc_root
        self.dev_root = dev_root
        self.strict = strict
        self.clock = clock
        self.notes: list[str] = []
        #: Target -> when it was last proved free (the plan's proof).
        self.proved: dict[Target, float] = {}

    def handles(self) -> tuple[dict[str, set[int]] | None, str]:
        """Open /dev/vfio nodes now; (None, why) when unknown.

        Not root, the real ``/proc`` is read by the privileged helper
        (context ``proc_pctxt``); root, or another ``[reaper]proc_root``,
        in this process.
        """
        if (os.geteuid() != 0 and
                os.path.realpath(self.proc_root) == PROC_ROOT):
            return privileged_device_nodes()
        hidden = hidden_processes(self.proc_root)
        if hidden:
            return None, hidden
        try:
            nodes, denied = open_device_nodes(self.proc_root)
        except exception.NovaMigException as e:
            return None, str(e)
        if denied:
            return None, ('cannot read the descriptors of %d processes in %s '
                          '(run as root)' % (denied, self.proc_root))
        return nodes, ''

    def _unknown(self, note: str) -> str:
        """What a missing view makes of the verdict ('' = overridden)."""
        if self.strict:
            return ('open handles unknown: %s; nothing can be proved free '
                    '(%s overrides)' % (note, SKIP_FLAG))
        if note not in self.notes:
            self.notes.append(note)
            LOG.warning('Open /dev/vfio handles not checked (%s): %s',
                        SKIP_FLAG, note)
        return ''

    def _devices(self, targets: list[Target]) -> dict[Target, Verdict]:
        """Devices: sysfs nodes, the process table, then libvirt, once."""
        root = self.backend.sysfs_root()
        nodes_of = {t: vfio_nodes(self.dev_root, root, t.mode, t.key,
                                  t.iommu_group) for t in targets}
        handles, note = self.handles()
        # libvirt last: right before the write.
        referencing = _referencing(self.backend.libvirt_uri(), targets)
        seen = self.clock()
        verdicts = {}
        for target in targets:
            pids: tuple[int, ...] | None = None
            if handles is not None:
                pids = tuple(sorted({pid for node in nodes_of[target]
                                     for pid in handles.get(node, ())}))
            domains = tuple(label(d) for d in referencing[target])
            users = ['domain %s' % d for d in domains]
            if pids:
                users.append('held open by pid %s' % ', '.join(
                    str(p) for p in pids))
            unknown = self._unknown(note) if pids is None else ''
            verdicts[target] = Verdict(target, tuple(users), unknown,
                                       domains, pids, note, seen)
        return verdicts

    def _gpu_instances(self, targets: list[Target],
                       going: typing.AbstractSet[str]
                       ) -> dict[Target, Verdict]:
        """GPU instances: NVML's processes and vGPUs, read once."""
        gpus = self.backend.list_gpus()
        seen = self.clock()
        verdicts = {}
        for target in targets:
            users = []
            for gpu in gpus:
                if gpu.uuid != target.key:
                    continue
                for gi in gpu.gpu_instances:
                    if gi.id == target.gi_id and gi.processes:
                        users.append('processes %s on GPU instance %d' % (
                            ', '.join(str(p) for p in gi.processes), gi.id))
                for vgpu in gpu.active_vgpus:
                    if vgpu.gpu_instance_id == target.gi_id and not (
                            {vgpu.mdev_uuid, vgpu.parent} & going):
                        users.append('vGPU %s runs on GPU instance %s' % (
                            vgpu.mdev_uuid or vgpu.parent, target.gi_id))
            verdicts[target] = Verdict(target, tuple(users), seen=seen)
        return verdicts

    def check_all(self, targets: typing.Iterable[Target],
                  going: typing.AbstractSet[str] = frozenset()
                  ) -> list[Verdict]:
        """Who uses each target now, each source read once for them all.

        The order narrows the check-to-act window: sysfs (the device's
        /dev/vfio nodes) and NVML (GPU instances) first, then the process
        table, then libvirt, then the caller writes.

        :param going: vGPU devices (UUIDs, VF addresses) the plan removes
            before the targets' steps: not counted as running on a GPU
            instance (a plan's proof).
        :raises: :class:`nova_mig.exception.LibvirtError` (then nothing can
            be proven unused) and the backend's errors.
        """
        targets = list(targets)
        verdicts = {}
        instances = [t for t in targets if t.kind == GPU_INSTANCE]
        if instances:
            verdicts.update(self._gpu_instances(instances, going))
        devices = [t for t in targets if t.kind != GPU_INSTANCE]
        if devices:
            verdicts.update(self._devices(devices))
        result = [verdicts[t] for t in targets]
        for verdict in result:
            if verdict.in_use:
                LOG.warning('%s is in use: %s', verdict.target.describe(),
                            verdict.reason())
        return result

    def check(self, target: Target,
              going: typing.AbstractSet[str] = frozenset()) -> Verdict:
        """Who uses ``target`` now (see :meth:`check_all`)."""
        return self.check_all([target], going)[0]

    def prove(self, targets: typing.Iterable[Target],
              going: typing.AbstractSet[str] = frozenset()) -> list[str]:
        """Prove every target free now (a plan's proof); the blockers.

        Each free target is stamped, so that a later :meth:`require_free`
        can say since when a user appeared.

        :returns: one line per used target: what holds it, and when that
            was seen.
        """
        blockers = []
        for verdict in self.check_all(targets, going):
            target = verdict.target
            if verdict.in_use:
                blockers.append('%s: %s (seen at %s, when the plan was '
                                'proved)' % (target.describe(),
                                             verdict.reason(),
                                             stamp(verdict.seen)))
            else:
                self.proved[target] = verdict.seen
        return blockers

    def require_free(self, *targets: Target,
                     going: typing.AbstractSet[str] = frozenset()) -> None:
        """Check every target; raise for the first one in use.

        :param going: as for :meth:`check`.
        :raises: :class:`nova_mig.exception.TargetInUse`.
        """
        for verdict in self.check_all(targets, going):
            target = verdict.target
            if verdict.in_use:
                proved = self.proved.get(target)
                raise exception.TargetInUse(
                    target=target.describe(), users=verdict.reason(),
                    seen=stamp(verdict.seen),
                    since=(', free when the plan was proved at %s'
                           % stamp(proved)) if proved else '')

    def referencing_now(self, target: Target) -> tuple[str, ...]:
        """Domains referencing a device just removed (the look after).

        A guest defined between the last check and the removal: its
        device is gone, and the caller reports the domain with the fix.
        Errors are logged, not raised: the removal is done.
        """
        try:
            return tuple(label(d) for d in domains_referencing(
                self.backend.libvirt_uri(), target.mode, target.key))
        except exception.NovaMigException as e:
            LOG.warning('Cannot look again for domains referencing %s: %s',
                        target.describe(), e)
            return ()
