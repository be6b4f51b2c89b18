# SPDX-License-Identifier: Apache-2.0

"""Privileged file changes (context ``files_pctxt``).

The Nova configuration files nova-mig generates, below ``/etc/nova``, and
the removal of an mdevctl definition, below ``/etc/mdevctl.d``. Every path
is confined to its tree by :func:`check_inside`, the one containment check.
"""

import errno
import logging
import os

from nova_mig import fileutils
from nova_mig import privsep
from nova_mig import sysfs_gateway

LOG = logging.getLogger(__name__)

#: The only tree the privileged daemon writes configuration files to.
NOVA_CONFIG_ROOT = '/etc/nova'
#: The only tree the privileged daemon deletes mdevctl definitions from.
MDEVCTL_ROOT = '/etc/mdevctl.d'


def check_inside(path: object, root: str) -> str:
    """``path`` when its folder, resolved, lies below ``root``.

    Checked by :func:`nova_mig.sysfs_gateway.below`. The last component is not
    resolved: a symlink there is the file the caller names (replaced or
    removed, never followed).

    :raises: ``EACCES`` PermissionError, naming the path, otherwise.
    """
    if not isinstance(path, str) or '\0' in path:
        raise PermissionError(errno.EACCES, 'refused path %r: not a path'
                              % (path,))
    folder, name = os.path.split(os.path.abspath(path))
    real = os.path.join(os.path.realpath(folder), name)
    inside = sysfs_gateway.below(real, root, resolve=False)
    if name in ('', '.', '..') or not inside:
        raise PermissionError(errno.EACCES, 'refused %s: outside %s'
                              % (path, root))
    return real


@privsep.files_pctxt.entrypoint
def write_if_changed(path: str, content: str, mode: int) -> bool:
    """:func:`nova_mig.fileutils.write_if_changed` as root, below /etc/nova."""
    real = check_inside(path, NOVA_CONFIG_ROOT)
    if not isinstance(content, str):
        raise PermissionError(errno.EACCES, 'refused content of %s: not '
                              'text' % path)
    mode = sysfs_gateway.check_int('mode of %s' % path, mode, 0, 0o777)
    if os.path.islink(real):
        raise PermissionError(errno.EACCES, 'refused %s: a symlink' % path)
    LOG.debug('Writing %s as root', path)
    return fileutils.write_if_changed(real, content, mode)


@privsep.files_pctxt.entrypoint
def remove(path: str) -> bool:
    """:func:`nova_mig.fileutils.remove` as root, below /etc/nova."""
    return fileutils.remove(check_inside(path, NOVA_CONFIG_ROOT))


@privsep.files_pctxt.entrypoint
def remove_mdevctl_definition(parent: str, uuid: str) -> bool:
    """Delete mdevctl's definition of mdev ``uuid`` on ``parent``.

    :returns: False when there was none.
    """
    sysfs_gateway.check_pci_address(parent)
    sysfs_gateway.check_uuid(uuid)
    path = check_inside(os.path.join(MDEVCTL_ROOT, parent, uuid),
                        MDEVCTL_ROOT)
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
