# SPDX-License-Identifier: Apache-2.0

"""``nova-mig retype`` as one call: lock, resumed state, the steps.

:func:`run` takes the workflow lock (not for a dry run), starts or resumes
the retype recorded in ``[host]state_dir/retype-state.json``, runs the
steps of :mod:`nova_mig.workflows.retype_steps` in order and forgets the
state once every step is done. The command parses its options, calls it
and renders the rows.
"""

import contextlib
import dataclasses
import typing

from oslo_config import cfg

from nova_mig.gpu import backend_api
from nova_mig import lock
from nova_mig.workflows import compute_service
from nova_mig.workflows import retype
from nova_mig.workflows import retype_steps


@dataclasses.dataclass(frozen=True)
class Outcome:
    #: One (step, status, detail) per step, in order.
    rows: list[tuple[str, str, str]]
    #: A step waits for the operator (the restart of nova-compute).
    waiting: bool


def run(conf: cfg.ConfigOpts,
        backend: typing.Callable[[], backend_api.GpuBackend],
        options: retype.Options, restart: bool = False,
        say: typing.Callable[[str], object] = lambda line: None
        ) -> Outcome:
    """Run (or resume) the retype of this host to ``options.layout_path``.

    :param restart: forget an unfinished retype of another layout.
    :param say: progress, one line a call.
    :raises: :class:`nova_mig.exception.LockHeld` when another command
        changes the host, and what :func:`retype.start` raises for a
        state recorded for another layout.
    """
    with contextlib.ExitStack() as stack:
        if not options.dry_run:
            # The whole workflow, resumed state included, is one change
            # of the host.
            stack.enter_context(lock.workflow_lock(conf))
        state = retype.start(conf, options, restart=restart)
        ctx = retype.Context(
            conf=conf, backend=backend(), options=options, state=state,
            connect=compute_service.embedded_compute(conf), say=say)
        rows = retype.run_steps(ctx, retype_steps.all_steps(options.per_gpu))
        waiting = any(r[1] == retype.WAITING for r in rows)
        if not options.dry_run and not waiting:
            retype.clear_state(conf.host.state_dir)
    return Outcome(rows, waiting)
