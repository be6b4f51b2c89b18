# SPDX-License-Identifier: Apache-2.0

"""Crash points and races of the fault-injection tier.

A crash point is a state-changing step: a change of the simulated host
(kernel or card: one committed transaction), a rename, unlink or data
fsync of a file outside the simulated host (ownership record, journals,
checkpoint, retype state, Nova configuration, the embedded cloud's
nova-compute service record: a Compute API call), and a run of
nova-compute's restart command.  :class:`CrashPoints` counts them; with
``at`` set, the process leaves with ``os._exit`` right after that step,
as a ``kill -9`` would leave it.  The command runs in a forked child so
that the test process survives the crash; the re-run happens in the test
process.

A write point is a data fsync or a rename of a file outside the
simulated host: where a full disk shows.  :class:`FullDisk` counts them;
with ``at`` set, that step fails with ``ENOSPC`` instead of happening.
"""

import collections
import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import threading
import time
import typing
from unittest import mock

from nova_mig.layout import executor as executor_mod
from nova_mig import ownership
from nova_mig.reaper import reaper_run
from nova_mig.simulator import simulated_host
from nova_mig.workflows import retype

#: Exit status of a child killed at its crash point.
CRASHED = 86

#: Seconds a forked child has to end before it is killed and the test
#: fails (one command of a scenario takes well under a second).
CHILD_LIMIT = 120

#: Most crash points tried per scenario (the first of each kind, then
#: evenly spaced ones), to keep the tier's run time modest.
MAX_POINTS = 7

#: Counts of every scenario run, for the docs: name -> counters.
COUNTS: dict[str, collections.Counter] = collections.defaultdict(
    collections.Counter)


class CrashPoints:
    """Counts the state-changing steps of one run; crashes at ``at``.

    :param sim_dir: the simulated host's work directory (its own renames
        are part of its transaction, not separate steps).
    """

    def __init__(self, sim_dir: str, at: int | None = None):
        self.sim_dir = os.path.realpath(sim_dir) + os.sep
        self.at = at
        self.kinds: list[str] = []
        self.current = 'file'

    def step(self, kind: str) -> None:
        self.kinds.append('%s: %s' % (self.current, kind))
        if len(self.kinds) == self.at:
            os._exit(CRASHED)

    def _outside(self, path: typing.Any) -> bool:
        if not isinstance(path, str):
            return False
        return not os.path.realpath(path).startswith(self.sim_dir)

    @contextlib.contextmanager
    def installed(self) -> typing.Iterator['CrashPoints']:
        points = self
        real_tx = simulated_host.SimulatedHost.transaction
        real_replace, real_unlink, real_fsync = os.replace, os.unlink, \
            os.fsync
        real_run = executor_mod.Executor.run
        real_remove = reaper_run.Reaper._remove

        @contextlib.contextmanager
        def transaction(host):
            with real_tx(host) as state:
                yield state
            points.step('simulated host')

        def replace(src, dst, *args, **kwargs):
            real_replace(src, dst, *args, **kwargs)
            if points._outside(dst):
                points.step('rename %s' % os.path.basename(dst))

        def unlink(path, *args, **kwargs):
            real_unlink(path, *args, **kwargs)
            if points._outside(path):
                points.step('unlink %s' % os.path.basename(path))

        def fsync(fd):
            real_fsync(fd)
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                points.step(fsync_label(fd))

        real_runner = retype.default_runner

        def runner(command):
            status = real_runner(command)
            points.step('restart nova-compute')
            return status

        def run(executor, step):
            points.current = step.kind
            try:
                return real_run(executor, step)
            finally:
                points.current = 'file'

        def remove(reaper, decision, op_id):
            points.current = 'reap'
            try:
                return real_remove(reaper, decision, op_id)
            finally:
                points.current = 'file'

        with mock.patch.object(simulated_host.SimulatedHost, 'transaction',
                               transaction), \
                mock.patch.object(executor_mod.Executor, 'run', run), \
                mock.patch.object(reaper_run.Reaper, '_remove', remove), \
                mock.patch('os.replace', replace), \
                mock.patch('os.unlink', unlink), \
                mock.patch('os.fsync', fsync), \
                mock.patch.object(retype, 'default_runner', runner):
            yield self


def fsync_label(fd: int) -> str:
    """``fsync <file>``: the file a temporary file will replace."""
    try:
        name = os.path.basename(os.readlink('/proc/self/fd/%d' % fd))
    except OSError:
        return 'fsync'
    # fileutils' temporary files: .<name>.<random>.tmp
    match = re.match(r'^\.(.+)\.[^.]+\.tmp$', name)
    return 'fsync %s' % (match.group(1) if match else name)


