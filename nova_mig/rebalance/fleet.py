# SPDX-License-Identifier: Apache-2.0

"""The planner's view of the fleet: discover documents joined with Placement.

Each compute host's ``nova-mig discover -f json`` document, gathered into
one directory by the operator's fleet tool (``playbooks/rebalance.yaml``),
says per GPU its profile table with placements, its GPU instances and which
are in use. A host is left out of the plan, with the reason, when its
document is unreadable or malformed (:mod:`nova_mig.documents.discover`
checks it), older than the window (file modification time), or
disagrees with Placement: Placement counts more used slices of a profile
than the document shows GPU instances in use, or offers more slices of a
profile than the document has GPU instances of it. Hosts with GPU providers
in Placement but no document are reported as missing.
"""

import collections
import dataclasses
import os
import time
import typing

from nova_mig.documents import discover
from nova_mig import exception
from nova_mig.model import gpu_records
from nova_mig.rebalance import geometry

MIG_ENABLED = 'enabled'

#: A JSON object of a discover document (checked by
#: :func:`nova_mig.documents.discover.check` before it is read).
JsonObject = dict[str, typing.Any]


class PinnedDevice(typing.TypedDict):
    """The vGPU device on a GPU instance, as the discover document says."""

    uuid: str | None
    #: The type name (``NVIDIA A100-1-5C``).
    type: str | None
    #: False for a device nova-mig did not create (only False counts).
    owned: bool | None


#: (model, profile table, GPU instances in use, profiles of the free ones).
GpuKey = tuple[str, geometry.TableKey, tuple[geometry.Slot, ...],
               tuple[str, ...]]


class ProfileSlices(typing.Protocol):
    """A GPU provider's slices of one profile, as Placement counts them.

    :class:`nova_mig.flavor.slice_capacity.ProviderSlices` is one.
    """

    @property
    def host(self) -> str:
        """The compute node provider's name."""
        ...

    @property
    def profile(self) -> str:
        ...

    @property
    def used(self) -> int:
        ...

    @property
    def capacity(self) -> int:
        ...


@dataclasses.dataclass
class GpuState:
    """One MIG-enabled GPU as the planner sees it."""

    host: str
    pci_address: str
    model: str
    table: geometry.ProfileTable
    #: GPU instances in use: they never move.
    fixed: tuple[geometry.Slot, ...]
    #: Existing GPU instances nobody uses: free slices.
    free: tuple[geometry.Slot, ...]
    #: Placement start -> the vGPU device on it, to pin.
    devices: dict[int, PinnedDevice] = dataclasses.field(
        default_factory=dict)
    sriov_vfs: int | None = None
    uuid: str = ''
    #: Re-partitions of this GPU on the planning day (UTC), from the
    #: fleet's history (:mod:`nova_mig.rebalance.history`).
    changes_today: int = 0
    #: Demand scopes of this GPU itself: ``trait:<GPU model trait>``
    #: (:func:`nova_mig.rebalance.demand.trait_scope`).
    scopes: frozenset[str] = frozenset()
    #: Of ``fixed``, the GPU instances kept only for an unused vGPU device
    #: nova-mig did not create (see :func:`release_foreign`).
    foreign: tuple[geometry.Slot, ...] = ()

    @property
    def key(self) -> GpuKey:
        """GPUs with equal keys are interchangeable for the planner."""
        return (self.model, self.table.key, self.fixed,
                tuple(sorted(s.profile for s in self.free)))


@dataclasses.dataclass
class HostState:
    name: str
    path: str
    device_mode: str
    gpus: list[GpuState]
    age: float = 0.0
    scopes: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class LeftOut:
    host: str
    reason: str


def _profiles(doc: JsonObject, where: str
              ) -> tuple[gpu_records.GpuInstanceProfile, ...]:
    profiles = doc.get('profiles')
    if not isinstance(profiles, list):
        raise ValueError('%s has no profile table ("profiles"); run a '
                         'nova-mig whose discover reports it' % where)
    result = []
    for p in profiles:
        placements = tuple(gpu_records.Placement(int(pl['start']),
                                                 int(pl['size']))
                           for pl in p['placements'])
        result.append(gpu_records.GpuInstanceProfile(
            id=int(p['id']), name=str(p['name']),
            slice_count=int(p['slices']),
            memory_mb=int(p.get('memory_mb', 0)),
            instance_count=int(p['instances']),
            multiprocessor_count=int(p.get('multiprocessors', 0)),
            placements=placements))
    return tuple(result)


