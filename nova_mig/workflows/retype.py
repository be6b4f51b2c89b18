# SPDX-License-Identifier: Apache-2.0

"""The vGPU type change workflow as resumable steps (``nova-mig retype``).

The operator workflow of a type change, in order: disable this host's
nova-compute service with a reason; check that no guest uses the GPUs the
new layout changes; reap the unused devices on them; apply the layout;
regenerate Nova's configuration; restart nova-compute; wait until
Placement shows the new capacity; enable the service again. Each step is a
:class:`Step`; the names of the completed ones are kept in
``<[host]state_dir>/retype-state.json`` so that a run that stopped resumes
where it stopped. A step that fails raises
:class:`nova_mig.exception.RetypeStepFailed` naming the state the host is
left in and the command that resumes.
"""

import dataclasses
import hashlib
import json
import logging
import os
import shlex
import subprocess
import time
import typing

from oslo_config import cfg

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.gpu import backend_api
from nova_mig.host import discovery
from nova_mig.layout import schema
from nova_mig.layout import spec
from nova_mig.model import host_records
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import type_plan
from nova_mig.workflows import compute_service

if typing.TYPE_CHECKING:
    # keystoneauth is imported only when Placement is used.
    from nova_mig.placement import api_client

LOG = logging.getLogger(__name__)

STATE_FILE = 'retype-state.json'

DONE = 'done'
SKIPPED = 'skipped'
WOULD = 'would do'
FAILED = 'failed'
PENDING = 'pending'
WAITING = 'waiting for operator'

#: Builds the Placement client of ``[placement]``; None when unconfigured.
PlacementFactory = typing.Callable[[cfg.ConfigOpts],
                                   'api_client.PlacementClient | None']
#: Builds the Compute API connection (openstacksdk's, or the embedded
#: cloud's).
ConnectionFactory = typing.Callable[[cfg.ConfigOpts],
                                    compute_service.AnyConnection]


class Failure(typing.TypedDict):
    """The step a run failed at, and why."""

    step: str
    reason: str


class State(typing.TypedDict, total=False):
    """What ``retype-state.json`` records of a run."""

    #: The layout file (absolute) and its SHA-256: a resumed run must be
    #: given the same.
    layout: typing.Required[str]
    layout_sha256: typing.Required[str]
    #: Names of the steps done, in order.
    completed: typing.Required[list[str]]
    #: When the run began (epoch seconds).
    started: float
    #: The step that waits for the operator.
    waiting: str
    failed: Failure
    #: Recorded before the service is disabled, so that a run killed
    #: right after knows it disabled it.
    service_disabling: bool
    #: Someone else had disabled the service: it stays disabled.
    service_was_disabled: bool
    #: PCI addresses of the GPUs the layout changes.
    gpus: list[str]


@dataclasses.dataclass
class Options:
    """What the operator asked for."""

    layout_path: str
    dry_run: bool = False
    skip_service: bool = False
    skip_placement_check: bool = False
    include_foreign: bool = False
    #: ``--skip-handle-check`` for the reap and layout steps.
    skip_handle_check: bool = False
    #: Drain only the GPUs being changed (:mod:`nova_mig.workflows.drain`)
    #: instead of disabling the compute service.
    per_gpu: bool = False


@dataclasses.dataclass
class Context:
    """Shared by the steps of one run."""

    conf: cfg.ConfigOpts
    backend: backend_api.GpuBackend
    options: Options
    state: State
    #: openstacksdk connection factory (tests pass fakes).
    connect: ConnectionFactory | None = None
    #: Placement client factory.
    placement: PlacementFactory | None = None
    #: Runs a command; returns its exit status (tests pass fakes).
    runner: typing.Callable[[list[str]], int] | None = None
    #: Writes lines the operator must see.
    say: typing.Callable[[str], object] = print
    #: Waits between two Placement polls, and the clock measuring the
    #: wait (tests pass fakes).
    sleep: typing.Callable[[float], None] = time.sleep
    clock: typing.Callable[[], float] = time.monotonic
    _planned: tuple[host_records.HostReport, type_plan.NovaConfig] | None = \
        dataclasses.field(default=None, repr=False)

    def report(self) -> host_records.HostReport:
        return discovery.discover(self.backend)

    def layout(self) -> spec.Layout:
        return schema.load(self.options.layout_path)

    def nova_config(self) -> tuple[host_records.HostReport,
                                   type_plan.NovaConfig]:
        """The host and its Nova configuration plan, built once per layout.

        :meth:`layout_changed` drops them once the layout is applied.
        """
        if self._planned is None:
            report = self.report()
            self._planned = (report, config_writer.plan_host(
                self.conf, report, self.backend.sysfs_root()))
        return self._planned

    def layout_changed(self) -> None:
        self._planned = None


class StepStopped(Exception):
    """A step cannot go on; ``state`` says how the host is left."""

    def __init__(self, reason: str, state: str = ''):
        super().__init__(reason)
        self.reason = reason
        self.state = state


class WaitForOperator(Exception):
    """The operator must act (the message says how) before resuming."""


class Step:
    """One step of the workflow: ``run`` acts, ``preview`` only reads."""

    name = ''
    #: The host's state when this step fails (before anything it does).
    state_on_failure = ''

    def run(self, ctx: Context) -> str:
        raise NotImplementedError

    def preview(self, ctx: Context) -> str:
        raise NotImplementedError