class FullDisk:
    """Counts the write points of one run; ``ENOSPC`` at ``at``.

    :param sim_dir: the simulated host's work directory (the simulated
        kernel is no disk).
    """

    def __init__(self, sim_dir: str, at: int | None = None):
        self.sim_dir = os.path.realpath(sim_dir) + os.sep
        self.at = at
        self.kinds: list[str] = []
        self.failed = ''

    def _outside(self, path: typing.Any) -> bool:
        return isinstance(path, str) and not os.path.realpath(
            path).startswith(self.sim_dir)

    def step(self, kind: str, path: typing.Any = None) -> None:
        self.kinds.append(kind)
        if len(self.kinds) == self.at:
            self.failed = kind
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)

    @contextlib.contextmanager
    def installed(self) -> typing.Iterator['FullDisk']:
        points = self
        real_replace, real_fsync = os.replace, os.fsync

        def replace(src, dst, *args, **kwargs):
            if points._outside(dst):
                points.step('rename %s' % os.path.basename(dst), dst)
            real_replace(src, dst, *args, **kwargs)

        def fsync(fd):
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                target = os.readlink('/proc/self/fd/%d' % fd)
                if points._outside(target):
                    points.step(fsync_label(fd))
            real_fsync(fd)

        with mock.patch('os.replace', replace), \
                mock.patch('os.fsync', fsync):
            yield self


def full_disk(sim_dir: str, at: int, command: typing.Callable[[], object]
              ) -> int:
    """Run ``command`` in a child whose ``at``-th write finds no space.

    :returns: the child's exit status.
    """
    def failing() -> object:
        with FullDisk(sim_dir, at).installed():
            return command()
    return forked(failing)


def killed(sim_dir: str, at: int, command: typing.Callable[[], object]
           ) -> int:
    """Run ``command`` in a child that dies at crash point ``at``.

    :returns: the child's exit status: :data:`CRASHED` when it died there,
        else what ``command`` returned (an int) or 0.
    """
    def crashing() -> object:
        with CrashPoints(sim_dir, at).installed():
            return command()
    return forked(crashing)


def forked(command: typing.Callable[[], object]) -> int:
    """Run ``command`` in a forked child, silenced; its exit status.

    Only from a process with no other thread: a lock another thread held
    at the fork stays held in the child for good (a module import, a
    buffered stream, a database pool), and the child hangs on it. Servers
    a scenario needs run in processes of their own
    (:class:`tests.base.PlacementProcess`).
    """
    others = [t.name for t in threading.enumerate()
              if t is not threading.current_thread()]
    if others:
        raise AssertionError('refusing to fork with other threads running: '
                             '%s' % ', '.join(sorted(others)))
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child
        status = 3
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            rc = command()
            status = rc if isinstance(rc, int) else 0
        except BaseException:
            status = 2
        finally:
            os._exit(status)
    return _reaped(pid, time.monotonic() + CHILD_LIMIT)


def _reaped(pid: int, deadline: float) -> int:
    """The exit status of child ``pid``, killed past ``deadline``."""
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(wait_status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError('the forked child %d did not end within '
                                 '%d s: killed' % (pid, CHILD_LIMIT))
        time.sleep(0.01)


def sample(kinds: list[str], limit: int = MAX_POINTS) -> list[int]:
    """Crash points to try (1-based): every kind once, then spread out."""
    chosen: dict[str, int] = {}
    for index, kind in enumerate(kinds, 1):
        chosen.setdefault(kind, index)
    points = set(chosen.values())
    n = len(kinds)
    spare = max(limit - len(points), 0)
    for i in range(spare):
        points.add(1 + (i * n) // max(spare, 1))
    points.add(n)
    return sorted(p for p in points if 1 <= p <= n)


def owned_exactly(state_dir: str) -> dict[str, dict]:
    """The ownership record, with no intent left in it."""
    record = ownership.OwnershipRecord(state_dir)
    devices = record.devices()
    leftover = [k for k, v in devices.items()
                if v.get('state') == ownership.INTENT]
    if leftover:
        raise AssertionError('intents left in the ownership record: %s'
                             % leftover)
    return devices


def fresh(path: str) -> None:
    """Remove a directory tree, to start a scenario again."""
    shutil.rmtree(path, ignore_errors=True)