def gpu_state(host: str, gpu: JsonObject,
              devices: dict[tuple[str, int], PinnedDevice]
              ) -> GpuState | None:
    """The planner's view of one GPU of a discover document.

    :returns: None for a GPU that is not MIG-enabled (left as it is).
    :raises: ValueError, KeyError, TypeError for a malformed entry.
    """
    if gpu.get('mig_mode') != MIG_ENABLED or not gpu.get('mig_capable'):
        return None
    address = str(gpu['pci_address'])
    table = geometry.ProfileTable(_profiles(gpu, 'GPU %s' % address))
    fixed: list[geometry.Slot] = []
    free: list[geometry.Slot] = []
    kept: list[geometry.Slot] = []
    pinned: dict[int, PinnedDevice] = {}
    for gi in gpu.get('gpu_instances') or ():
        slot = geometry.Slot(int(gi['placement_start']),
                             int(gi['placement_size']), str(gi['profile']))
        dev = devices.get((address, int(gi['id'])))
        # As "layout apply" sees it: an unused vGPU device nova-mig did
        # not create may be about to be used by Nova; apply refuses to
        # remove it, so its GPU instance is not free.
        foreign = dev is not None and dev.get('owned') is False
        (fixed if gi.get('in_use') or foreign else free).append(slot)
        if foreign and not gi.get('in_use'):
            kept.append(slot)
        if dev is not None:
            pinned[slot.start] = dev
    vfs = gpu.get('sriov_vfs')
    return GpuState(
        host=host, pci_address=address, model=str(gpu['model']),
        table=table, fixed=tuple(sorted(fixed)), free=tuple(sorted(free)),
        devices=pinned, uuid=str(gpu.get('uuid', '')),
        foreign=tuple(sorted(kept)),
        sriov_vfs=int(vfs['enabled']) if isinstance(vfs, dict) else None)


