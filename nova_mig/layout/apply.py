# SPDX-License-Identifier: Apache-2.0

"""Execute a layout plan: SR-IOV VFs, MIG instances, vGPU devices.

GPUs are handled one after the other.  A refused GPU (something in use)
is skipped whole; a failure half-way (the card or the kernel says no)
stops that GPU, reports exactly what was done, and the other GPUs go on.

All or nothing per GPU (:mod:`nova_mig.layout.proof`): every target a
GPU's plan destroys is proved free once planned, again before the GPU's
first step, and each right before its step (and before a vGPU is created
on a VF): a target used since stops that GPU (status ``in use``), so the
run ends non-zero and a re-run plans again.  After each removal a domain
referencing the removed device is reported (``referenced after removal``).

Every vGPU device is recorded in the ownership record before it is created
(an intent, fsynced) and confirmed after; where libvirt supports it, it is
defined as a persistent node device.  The run holds the host lock; the
checkpoint for the boot restore is written at the end.
"""

import dataclasses
import errno
import logging
import os
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import base
from nova_mig.host import discovery
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.layout import checkpoint
from nova_mig.layout import export
from nova_mig.layout import plan as plan_mod
from nova_mig.layout import proof
from nova_mig.layout import spec
from nova_mig import lock
from nova_mig.model import host as host_model
from nova_mig import ownership

LOG = logging.getLogger(__name__)

UNCHANGED = 'unchanged'
CHANGED = 'changed'
REFUSED = 'refused'
FAILED = 'failed'
#: A target of the plan became used before its step: that GPU stopped.
IN_USE = 'in use'
#: A removed device is referenced by a domain defined after its last check.
REFERENCED = 'referenced after removal'
#: errnos of a removal whose device is already gone: success.
GONE = (errno.ENODEV, errno.ENOENT)

#: progress(index, total, action, status); status is None before the step.
Progress = typing.Callable[[int, int, plan_mod.Action, str | None], None]
_T = typing.TypeVar('_T')


def _planned(value: _T | None) -> _T:
    """A field the plan always sets for the kind of action at hand."""
    if value is None:  # pragma: no cover - the plan sets it
        raise AssertionError('incomplete layout plan action')
    return value


@dataclasses.dataclass
class GpuResult:
    gpu: str
    status: str
    done: list[str] = dataclasses.field(default_factory=list)
    not_done: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    #: Domains referencing a device this run removed, with the fix.
    lost: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ApplyResult:
    plan: plan_mod.Plan
    gpus: list[GpuResult]
    dry_run: bool = False
    checkpoint: str | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    #: Why the checkpoint could not be written (the boot restore would
    #: restore an older layout), or None.
    checkpoint_error: str | None = None

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return not self.plan.refused
        return self.checkpoint_error is None and all(
            g.status in (UNCHANGED, CHANGED) for g in self.gpus)

    def rows(self) -> list[tuple[str, str, int, str]]:
        rows = []
        for gpu in self.gpus:
            detail = '; '.join(([gpu.error] if gpu.error else []) +
                               gpu.lost)
            if gpu.status in (FAILED, IN_USE) and gpu.not_done:
                detail += '; not done: ' + '; '.join(gpu.not_done)
            elif gpu.not_done:
                detail += ' (%d actions not done)' % len(gpu.not_done)
            rows.append((gpu.gpu, gpu.status, len(gpu.done), detail))
        return rows


