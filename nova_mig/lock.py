"""The host-wide lock that keeps nova-mig runs from interleaving.

``layout apply``, the boot restore and the reaper change the same devices;
they all take this one external (file) lock under ``[host]state_dir``.
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
LOCK_PREFIX = 'nova-mig-'


def lock_path(conf: cfg.ConfigOpts) -> str:
    return os.path.join(conf.host.state_dir, 'locks')


@contextlib.contextmanager
def host_lock(conf: cfg.ConfigOpts,
              wait: bool = True) -> typing.Iterator[None]:
    """Hold the host lock for the duration of the ``with`` block.

    :param conf: the ConfigOpts, for ``[host]state_dir``.
    :param wait: wait for another run to finish (True) or fail at once.
    :raises: :class:`nova_mig.exception.HostLocked` when ``wait`` is False
        and another run holds the lock.
    """
    path = lock_path(conf)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise exception.ConfigError(
            reason='cannot create the lock directory %s: %s (check '
                   '[host]state_dir)' % (path, e.strerror))
    lock = lockutils.InterProcessLock(
        os.path.join(path, LOCK_PREFIX + LOCK_NAME))
    if not lock.acquire(blocking=wait):
        raise exception.HostLocked(path=os.fsdecode(lock.path))
    LOG.debug('Acquired the host lock %s', os.fsdecode(lock.path))
    try:
        yield
    finally:
        lock.release()
