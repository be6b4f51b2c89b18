# SPDX-License-Identifier: Apache-2.0

"""Execute a layout plan: SR-IOV VFs, MIG instances, vGPU devices.

The host is discovered once, under the host lock, and planned
(:mod:`nova_mig.layout.layout_plan`); the executor (:mod:`nova_mig.layout.
executor`) runs the plan GPU by GPU and returns what it did as typed
records (:mod:`nova_mig.layout.records`); the plan itself never changes.
A refused GPU (something in use) is skipped whole; a failure half-way (the
card or the kernel says no) stops that GPU, reports exactly what was done,
and the other GPUs go on.  The in-use proof re-reads only what a step
destroys; once a step changed the host, the host is read once more for
the checkpoint.

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

import logging
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import discovery
from nova_mig.host import sysfs
from nova_mig.layout import checkpoint
from nova_mig.layout import executor
from nova_mig.layout import export
from nova_mig.layout import layout_plan
from nova_mig.layout import proof
from nova_mig.layout import records
from nova_mig.layout import spec
from nova_mig.layout import step_types
from nova_mig import lock
from nova_mig.model import host_records
from nova_mig import ownership

LOG = logging.getLogger(__name__)


def owned_devices(conf: cfg.ConfigOpts, include_foreign: bool,
                  report: host_records.HostReport | None = None,
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


def foreign_removals(the_plan: layout_plan.Plan,
                     owned: set[str]) -> list[step_types.RemoveVgpu]:
    """Removals of vGPU devices nova-mig did not create."""
    return [s for g in the_plan.gpus if not g.refused for s in g.steps
            if isinstance(s, step_types.RemoveVgpu) and
            s.key not in owned]


def apply(backend: backend_api.GpuBackend, conf: cfg.ConfigOpts,
          layout: spec.Layout, dry_run: bool = False,
          progress: executor.Progress | None = None,
          hostname: str | None = None,
          include_foreign: bool = False,
          guard: typing.Callable[[host_records.HostReport], object] | None
          = None, reset_gpu: bool = False,
          skip_handle_check: bool = False) -> records.ApplyResult:
    """Validate, plan and apply ``layout`` under the host lock.

    :param backend: the :class:`nova_mig.gpu.backend_api.GpuBackend`.
    :param conf: the ConfigOpts (``[host]state_dir``, the lock).
    :param include_foreign: remove unused vGPU devices nova-mig did not
        create too (see :func:`nova_mig.layout.layout_plan.plan`).
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
        check = proof.checker(backend, conf, skip_handle_check)
        the_plan = proof.prove(
            check, sysfs.SysfsReader(backend.sysfs_root()),
            layout_plan.plan(report, layout, backend.sysfs_root(),
                             owned=None if include_foreign else owned))
        if dry_run:
            return records.ApplyResult(the_plan, (), dry_run=True,
                                       warnings=tuple(check.notes))
        if guard is not None and foreign_removals(the_plan, owned or set()):
            guard(report)
        runner = executor.Executor(
            backend, conf.host.state_dir, progress, check,
            reset_gpu=reset_gpu, sriov_manage=conf.host.sriov_manage)
        gpus = runner.execute(the_plan)
        warnings = list(runner.nodedevs.warnings) + check.notes
        # The host as planned, unless a step changed it: then read once.
        if any(r.outcome == records.Outcome.DONE
               for g in gpus for r in g.steps):
            report = discovery.discover(backend, hostname)
        saved = error = None
        try:
            saved = write_checkpoint(conf, report, gpus)
        except OSError as e:
            error = ('the layout checkpoint %s was not written (%s): the '
                     'boot restore would re-create the previous layout; '
                     'free the state directory and apply again' % (
                         checkpoint.path(conf.host.state_dir),
                         e.strerror or e))
            warnings.append(error)
            LOG.error('%s', error)
    return records.ApplyResult(the_plan, gpus, checkpoint=saved,
                               warnings=tuple(warnings),
                               checkpoint_error=error)


def write_checkpoint(conf: cfg.ConfigOpts, report: host_records.HostReport,
                     gpus: typing.Iterable[records.GpuResult]) -> str:
    """Checkpoint the host after an apply (failed GPUs keep their entry).

    :param report: the host after the apply.
    """
    state_dir = conf.host.state_dir
    failed = {g.gpu for g in gpus if g.status in (records.Status.REFUSED,
                                                  records.Status.FAILED)}
    try:
        previous = checkpoint.load(state_dir)
    except exception.CheckpointError as e:
        LOG.warning('Replacing an unreadable checkpoint: %s', e)
        previous = None
    layout = checkpoint.merge(export.export(report, 'checkpoint'),
                              previous, failed)
    return checkpoint.save(state_dir, layout, report.hostname)


def restore(backend: backend_api.GpuBackend, conf: cfg.ConfigOpts,
            progress: executor.Progress | None = None,
            hostname: str | None = None,
            reset_gpu: bool = False,
            skip_handle_check: bool = False) -> records.ApplyResult | None:
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