class Executor:
    """Runs the actions of a plan through the backend and sysfs."""

    def __init__(self, backend: base.GpuBackend, state_dir: str,
                 progress: Progress | None = None,
                 checker: inuse.Checker | None = None,
                 reset_gpu: bool = False, sriov_manage: str | None = None):
        self.lost: list[str] = []
        self.backend = backend
        #: NVIDIA's sriov-manage for vendor-VFIO VFs ([host]sriov_manage).
        self.sriov_manage = sriov_manage
        #: Reset an idle GPU whose MIG mode change stays pending (Hopper
        #: after a reboot); otherwise stop with the command to run.
        self.reset_gpu = reset_gpu
        self.root = backend.sysfs_root()
        self.reader = sysfs.SysfsReader(self.root)
        self.writer = backend.sysfs_writer()
        self.owned = ownership.OwnershipRecord(state_dir)
        self.nodedevs = virt.NodeDevices(backend.libvirt_uri())
        self.progress = progress
        self.checker = checker or inuse.Checker(
            backend, '/proc', '/dev')
        self.gi_ids: dict[tuple[str, int], int] = {}

    # -- sysfs ----------------------------------------------------------------
    def _removed(self, what: str, remove: typing.Callable[[], None]) -> bool:
        """A removal through the writer; False when already gone."""
        try:
            remove()
        except OSError as e:
            if e.errno not in GONE:
                raise
            LOG.info('%s: already gone (%s)', what, e.strerror or e)
            return False
        return True

    def _vf_address(self, action: plan_mod.Action) -> str:
        if action.vf is None:
            return _planned(action.parent)
        return self.reader.vf_address(action.gpu, action.vf)

    # -- the in-use check ------------------------------------------------
    def targets(self, action: plan_mod.Action) -> list[inuse.Target]:
        """What an action destroys or reassigns; [] for a harmless one."""
        if action.kind in proof.DESTRUCTIVE:
            return proof.destroyed(self.root, action)
        if (action.kind == plan_mod.CREATE_VGPU and action.vf is not None
                and not action.vf_given):
            # A VF a domain references (even shut off) is that guest's:
            # the planner must not pick it for another vGPU.
            return [inuse.Target(inuse.FUNCTION, self._vf_address(action))]
        return []

    # -- actions ---------------------------------------------------------
    def _remove_vgpu(self, action: plan_mod.Action) -> None:
        if action.vendor_vfio:
            parent = _planned(action.parent)
            self._removed(parent, lambda: self.writer.clear_vgpu_type(parent))
            self.owned.discard(parent)
            return
        mdev = _planned(action.uuid)
        self._removed(mdev, lambda: self.writer.remove_mdev(mdev))
        if action.node_device:
            self.nodedevs.undefine(mdev, action.parent)
        self.owned.discard(mdev)

    def _create_vgpu(self, action: plan_mod.Action) -> None:
        parent = self._vf_address(action)
        action.parent = parent
        type_name = _planned(action.type_name)
        details: dict[str, typing.Any] = {
            'gpu': action.gpu, 'parent': parent, 'type': type_name,
            'source': 'layout'}
        if action.placement is not None:
            details.update(profile=action.profile,
                           placement=action.placement.start)
        if action.vendor_vfio:
            type_id = self.reader.creatable_id(parent, type_name)
            details['type_id'] = str(type_id)
            self.owned.intend(parent, **details)
            self.writer.set_vgpu_type(parent, type_id)
            self.owned.add(parent, vgpu_uuid=self._vgpu_uuid(parent))
            return
        mdev = _planned(action.uuid)
        mdev_type = self.reader.mdev_type_named(parent, type_name)
        self.owned.intend(mdev, **details)
        self.writer.create_mdev(parent, mdev_type, mdev)
        self.owned.add(mdev)
        self.nodedevs.define(mdev, parent, mdev_type)

    def _vgpu_uuid(self, vf: str) -> str | None:
        """The driver's UUID of the vGPU a VF carries now, when it says."""
        for gpu in self.backend.list_gpus():
            for vgpu in gpu.active_vgpus:
                if vgpu.parent == vf:
                    return vgpu.mdev_uuid
        return None

    def _gi_id(self, action: plan_mod.Action) -> int:
        if action.gi_id is not None:
            return action.gi_id
        return self.gi_ids[(action.gpu, _planned(action.placement).start)]

    def run(self, action: plan_mod.Action) -> None:
        """Prove the action's targets unused, then take the action.

        After a removal, libvirt is asked once more (:attr:`lost`).

        :raises: :class:`nova_mig.exception.TargetInUse` (nothing done),
            the backend's and the kernel's errors.
        """
        targets = self.targets(action)
        self.checker.require_free(*targets)
        self._act(action)
        self.lost += proof.look_after(self.checker, action, targets)

    def _act(self, action: plan_mod.Action) -> None:
        """Take one action (its targets proved free)."""
        kind, gpu = action.kind, action.gpu_uuid
        if kind == plan_mod.REMOVE_VGPU:
            self._remove_vgpu(action)
        elif kind == plan_mod.DESTROY_CI:
            self.backend.destroy_compute_instance(
                gpu, _planned(action.gi_id), _planned(action.ci_id))
        elif kind == plan_mod.DESTROY_GI:
            self.backend.destroy_gpu_instance(gpu, _planned(action.gi_id))
        elif kind == plan_mod.SET_NUMVFS:
            self._set_numvfs(action)
        elif kind == plan_mod.SET_MIG:
            self._set_mig(action)
        elif kind == plan_mod.CREATE_GI:
            gi = self.backend.create_gpu_instance(
                gpu, _planned(action.profile_id), action.placement)
            self.gi_ids[(action.gpu, gi.placement.start)] = gi.id
        elif kind == plan_mod.CREATE_CI:
            self.backend.create_compute_instance(gpu, self._gi_id(action))
        elif kind == plan_mod.CREATE_VGPU:
            self._create_vgpu(action)
        else:  # pragma: no cover - the plan only makes the kinds above
            raise AssertionError(kind)

    def _set_numvfs(self, action: plan_mod.Action) -> None:
        """Set a PF's VF count: through sriov-manage where the driver wants.

        In vendor-specific VFIO mode NVIDIA's driver refuses a raw
        ``sriov_numvfs`` write on its PF; its sriov-manage enables all VFs
        (``-e``) or none (``-d``). Other counts, or without the tool, go
        through sysfs, and a refusal names the fix.
        """
        count, pf = _planned(action.count), action.gpu
        tool = self.sriov_manage
        if action.vendor_vfio and tool and os.path.isfile(tool):
            total = self.reader.read_int(self.reader.path(
                sysfs.PCI_DEVICES, pf, 'sriov_totalvfs'))
            if count in (0, total):
                self.writer.sriov_manage(tool, pf, bool(count))
                return
        try:
            self.writer.set_sriov_numvfs(pf, count)
        except OSError as e:
            if not action.vendor_vfio or e.errno not in (
                    errno.EPERM, errno.EACCES, errno.EINVAL, errno.EBUSY):
                raise
            raise exception.GpuOperationRefused(
                gpu=action.gpu_uuid, code='SRIOV_REFUSED',
                operation=action.describe(),
                reason='the nvidia driver refused sriov_numvfs = %d on %s '
                       '(%s); its VFs go through NVIDIA\'s sriov-manage '
                       '([host]sriov_manage = %s%s), which enables all VFs '
                       'or none: ask for 0 or all of them' % (
                           count, pf, e.strerror or e, tool or '',
                           '' if tool and os.path.isfile(tool)
                           else ', not installed'))

    def _set_mig(self, action: plan_mod.Action) -> None:
        """Change the MIG mode; reset the GPU when allowed and idle."""
        enable, gpu = _planned(action.mig), action.gpu_uuid
        current, _pending = self.backend.set_mig_mode(gpu, enable)
        if bool(current) == enable:
            return
        command = ' '.join(base.reset_command(action.gpu))
        if not self.reset_gpu:
            raise exception.GpuOperationRefused(
                gpu=gpu, code='RESET_REQUIRED', operation=action.describe(),
                reason='the change is pending until the GPU is reset; once '
                       'the GPU is idle run "%s" and apply again, or let '
                       'nova-mig reset it ("nova-mig layout restore '
                       '--reset-gpu")' % command)
        busy = proof.gpu_users(discovery.discover(self.backend), action.gpu)
        if busy:
            raise exception.GpuOperationRefused(
                gpu=gpu, code='IN_USE', operation='reset the GPU',
                reason='not idle (%s); free it, then run "%s"'
                       % (', '.join(busy), command))
        self.backend.reset_gpu(gpu, action.gpu)
        for found in self.backend.list_gpus():
            if found.uuid == gpu and bool(found.mig_current) != enable:
                raise exception.GpuOperationRefused(
                    gpu=gpu, code='RESET_REQUIRED',
                    operation=action.describe(),
                    reason='MIG mode still pending after "%s"; reboot the '
                           'host' % command)

    def execute(self, the_plan: plan_mod.Plan) -> list[GpuResult]:
        """Run every GPU's actions; one GPU's failure stops only that GPU."""
        total = len([a for g in the_plan.gpus if not g.refused
                     for a in g.actions])
        index = 0
        results = []
        try:
            for gplan in the_plan.gpus:
                if gplan.refused:
                    results.append(GpuResult(
                        gplan.address, REFUSED,
                        not_done=[a.describe() for a in gplan.actions],
                        error='%s: %s' % (gplan.refused,
                                          ', '.join(gplan.blockers))))
                    continue
                result = GpuResult(gplan.address, CHANGED if gplan.actions
                                   else UNCHANGED)
                results.append(result)
                result.error = proof.reprove(self.checker, self.root, gplan)
                if result.error:
                    result.status = IN_USE
                    result.not_done = [a.describe() for a in gplan.actions]
                    index += len(gplan.actions)
                    continue
                for n, action in enumerate(gplan.actions):
                    index += 1
                    self._report(index, total, action, None)
                    try:
                        self.run(action)
                    except (exception.NovaMigException, OSError) as e:
                        status = (IN_USE if isinstance(
                            e, exception.TargetInUse) else FAILED)
                        self._report(index, total, action, status)
                        result.status = status
                        result.error = '%s failed: %s' % (
                            action.describe(), e)
                        result.not_done = [a.describe()
                                           for a in gplan.actions[n:]]
                        LOG.error('GPU %s: %s', gplan.address, result.error)
                        index += len(gplan.actions) - n - 1
                        break
                    result.done.append(action.describe())
                    self._report(index, total, action, 'done')
                    result.lost, self.lost = result.lost + self.lost, []
                if result.lost and result.status == CHANGED:
                    result.status = REFERENCED
        finally:
            self.nodedevs.close()
        return results

    def _report(self, index: int, total: int, action: plan_mod.Action,
                status: str | None) -> None:
        if self.progress is not None:
            self.progress(index, total, action, status)


