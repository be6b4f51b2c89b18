# SPDX-License-Identifier: Apache-2.0

"""What applying a plan did: typed records per step and per GPU.

The plan stays as it was made; :class:`ApplyResult` holds it with one
:class:`GpuResult` per GPU, each with a :class:`StepRecord` per step.  The
command line renders them; the workflows (drain, hook, retype) read their
fields.
"""

import dataclasses
import enum

from nova_mig.layout import layout_plan
from nova_mig.layout import step_types


class Status(enum.StrEnum):
    """How a GPU came out of an apply."""

    UNCHANGED = 'unchanged'
    CHANGED = 'changed'
    REFUSED = 'refused'
    FAILED = 'failed'
    #: A target of the plan became used before its step: that GPU stopped.
    IN_USE = 'in use'
    #: A removed device is referenced by a domain defined after its last
    #: check.
    REFERENCED = 'referenced after removal'

    @property
    def ok(self) -> bool:
        """The GPU matches its layout."""
        return self in (Status.UNCHANGED, Status.CHANGED)


class Outcome(enum.StrEnum):
    """What became of one step."""

    DONE = 'done'
    FAILED = 'failed'
    #: Its target was used right before it: nothing done.
    IN_USE = 'in use'
    #: Not tried: its GPU was refused or stopped earlier.
    NOT_DONE = 'not done'


@dataclasses.dataclass(frozen=True)
class StepRecord:
    #: The step as it ran (a VF's address filled in).
    step: step_types.Step
    outcome: Outcome
    #: Domains referencing a device the step removed, with the fix.
    lost: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class GpuResult:
    gpu: str
    status: Status
    steps: tuple[StepRecord, ...] = ()
    #: Why the GPU was refused or stopped, or None.
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status.ok

    @property
    def done(self) -> tuple[str, ...]:
        """The steps done, described."""
        return tuple(r.step.describe() for r in self.steps
                     if r.outcome == Outcome.DONE)

    @property
    def not_done(self) -> tuple[str, ...]:
        """The steps not done (the one that failed first), described."""
        return tuple(r.step.describe() for r in self.steps
                     if r.outcome != Outcome.DONE)

    @property
    def lost(self) -> tuple[str, ...]:
        """Domains referencing a device this run removed, with the fix."""
        return tuple(line for r in self.steps for line in r.lost)

    @property
    def detail(self) -> str:
        """One line: the error, the lost devices, what was not done."""
        detail = '; '.join(([self.error] if self.error else []) +
                           list(self.lost))
        if self.status in (Status.FAILED, Status.IN_USE) and self.not_done:
            detail += '; not done: ' + '; '.join(self.not_done)
        elif self.not_done:
            detail += ' (%d actions not done)' % len(self.not_done)
        return detail


@dataclasses.dataclass(frozen=True)
class ApplyResult:
    plan: layout_plan.Plan
    gpus: tuple[GpuResult, ...]
    dry_run: bool = False
    checkpoint: str | None = None
    warnings: tuple[str, ...] = ()
    #: Why the checkpoint could not be written (the boot restore would
    #: restore an older layout), or None.
    checkpoint_error: str | None = None

    @property
    def ok(self) -> bool:
        if self.dry_run:
            return not self.plan.refused
        return self.checkpoint_error is None and all(
            g.ok for g in self.gpus)
