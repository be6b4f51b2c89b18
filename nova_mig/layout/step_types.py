# SPDX-License-Identifier: Apache-2.0

"""The steps of a layout plan: one frozen type per kind of change.

Each step carries what it needs and nothing else, says in one line what
it does (:meth:`Step.describe`), what it destroys (:meth:`Step.destroys`,
the in-use proof of :mod:`nova_mig.layout.proof`) and does it
(:meth:`Step.execute`) through a :class:`Context`, which the executor
(:mod:`nova_mig.layout.executor`) provides.  The class attribute
:attr:`Step.kind` is the name ``layout plan`` shows; nothing dispatches
on it.
"""

import abc
import dataclasses
import errno
import logging
import os
import typing

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import gpu_records
from nova_mig import ownership

LOG = logging.getLogger(__name__)

#: errnos of a removal whose device is already gone: success.
GONE = (errno.ENODEV, errno.ENOENT)


class Context(typing.Protocol):
    """What a step executes through (the executor of one apply)."""

    backend: backend_api.GpuBackend
    reader: sysfs.SysfsReader
    writer: backend_api.SysfsWriter
    owned: ownership.OwnershipRecord
    nodedevs: virt.NodeDevices
    #: NVIDIA's sriov-manage for vendor-VFIO VFs ([host]sriov_manage).
    sriov_manage: str | None
    #: Reset an idle GPU whose MIG mode change stays pending.
    reset_gpu: bool
    #: (GPU address, placement start) -> ID of a GPU instance created.
    gi_ids: dict[tuple[str, int], int]

    def gpu_users(self, address: str) -> list[str]:
        """What keeps a GPU from being reset, read now."""

    def vgpu_uuid(self, vf: str) -> str | None:
        """The driver's UUID of the vGPU a VF carries now."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Step(abc.ABC):
    """One change on one GPU."""

    #: The name ``layout plan`` and ``layout apply`` show; display only.
    kind: typing.ClassVar[str]
    #: Removals after which libvirt is asked once more (a guest defined
    #: in between lost its device, see :meth:`lost_fix`).
    looked_after: typing.ClassVar[bool] = False

    #: The GPU's PCI address.
    gpu: str
    gpu_uuid: str
    reason: str

    @abc.abstractmethod
    def describe(self) -> str:
        """One line: what is done."""

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        """What the step destroys, read now; [] for a harmless step."""
        return []

    def targets(self, ctx: Context) -> list[inuse.Target]:
        """What must be free right before the step."""
        return self.destroys(ctx.reader)

    def removes(self) -> tuple[str, ...]:
        """The vGPU devices (UUIDs, VF addresses) the step removes."""
        return ()

    def resolve(self, ctx: Context) -> 'Step':
        """The step as it runs now (a VF's address read from sysfs)."""
        return self

    @abc.abstractmethod
    def execute(self, ctx: Context) -> None:
        """Take the step (its targets proved free)."""

    def lost_fix(self, target: inuse.Target) -> str:
        """How to give a guest back ``target``, removed under it.

        Only asked of the steps :attr:`looked_after`.
        """
        raise NotImplementedError(self.kind)


def _where(placement: gpu_records.Placement | None) -> str:
    if placement is None:
        return ''
    return ' at %d:%d' % (placement.start, placement.size)


def _parent_text(vf: int | None, parent: str | None) -> str:
    if vf is not None:
        return 'VF %d%s' % (vf, ' (%s)' % parent if parent else '')
    return parent or 'the GPU'


def _removed(what: str, remove: typing.Callable[[], None]) -> bool:
    """A removal through the writer; False when already gone."""
    try:
        remove()
    except OSError as e:
        if e.errno not in GONE:
            raise
        LOG.info('%s: already gone (%s)', what, e.strerror or e)
        return False
    return True


# -- vGPU devices -------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class RemoveVgpu(Step):
    """Remove a vGPU device (an mdev, or a vendor-VFIO VF's vGPU type)."""

    kind = 'remove-vgpu'
    looked_after = True

    type_name: str | None
    vf: int | None
    #: The mdev's parent, or the VF carrying the vGPU.
    parent: str

    @property
    @abc.abstractmethod
    def key(self) -> str:
        """The device's key in the ownership record."""

    def _name(self) -> str | None:
        return None

    def describe(self) -> str:
        return 'remove vGPU %s from %s' % (
            ' '.join(filter(None, (self._name(), '(%s)' % self.type_name))),
            _parent_text(self.vf, self.parent))


@dataclasses.dataclass(frozen=True, kw_only=True)
class RemoveMdev(RemoveVgpu):
    """Remove an mdev (and undefine its libvirt node device)."""

    uuid: str
    node_device: str | None = None

    @property
    def key(self) -> str:
        return self.uuid

    def _name(self) -> str | None:
        return self.uuid

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        return [inuse.Target(inuse.MDEV, self.uuid)]

    def removes(self) -> tuple[str, ...]:
        return (self.uuid, self.parent)

    def execute(self, ctx: Context) -> None:
        mdev = self.uuid
        _removed(mdev, lambda: ctx.writer.remove_mdev(mdev))
        if self.node_device:
            ctx.nodedevs.undefine(mdev, self.parent)
        ctx.owned.discard(mdev)

    def lost_fix(self, target: inuse.Target) -> str:
        return ('re-create it with the same UUID before the guest starts '
                '(mdevctl start -u %s -p %s -t <nvidia-N of %s>, or '
                '"nova-mig layout apply" of a layout that keeps it)' % (
                    target.key, self.parent, self.type_name))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClearVgpuType(RemoveVgpu):
    """Clear a vendor-VFIO VF's vGPU type (its vGPU goes)."""

    @property
    def key(self) -> str:
        return self.parent

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        return [inuse.Target(inuse.FUNCTION, self.parent)]

    def removes(self) -> tuple[str, ...]:
        return (self.parent,)

    def execute(self, ctx: Context) -> None:
        parent = self.parent
        _removed(parent, lambda: ctx.writer.clear_vgpu_type(parent))
        ctx.owned.discard(parent)

    def lost_fix(self, target: inuse.Target) -> str:
        return ('set its vGPU type again before the guest starts (echo '
                '<type id of %s> > /sys/bus/pci/devices/%s/nvidia/'
                'current_vgpu_type)' % (self.type_name, target.key))


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateVgpu(Step):
    """Create a vGPU device on a VF (or on the GPU without SR-IOV)."""

    kind = 'create-vgpu'

    type_name: str
    #: The VF index; None when the GPU itself is the parent.
    vf: int | None
    #: The parent's address; None when the VF is enabled by the plan.
    parent: str | None
    #: The GPU instance backing it (MIG-backed vGPU), or None.
    profile: str | None = None
    placement: gpu_records.Placement | None = None
    #: The layout names the VF (a checkpoint does): the operator's choice,
    #: not the planner's, even when a guest references that VF.
    vf_given: bool = False

    def _name(self) -> str | None:
        return None

    def describe(self) -> str:
        return 'create vGPU %s on %s%s' % (
            ' '.join(filter(None, (self.type_name, self._name()))),
            _parent_text(self.vf, self.parent),
            ' for %s%s' % (self.profile, _where(self.placement))
            if self.profile else '')

    def address(self, reader: sysfs.SysfsReader) -> str:
        """The parent's address now (a VF's, read from sysfs)."""
        if self.vf is not None:
            return reader.vf_address(self.gpu, self.vf)
        if self.parent is None:
            raise exception.GpuOperationRefused(
                gpu=self.gpu_uuid, code='NO_FREE_VF',
                operation=self.describe(),
                reason='the plan found no free VF for it')
        return self.parent

    def targets(self, ctx: Context) -> list[inuse.Target]:
        if self.vf is None or self.vf_given:
            return []
        # A VF a domain references (even shut off) is that guest's: the
        # planner must not pick it for another vGPU.
        return [inuse.Target(inuse.FUNCTION, self.address(ctx.reader))]

    def resolve(self, ctx: Context) -> 'CreateVgpu':
        return dataclasses.replace(self, parent=self.address(ctx.reader))

    def details(self, parent: str) -> dict[str, typing.Any]:
        """The ownership record's entry of the device."""
        details: dict[str, typing.Any] = {
            'gpu': self.gpu, 'parent': parent, 'type': self.type_name,
            'source': 'layout'}
        if self.placement is not None:
            details.update(profile=self.profile,
                           placement=self.placement.start)
        return details


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateMdev(CreateVgpu):
    """Create an mdev with its UUID; define it as a node device."""

    uuid: str

    def _name(self) -> str | None:
        return self.uuid

    def execute(self, ctx: Context) -> None:
        parent = self.address(ctx.reader)
        mdev_type = ctx.reader.mdev_type_named(parent, self.type_name)
        ctx.owned.intend(self.uuid, **self.details(parent))
        ctx.writer.create_mdev(parent, mdev_type, self.uuid)
        ctx.owned.add(self.uuid)
        ctx.nodedevs.define(self.uuid, parent, mdev_type)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SetVgpuType(CreateVgpu):
    """Give a vendor-VFIO VF its vGPU type."""

    def execute(self, ctx: Context) -> None:
        parent = self.address(ctx.reader)
        details = self.details(parent)
        type_id = ctx.reader.creatable_id(parent, self.type_name)
        details['type_id'] = str(type_id)
        ctx.owned.intend(parent, **details)
        ctx.writer.set_vgpu_type(parent, type_id)
        ctx.owned.add(parent, vgpu_uuid=ctx.vgpu_uuid(parent))


# -- MIG geometry -------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class OnGpuInstance(Step):
    profile: str
    placement: gpu_records.Placement


@dataclasses.dataclass(frozen=True, kw_only=True)
class DestroyComputeInstance(OnGpuInstance):
    kind = 'destroy-ci'

    gi_id: int
    ci_id: int

    def describe(self) -> str:
        return 'destroy compute instance %s of GPU instance %s (%s%s)' % (
            self.ci_id, self.gi_id, self.profile, _where(self.placement))

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        return [inuse.Target(inuse.GPU_INSTANCE, self.gpu_uuid,
                             gi_id=self.gi_id)]

    def execute(self, ctx: Context) -> None:
        ctx.backend.destroy_compute_instance(self.gpu_uuid, self.gi_id,
                                             self.ci_id)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DestroyGpuInstance(OnGpuInstance):
    kind = 'destroy-gi'

    gi_id: int

    def describe(self) -> str:
        return 'destroy GPU instance %s (%s%s)' % (
            self.gi_id, self.profile, _where(self.placement))

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        return [inuse.Target(inuse.GPU_INSTANCE, self.gpu_uuid,
                             gi_id=self.gi_id)]

    def execute(self, ctx: Context) -> None:
        ctx.backend.destroy_gpu_instance(self.gpu_uuid, self.gi_id)


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateGpuInstance(OnGpuInstance):
    kind = 'create-gi'

    profile_id: int

    def describe(self) -> str:
        return 'create GPU instance %s%s' % (self.profile,
                                             _where(self.placement))

    def execute(self, ctx: Context) -> None:
        gi = ctx.backend.create_gpu_instance(self.gpu_uuid, self.profile_id,
                                             self.placement)
        ctx.gi_ids[(self.gpu, gi.placement.start)] = gi.id


@dataclasses.dataclass(frozen=True, kw_only=True)
class CreateComputeInstance(OnGpuInstance):
    kind = 'create-ci'

    #: The GPU instance when it exists already; None for one the plan
    #: creates first.
    gi_id: int | None = None

    def describe(self) -> str:
        return 'create compute instance on %s%s' % (self.profile,
                                                    _where(self.placement))

    def execute(self, ctx: Context) -> None:
        gi_id = self.gi_id
        if gi_id is None:
            gi_id = ctx.gi_ids[(self.gpu, self.placement.start)]
        ctx.backend.create_compute_instance(self.gpu_uuid, gi_id)


# -- the GPU ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class SetVfCount(Step):
    """Set a PF's SR-IOV VF count (only ever through 0)."""

    kind = 'set-numvfs'
    looked_after = True

    count: int
    #: Vendor-specific VFIO: NVIDIA's sriov-manage where it can.
    vendor_vfio: bool = False

    def describe(self) -> str:
        return 'set SR-IOV VFs to %s' % self.count

    def destroys(self, reader: sysfs.SysfsReader) -> list[inuse.Target]:
        """Every VF of the GPU, also one without a vGPU a guest uses."""
        if self.count:
            return []
        return [inuse.Target(inuse.FUNCTION, name,
                             role='removed by the VF-count change')
                for name in reader.vfs(self.gpu)]

    def lost_fix(self, target: inuse.Target) -> str:
        return ('enable the VFs again ("nova-mig layout apply" of a layout '
                'with the previous sriov_vfs)')

    def execute(self, ctx: Context) -> None:
        """Through sriov-manage where the driver wants it.

        In vendor-specific VFIO mode NVIDIA's driver refuses a raw
        ``sriov_numvfs`` write on its PF; its sriov-manage enables all VFs
        (``-e``) or none (``-d``). Other counts, or without the tool, go
        through sysfs, and a refusal names the fix.
        """
        count, pf, tool = self.count, self.gpu, ctx.sriov_manage
        installed = bool(tool) and os.path.isfile(tool or '')
        if self.vendor_vfio and tool and installed:
            total = ctx.reader.read_int(ctx.reader.path(
                sysfs.PCI_DEVICES, pf, 'sriov_totalvfs'))
            if count in (0, total):
                ctx.writer.sriov_manage(tool, pf, bool(count))
                return
        try:
            ctx.writer.set_sriov_numvfs(pf, count)
        except OSError as e:
            if not self.vendor_vfio or e.errno not in (
                    errno.EPERM, errno.EACCES, errno.EINVAL, errno.EBUSY):
                raise
            raise exception.GpuOperationRefused(
                gpu=self.gpu_uuid, code='SRIOV_REFUSED',
                operation=self.describe(),
                reason='the nvidia driver refused sriov_numvfs = %d on %s '
                       '(%s); its VFs go through NVIDIA\'s sriov-manage '
                       '([host]sriov_manage = %s%s), which enables all VFs '
                       'or none: ask for 0 or all of them' % (
                           count, pf, e.strerror or e, tool or '',
                           '' if installed else ', not installed'))


@dataclasses.dataclass(frozen=True, kw_only=True)
class SetMigMode(Step):
    """Enable or disable MIG mode; reset the GPU when allowed and idle."""

    kind = 'set-mig-mode'

    mig: bool

    def describe(self) -> str:
        return '%s MIG mode' % ('enable' if self.mig else 'disable')

    def execute(self, ctx: Context) -> None:
        enable, gpu = self.mig, self.gpu_uuid
        current, _pending = ctx.backend.set_mig_mode(gpu, enable)
        if bool(current) == enable:
            return
        command = ' '.join(backend_api.reset_command(self.gpu))
        if not ctx.reset_gpu:
            raise exception.GpuOperationRefused(
                gpu=gpu, code='RESET_REQUIRED', operation=self.describe(),
                reason='the change is pending until the GPU is reset; once '
                       'the GPU is idle run "%s" and apply again, or let '
                       'nova-mig reset it ("nova-mig layout restore '
                       '--reset-gpu")' % command)
        busy = ctx.gpu_users(self.gpu)
        if busy:
            raise exception.GpuOperationRefused(
                gpu=gpu, code='IN_USE', operation='reset the GPU',
                reason='not idle (%s); free it, then run "%s"'
                       % (', '.join(busy), command))
        ctx.backend.reset_gpu(gpu, self.gpu)
        for found in ctx.backend.list_gpus():
            if found.uuid == gpu and bool(found.mig_current) != enable:
                raise exception.GpuOperationRefused(
                    gpu=gpu, code='RESET_REQUIRED',
                    operation=self.describe(),
                    reason='MIG mode still pending after "%s"; reboot the '
                           'host' % command)