def owned_devices(conf: cfg.ConfigOpts, include_foreign: bool,
                  report: host_model.HostReport | None = None,
                  write: bool = False) -> set[str] | None:
    """The devices a layout may remove when unused; None for any.

    :param report: the host now, to reconcile the record's intents and
        vendor-VFIO identities with (see
        :meth:`nova_mig.ownership.OwnershipRecord.reconcile`).
    :param write: save the reconciled record (under the host lock).
    """
    record = ownership.OwnershipRecord(conf.host.state_dir)
    if report is not None:
        record.reconcile(ownership.present(report), write=write)
    if include_foreign:
        return None
    return {key for key in record.devices() if record.owns(key)}


def foreign_removals(the_plan: plan_mod.Plan,
                     owned: set[str]) -> list[plan_mod.Action]:
    """Removals of vGPU devices nova-mig did not create."""
    return [a for g in the_plan.gpus if not g.refused for a in g.actions
            if a.kind == plan_mod.REMOVE_VGPU and
            (a.uuid or a.parent) not in owned]


def apply(backend: base.GpuBackend, conf: cfg.ConfigOpts,
          layout: spec.Layout, dry_run: bool = False,
          progress: Progress | None = None,
          hostname: str | None = None,
          include_foreign: bool = False,
          guard: typing.Callable[[host_model.HostReport], object] | None
          = None, reset_gpu: bool = False,
          skip_handle_check: bool = False) -> ApplyResult:
    """Validate, plan and apply ``layout`` under the host lock.

    :param backend: the :class:`nova_mig.gpu.base.GpuBackend`.
    :param conf: the ConfigOpts (``[host]state_dir``, the lock).
    :param include_foreign: remove unused vGPU devices nova-mig did not
        create too (see :func:`nova_mig.layout.plan.plan`).
    :param guard: called with the host report before a plan that removes
        a foreign device runs; it raises to refuse (the nova-compute
        service check of ``reap --apply``).
    :param reset_gpu: reset an idle GPU whose MIG mode change stays
        pending (``nvidia-smi --gpu-reset -i <PCI>``); without it such a
        GPU stops with that command.
    :param skip_handle_check: destroy even when the open /dev/vfio handles
        cannot be read (not root, ``/proc`` hidden).
    :raises: :class:`nova_mig.exception.LayoutValidationFailed` before
        anything is touched, and what ``guard`` raises.
    """
    with lock.host_lock(conf):
        report = discovery.discover(backend, hostname)
        owned = owned_devices(conf, False, report, write=not dry_run)
        the_plan = plan_mod.plan(report, layout, backend.sysfs_root(),
                                 owned=None if include_foreign else owned)
        check = proof.checker(backend, conf, skip_handle_check)
        proof.prove(check, backend.sysfs_root(), the_plan)
        if dry_run:
            return ApplyResult(the_plan, [], dry_run=True,
                               warnings=check.notes)
        if guard is not None and foreign_removals(the_plan, owned or set()):
            guard(report)
        executor = Executor(backend, conf.host.state_dir, progress,
                            check, reset_gpu=reset_gpu,
                            sriov_manage=conf.host.sriov_manage)
        results = executor.execute(the_plan)
        result = ApplyResult(the_plan, results,
                             warnings=list(executor.nodedevs.warnings) +
                             executor.checker.notes)
        try:
            result.checkpoint = write_checkpoint(backend, conf, result,
                                                 hostname)
        except OSError as e:
            result.checkpoint_error = (
                'the layout checkpoint %s was not written (%s): the boot '
                'restore would re-create the previous layout; free the '
                'state directory and apply again' % (
                    checkpoint.path(conf.host.state_dir),
                    e.strerror or e))
            result.warnings.append(result.checkpoint_error)
            LOG.error('%s', result.checkpoint_error)
    return result


