"""Privileged writes of the Nova configuration files nova-mig generates."""

import errno
import logging
import os

from nova_mig import fileutils
from nova_mig import privsep

LOG = logging.getLogger(__name__)

#: The only tree the privileged daemon writes configuration files to.
NOVA_CONFIG_ROOT = '/etc/nova'


def _check_inside(path: str) -> None:
    root = os.path.realpath(NOVA_CONFIG_ROOT).rstrip(os.sep) + os.sep
    if not os.path.realpath(path).startswith(root):
        raise PermissionError(errno.EACCES,
                              'refusing to write outside %s'
                              % NOVA_CONFIG_ROOT, path)


@privsep.sys_admin_pctxt.entrypoint
def write_if_changed(path: str, content: str, mode: int) -> bool:
    """:func:`nova_mig.fileutils.write_if_changed` as root, below /etc/nova."""
    _check_inside(path)
    LOG.debug('Writing %s as root', path)
    return fileutils.write_if_changed(path, content, mode)


@privsep.sys_admin_pctxt.entrypoint
def remove(path: str) -> bool:
    """:func:`nova_mig.fileutils.remove` as root, below /etc/nova."""
    _check_inside(path)
    return fileutils.remove(path)


class FileWriter:
    """Writes nova-mig's configuration files, through privsep if needed.

    A file the running user may write is written in-process; otherwise,
    when not running as root, through the privsep daemon, which only writes
    below :data:`NOVA_CONFIG_ROOT`.
    """

    @staticmethod
    def _privileged(path: str) -> bool:
        if os.geteuid() == 0:
            return False
        directory = os.path.dirname(os.path.abspath(path))
        while not os.path.isdir(directory):
            parent = os.path.dirname(directory)
            if parent == directory:
                break
            directory = parent
        # The temporary file and the rename need the directory writable.
        return not os.access(directory, os.W_OK)

    def write_if_changed(self, path: str, content: str,
                         mode: int = 0o644) -> bool:
        if self._privileged(path):
            # The entrypoint's answer crosses privsep untyped.
            changed: bool = write_if_changed(path, content, mode)
            return changed
        return fileutils.write_if_changed(path, content, mode)

    def remove(self, path: str) -> bool:
        if self._privileged(path):
            removed: bool = remove(path)
            return removed
        return fileutils.remove(path)