def load_state(state_dir: str) -> State | None:
    path = os.path.join(state_dir, STATE_FILE)

    def fail(where: str, why: str) -> Exception:
        return exception.RetypeStateError(
            path=path, reason=bounded_input.reason(where, why))

    found, state = bounded_input.read_json(path, fail)
    if not found:
        return None
    if (not isinstance(state, dict) or
            not isinstance(state.get('layout'), str) or
            not isinstance(state.get('layout_sha256'), str) or
            not isinstance(state.get('completed'), list) or
            not all(isinstance(n, str) for n in state['completed'])):
        raise exception.RetypeStateError(
            path=path, reason='not a retype state (an object with "layout", '
            '"layout_sha256" and a "completed" list of step names); run '
            '"nova-mig retype LAYOUT --restart" to start over')
    return typing.cast(State, state)


def save_state(state_dir: str, state: State) -> None:
    path = os.path.join(state_dir, STATE_FILE)
    try:
        fileutils.write_if_changed(path, json.dumps(state, indent=1,
                                                    sort_keys=True), 0o600)
    except OSError as e:
        raise exception.RetypeStateError(path=path, reason=e)


def clear_state(state_dir: str) -> None:
    fileutils.remove(os.path.join(state_dir, STATE_FILE))


def layout_digest(path: str) -> str:
    def fail(where: str, why: str) -> Exception:
        return exception.ConfigError(reason='cannot read layout %s: %s'
                                     % (path, why))

    return hashlib.sha256(bounded_input.read_input(path, fail)).hexdigest()


def resume_command(options: Options) -> str:
    args = ['nova-mig', 'retype', options.layout_path]
    for flag, on in (('--skip-service-steps', options.skip_service),
                     ('--skip-placement-check',
                      options.skip_placement_check),
                     ('--include-foreign', options.include_foreign),
                     ('--skip-handle-check', options.skip_handle_check),
                     ('--per-gpu', options.per_gpu)):
        if on:
            args.append(flag)
    return ' '.join(shlex.quote(a) for a in args)


def run_steps(ctx: Context, steps: list[Step]) -> list[tuple[str, str, str]]:
    """Run (or preview) the steps not completed yet.

    :returns: rows (step, status, detail).
    :raises: :class:`nova_mig.exception.RetypeStepFailed`; the state file
        then records the completed steps and the failure.
    """
    rows: list[tuple[str, str, str]] = []
    completed = ctx.state.setdefault('completed', [])
    for index, step in enumerate(steps):
        if step.name in completed:
            rows.append((step.name, DONE, 'done in an earlier run'))
            continue
        if ctx.options.dry_run:
            rows.append((step.name, WOULD, step.preview(ctx)))
            continue
        ctx.say('[%d/%d] %s ...' % (index + 1, len(steps), step.name))
        try:
            detail = step.run(ctx)
        except WaitForOperator as e:
            ctx.state['waiting'] = step.name
            completed.append(step.name)
            save_state(ctx.conf.host.state_dir, ctx.state)
            rows.append((step.name, WAITING, str(e)))
            rows += [(s.name, PENDING, '') for s in steps[index + 1:]]
            return rows
        except (StepStopped, exception.NovaMigException) as e:
            reason = getattr(e, 'reason', None) or str(e)
            state = getattr(e, 'state', '') or step.state_on_failure
            ctx.state['failed'] = {'step': step.name, 'reason': reason}
            save_state(ctx.conf.host.state_dir, ctx.state)
            raise exception.RetypeStepFailed(
                step=step.name, reason=reason, state=state,
                resume=resume_command(ctx.options))
        completed.append(step.name)
        ctx.state.pop('failed', None)
        ctx.state.pop('waiting', None)
        save_state(ctx.conf.host.state_dir, ctx.state)
        ctx.say('[%d/%d] %s: %s' % (index + 1, len(steps), step.name,
                                    detail))
        rows.append((step.name, DONE, detail))
    return rows


def start(conf: cfg.ConfigOpts, options: Options, restart: bool = False
          ) -> State:
    """The state to run with: resumed, or new.

    :raises: :class:`nova_mig.exception.RetypeStateError` when an
        unfinished retype of another layout is recorded and ``restart``
        is not given.
    """
    digest = layout_digest(options.layout_path)
    if not options.dry_run:
        # Under the workflow lock: a temporary file of the state is left
        # by a run that was killed while saving it.
        for stale in config_writer.stale_temporary_files(
                [os.path.join(conf.host.state_dir, STATE_FILE)], now=1e18):
            fileutils.remove(stale)
    # --restart starts over whatever is recorded, even a damaged file.
    state = None if restart else load_state(conf.host.state_dir)
    if state:
        if state.get('layout_sha256') != digest:
            raise exception.RetypeStateError(
                path=os.path.join(conf.host.state_dir, STATE_FILE),
                reason='an unfinished retype to %s (completed: %s) is '
                       'recorded and the layout given differs; resume it '
                       'with "nova-mig retype %s", or pass --restart to '
                       'start over' % (state.get('layout'), ', '.join(
                           state.get('completed', [])) or 'nothing',
                           state.get('layout')))
        return state
    return {'layout': os.path.abspath(options.layout_path),
            'layout_sha256': digest, 'completed': [],
            'started': time.time()}


def default_runner(command: list[str]) -> int:
    return subprocess.call(command)
