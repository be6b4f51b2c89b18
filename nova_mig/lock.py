# SPDX-License-Identifier: Apache-2.0

"""The locks that keep nova-mig runs on one host from interleaving.

Two external (file) locks under ``[host]state_dir/locks``:

* the **host lock** (``nova-mig-host``) is held while devices change:
  ``layout apply``, the boot restore (``layout restore`` and the
  pre-start hook), the reaper and the reap step of ``retype`` take it;
* the **workflow lock** (``nova-mig-workflow``) is held for the whole of
  an operator command that changes the host: ``layout apply``, ``layout
  restore``, ``retype``, ``rebalance apply --yes`` and ``reap --apply``.
  Any two of them on one host run one after the other, a drain, apply
  and restore of a rebalance included. The nova-compute pre-start hook
  takes only the host lock: a workflow restarts nova-compute while it
  holds the workflow lock, and the hook must not wait for it.

Both are re-entrant within a process: a workflow that holds a lock and
calls a function taking it again keeps holding it (a second ``fcntl``
lock of the same file would release the first one on release).
"""

import contextlib
import logging
import os
import typing

from oslo_concurrency import lockutils
from oslo_config import cfg

from nova_mig import exception

LOG = logging.getLogger(__name__)

LOCK_NAME = 'host'
WORKFLOW_LOCK_NAME = 'workflow'
LOCK_PREFIX = 'nova-mig-'

#: Lock file path -> how many ``with`` blocks of this process hold it.
_HELD: dict[str, int] = {}


def lock_path(conf: cfg.ConfigOpts) -> str:
    return os.path.join(conf.host.state_dir, 'locks')


@contextlib.contextmanager
def _file_lock(conf: cfg.ConfigOpts, name: str, wait: bool,
               locked: typing.Callable[[str], Exception]
               ) -> typing.Iterator[None]:
    path = lock_path(conf)
    where = os.path.join(path, LOCK_PREFIX + name)
    key = os.path.abspath(where)
    if _HELD.get(key, 0) > 0 and _HELD.get('pid:' + key) == os.getpid():
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise exception.ConfigError(
            reason='cannot create the lock directory %s: %s (check '
                   '[host]state_dir)' % (path, e.strerror))
    lock = lockutils.InterProcessLock(where)
    try:
        acquired = lock.acquire(blocking=wait)
    except OSError as e:
        # The lock file cannot be opened (a read-only state directory):
        # the path as text, not the lock library's bytes.
        raise exception.ConfigError(
            reason='cannot open the lock file %s: %s (check '
                   '[host]state_dir)' % (where, e.strerror or e))
    if not acquired:
        raise locked(where)
    _HELD[key] = 1
    _HELD['pid:' + key] = os.getpid()
    LOG.debug('Acquired the lock %s', where)
    try:
        yield
    finally:
        _HELD.pop(key, None)
        _HELD.pop('pid:' + key, None)
        lock.release()


@contextlib.contextmanager
def host_lock(conf: cfg.ConfigOpts,
              wait: bool = True) -> typing.Iterator[None]:
    """Hold the host lock for the duration of the ``with`` block.

    :param conf: the ConfigOpts, for ``[host]state_dir``.
    :param wait: wait for another run to finish (True) or fail at once.
    :raises: :class:`nova_mig.exception.HostLocked` when ``wait`` is False
        and another run holds the lock;
        :class:`nova_mig.exception.ConfigError` when the lock file cannot
        be created or opened.
    """
    with _file_lock(conf, LOCK_NAME, wait,
                    lambda where: exception.HostLocked(path=where)):
        yield


@contextlib.contextmanager
def workflow_lock(conf: cfg.ConfigOpts,
                  wait: bool = True) -> typing.Iterator[None]:
    """Hold the workflow lock for a whole command that changes the host.

    Waiting for it is logged once, so an operator sees why a command
    does not start.

    :raises: :class:`nova_mig.exception.WorkflowLocked` when ``wait`` is
        False and another command holds it;
        :class:`nova_mig.exception.ConfigError` as :func:`host_lock`.
    """
    def locked(where: str) -> Exception:
        return exception.WorkflowLocked(path=where)

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(_file_lock(conf, WORKFLOW_LOCK_NAME, False,
                                       locked))
    except exception.WorkflowLocked as e:
        if not wait:
            raise
        LOG.warning('Another nova-mig command changes this host (lock '
                    '%s); waiting for it to finish', e.kwargs['path'])
        stack.enter_context(_file_lock(conf, WORKFLOW_LOCK_NAME, True,
                                       locked))
    with stack:
        yield
