# SPDX-License-Identifier: Apache-2.0

"""Run a plan's steps, GPU by GPU, proving each target free first.

A refused GPU (something in use) is skipped whole; a failure half-way
(the card or the kernel says no) stops that GPU and records exactly what
was done, and the other GPUs go on.  The whole set of a GPU's targets is
proved again right before its first step (:func:`nova_mig.layout.proof.
reprove`) and each step's right before that step; after a removal,
libvirt is asked once more (:func:`nova_mig.layout.proof.look_after`).
The plan is not changed: what happened is returned as
:class:`nova_mig.layout.result.GpuResult` records.
"""

import logging
import typing

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import discovery
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.layout import layout_plan
from nova_mig.layout import proof
from nova_mig.layout import records
from nova_mig.layout import step_types
from nova_mig import ownership

LOG = logging.getLogger(__name__)

Status = records.Status
Outcome = records.Outcome

#: progress(index, total, step, status); status is None before the step.
Progress = typing.Callable[[int, int, step_types.Step, str | None], None]


class Executor:
    """Runs the steps of a plan through the backend and sysfs.

    It is the :class:`nova_mig.layout.step_types.Context` the steps execute
    through.
    """

    def __init__(self, backend: backend_api.GpuBackend, state_dir: str,
                 progress: Progress | None = None,
                 checker: inuse.Checker | None = None,
                 reset_gpu: bool = False, sriov_manage: str | None = None):
        self.backend = backend
        self.sriov_manage = sriov_manage
        self.reset_gpu = reset_gpu
        self.reader = sysfs.SysfsReader(backend.sysfs_root())
        self.writer = backend.sysfs_writer()
        self.owned = ownership.OwnershipRecord(state_dir)
        self.nodedevs = virt.NodeDevices(backend.libvirt_uri())
        self.progress = progress
        self.checker = checker or inuse.Checker(backend, '/proc', '/dev')
        self.gi_ids: dict[tuple[str, int], int] = {}
        #: The progress: steps started, steps of GPUs not refused.
        self._index = self._total = 0

    # -- what the steps read --------------------------------------------
    def gpu_users(self, address: str) -> list[str]:
        return proof.gpu_users(discovery.discover(self.backend), address)

    def vgpu_uuid(self, vf: str) -> str | None:
        for gpu in self.backend.list_gpus():
            for vgpu in gpu.active_vgpus:
                if vgpu.parent == vf:
                    return vgpu.mdev_uuid
        return None

    # -- one step -------------------------------------------------------
    def targets(self, step: step_types.Step) -> list[inuse.Target]:
        """What must be free right before ``step``; [] for a harmless one."""
        return step.targets(self)

    def run(self, step: step_types.Step) -> records.StepRecord:
        """Prove the step's targets unused, then take the step.

        After a removal, libvirt is asked once more (the record's
        ``lost``).

        :returns: the record of the step as it ran (the VF's address
            filled in); its outcome :attr:`Outcome.IN_USE` when a target
            was used (nothing done).
        :raises: :class:`StepFailed` for the backend's and the kernel's
            errors, and the in-use refusal.
        """
        try:
            targets = self.targets(step)
            self.checker.require_free(*targets)
            step = step.resolve(self)
            step.execute(self)
        except (exception.NovaMigException, OSError) as e:
            raise StepFailed(step, e)
        lost = proof.look_after(self.checker, step, targets)
        return records.StepRecord(step, Outcome.DONE, tuple(lost))

    # -- the plan -------------------------------------------------------
    def execute(self, the_plan: layout_plan.Plan
                ) -> tuple[records.GpuResult, ...]:
        """Run every GPU's steps; one GPU's failure stops only that GPU."""
        self._total = sum(len(g.steps) for g in the_plan.gpus
                          if not g.refused)
        self._index = 0
        try:
            return tuple(self._gpu(g) for g in the_plan.gpus)
        finally:
            self.nodedevs.close()

    def _gpu(self, gplan: layout_plan.GpuPlan) -> records.GpuResult:
        def not_done(steps: typing.Iterable[step_types.Step]
                     ) -> tuple[records.StepRecord, ...]:
            return tuple(records.StepRecord(s, Outcome.NOT_DONE)
                         for s in steps)

        if gplan.refused:
            return records.GpuResult(
                gplan.address, Status.REFUSED, not_done(gplan.steps),
                '%s: %s' % (gplan.refused, ', '.join(gplan.blockers)))
        error = proof.reprove(self.checker, self.reader, gplan)
        if error:
            self._index += len(gplan.steps)
            return records.GpuResult(gplan.address, Status.IN_USE,
                                     not_done(gplan.steps), error)
        ran: list[records.StepRecord] = []
        for n, step in enumerate(gplan.steps):
            self._index += 1
            self._report(step, None)
            try:
                ran.append(self.run(step))
            except StepFailed as failed:
                in_use = isinstance(failed.error, exception.TargetInUse)
                outcome = Outcome.IN_USE if in_use else Outcome.FAILED
                self._report(failed.step, outcome)
                error = '%s failed: %s' % (failed.step.describe(),
                                           failed.error)
                LOG.error('GPU %s: %s', gplan.address, error)
                self._index += len(gplan.steps) - n - 1
                ran.append(records.StepRecord(failed.step, outcome))
                return records.GpuResult(
                    gplan.address,
                    Status.IN_USE if in_use else Status.FAILED,
                    tuple(ran) + not_done(gplan.steps[n + 1:]), error)
            self._report(ran[-1].step, Outcome.DONE)
        status = Status.CHANGED if gplan.steps else Status.UNCHANGED
        if status == Status.CHANGED and any(r.lost for r in ran):
            status = Status.REFERENCED
        return records.GpuResult(gplan.address, status, tuple(ran))

    def _report(self, step: step_types.Step, status: str | None) -> None:
        if self.progress is not None:
            self.progress(self._index, self._total, step, status)


class StepFailed(Exception):
    """A step the backend, the kernel or the in-use check refused."""

    def __init__(self, step: step_types.Step,
                 error: exception.NovaMigException | OSError):
        super().__init__(str(error))
        #: The step as far as it was resolved.
        self.step = step
        self.error = error
