"""Privileged sysfs writes (mdev create/remove, SR-IOV, vGPU types)."""

import errno
import logging
import os

from nova_mig import privsep

LOG = logging.getLogger(__name__)

#: The only tree the privileged daemon writes to.
SYSFS_ROOT = '/sys'


def _inside(path: str, root: str) -> bool:
    root = os.path.realpath(root)
    return os.path.realpath(path).startswith(root.rstrip(os.sep) + os.sep)


def write_file(path: str, value: str, root: str) -> None:
    """Write ``value`` to an existing file below ``root``, in one write.

    :raises: ``OSError`` with the kernel's errno; ``EACCES`` for a path
        outside ``root``.
    """
    if not _inside(path, root):
        raise PermissionError(errno.EACCES,
                              'refusing to write outside %s' % root, path)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


@privsep.sys_admin_pctxt.entrypoint
def write_sysfs(path: str, value: str) -> None:
    """Write one sysfs file as root; only below :data:`SYSFS_ROOT`."""
    LOG.debug('Writing %r to %s', value, path)
    write_file(path, value, SYSFS_ROOT)


class PrivsepSysfsWriter:
    """Writes sysfs files, through privsep for the real ``/sys``.

    A tree rooted elsewhere (``[host]sysfs_root`` pointing at a copy) is
    written in-process, without privileges: the daemon never writes outside
    ``/sys``.

    :param root: the configured sysfs root.
    """

    def __init__(self, root: str = SYSFS_ROOT):
        self.root = root

    def _privileged(self) -> bool:
        return os.path.realpath(self.root) == os.path.realpath(SYSFS_ROOT)

    def write(self, path: str, value: str) -> None:
        """Write ``value`` to ``path``.

        :raises: ``OSError`` carrying the errno of the failed write.
        """
        try:
            if self._privileged():
                write_sysfs(path, value)
            else:
                write_file(path, value, self.root)
        except OSError as e:
            # privsep rebuilds OSError from (errno, strerror) only; give the
            # path back to the caller.
            raise OSError(e.errno, e.strerror, path) from e