def host_state(doc: object, path: str, age: float) -> HostState:
    """Parse one discover document.

    :raises: ValueError naming what is wrong.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get('gpus'), list):
        raise ValueError('not a "nova-mig discover -f json" document')
    name = str(doc.get('hostname') or '')
    if not name:
        raise ValueError('no "hostname"')
    devices: dict[tuple[str, int], PinnedDevice] = {}
    for dev in doc.get('vgpu_devices') or ():
        if dev.get('gpu_instance_id') is not None:
            key = (dev['gpu'], int(dev['gpu_instance_id']))
            owned = dev.get('owned')
            prior = devices.get(key)
            if prior is not None and prior['owned'] is False:
                owned = False
            devices[key] = {'uuid': dev.get('uuid'),
                            'type': dev.get('type_name'), 'owned': owned}
    gpus = []
    try:
        for gpu in doc['gpus']:
            state = gpu_state(name, gpu, devices)
            if state is not None:
                gpus.append(state)
    except (KeyError, TypeError) as e:
        raise ValueError('malformed GPU entry (%s: %s)' % (
            type(e).__name__, e))
    return HostState(name=name, path=path,
                     device_mode=str(doc.get('device_mode') or 'auto'),
                     gpus=gpus, age=age)


def load_hosts(directory: str, window: float, now: float | None = None
               ) -> tuple[list[HostState], list[LeftOut]]:
    """Read every ``*.json`` discover document of ``directory``.

    :param window: seconds; older documents are left out.
    :raises: :class:`nova_mig.exception.RebalanceInputError` when the
        directory cannot be read or holds no document.
    """
    now = time.time() if now is None else now
    try:
        names = sorted(n for n in os.listdir(directory)
                       if n.endswith('.json'))
    except OSError as e:
        raise exception.RebalanceInputError(
            path=directory, where='--hosts', reason=e.strerror or str(e))
    if not names:
        raise exception.RebalanceInputError(
            path=directory, where='--hosts',
            reason='no discover document (*.json); gather them with '
                   '"nova-mig discover -f json" on each host')
    hosts: dict[str, HostState] = {}
    left: list[LeftOut] = []
    for filename in names:
        path = os.path.join(directory, filename)
        label = discover.shown(filename[:-len('.json')])
        shown = discover.shown(path)
        try:
            age = now - os.stat(path).st_mtime
            state = host_state(discover.read(path), path, age)
        except OSError as e:
            left.append(LeftOut(label, '%s: unreadable: %s' % (
                shown, e.strerror or e)))
            continue
        except ValueError as e:
            left.append(LeftOut(label, '%s: unreadable: %s' % (shown, e)))
            continue
        if age > window:
            left.append(LeftOut(state.name, '%s: stale: %.0f s old, older '
                                'than the window (%.0f s)' % (
                                    shown, age, window)))
            continue
        if state.name in hosts:
            first = discover.shown(hosts[state.name].path)
            left.append(LeftOut(state.name, '%s: a second document for '
                                'the host (first: %s)' % (shown, first)))
            continue
        hosts[state.name] = state
    return [hosts[n] for n in sorted(hosts)], left


def release_foreign(hosts: list[HostState]) -> None:
    """Count unused foreign vGPU devices' GPU instances as free.

    What ``rebalance apply --include-foreign`` does: it removes them.
    """
    for host in hosts:
        for gpu in host.gpus:
            if gpu.foreign:
                gpu.fixed = tuple(s for s in gpu.fixed
                                  if s not in gpu.foreign)
                gpu.free = tuple(sorted(gpu.free + gpu.foreign))
                gpu.foreign = ()


def _count(slots: typing.Iterable[geometry.Slot]
           ) -> collections.Counter[str]:
    return collections.Counter(s.profile for s in slots)


def disagreement(host: HostState, used: dict[str, int],
                 offered: dict[str, int]) -> str | None:
    """Why Placement and the discover document disagree, or None.

    :param used: profile -> slices Placement counts used on the host.
    :param offered: profile -> slices Placement offers (capacity).
    """
    in_use: collections.Counter[str] = collections.Counter()
    existing: collections.Counter[str] = collections.Counter()
    for gpu in host.gpus:
        in_use += _count(gpu.fixed)
        existing += _count(gpu.fixed) + _count(gpu.free)
    for profile in sorted(set(used) | set(offered)):
        if used.get(profile, 0) > in_use[profile]:
            return ('Placement counts %d used %s slice(s), the discover '
                    'document %d in use; gather it again' % (
                        used[profile], profile, in_use[profile]))
        if offered.get(profile, 0) > existing[profile]:
            return ('Placement offers %d %s slice(s), the discover '
                    'document has %d GPU instance(s) of it; gather it '
                    'again' % (offered[profile], profile, existing[profile]))
    return None


def join_placement(hosts: list[HostState],
                   rows: typing.Iterable[ProfileSlices],
                   ) -> tuple[list[HostState], list[LeftOut]]:
    """Keep the hosts Placement agrees with.

    :param rows: :class:`ProfileSlices` of the cloud
        (:class:`nova_mig.flavor.slice_capacity.ProviderSlices`).
    """
    used: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    offered: dict[str, collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    for row in rows:
        used[row.host][row.profile] += row.used
        offered[row.host][row.profile] += row.capacity
    kept: list[HostState] = []
    left: list[LeftOut] = []
    names = {h.name for h in hosts}
    short = {h.name.split('.')[0]: h.name for h in hosts}
    for host in hosts:
        key = host.name if host.name in used or host.name in offered else \
            next((n for n in set(used) | set(offered)
                  if n.split('.')[0] == host.name.split('.')[0]), host.name)
        why = disagreement(host, dict(used.get(key, {})),
                           dict(offered.get(key, {})))
        if why:
            left.append(LeftOut(host.name, why))
        else:
            kept.append(host)
    for name in sorted(set(used) | set(offered)):
        if name not in names and name.split('.')[0] not in short:
            left.append(LeftOut(name, 'no discover document: the host has '
                                'GPU providers in Placement'))
    return kept, left