def write_checkpoint(backend: base.GpuBackend, conf: cfg.ConfigOpts,
                     result: ApplyResult,
                     hostname: str | None = None) -> str:
    """Checkpoint the host after an apply (failed GPUs keep their entry)."""
    report = discovery.discover(backend, hostname)
    state_dir = conf.host.state_dir
    failed = {g.gpu for g in result.gpus if g.status in (REFUSED, FAILED)}
    try:
        previous = checkpoint.load(state_dir)
    except exception.CheckpointError as e:
        LOG.warning('Replacing an unreadable checkpoint: %s', e)
        previous = None
    layout = checkpoint.merge(export.export(report, 'checkpoint'),
                              previous, failed)
    return checkpoint.save(state_dir, layout, report.hostname)


def restore(backend: base.GpuBackend, conf: cfg.ConfigOpts,
            progress: Progress | None = None,
            hostname: str | None = None,
            reset_gpu: bool = False,
            skip_handle_check: bool = False) -> ApplyResult | None:
    """Re-create the checkpointed layout (at boot); None without one.

    Applying the checkpoint re-enables MIG mode where it came back off
    (Hopper GPUs after a reboot; the change may need a GPU reset, done
    only with ``reset_gpu`` and on an idle GPU), enables the VFs, then
    creates the GPU and compute instances at their recorded placements,
    then the vGPU devices with their recorded UUIDs and VFs.
    """
    layout = checkpoint.load(conf.host.state_dir)
    if layout is None:
        LOG.info('No layout checkpoint in %s: nothing to restore',
                 conf.host.state_dir)
        return None
    return apply(backend, conf, layout, progress=progress,
                 hostname=hostname, reset_gpu=reset_gpu,
                 skip_handle_check=skip_handle_check)
