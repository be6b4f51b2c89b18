# SPDX-License-Identifier: Apache-2.0

"""Atomic, change-only writes of nova-mig's files.

:func:`write_if_changed` replaces a file through a temporary file and a
rename, only when its content differs, so a reader sees the old or the
new file and never a part of one; directories are created with a fixed
mode whatever the umask. Reads of files someone else could write are
:mod:`nova_mig.bounded_input`'s.
"""

import errno
import json
import logging
import os
import stat
import tempfile
import typing

from nova_mig import bounded_input


LOG = logging.getLogger(__name__)

#: Mode of the directories nova-mig creates for its files.
DIR_MODE = 0o755


def read_text(path: str) -> str | None:
    """The content of a text file, None when it does not exist.

    Bytes that are not UTF-8 read as U+FFFD: the content then differs from
    any content nova-mig generates, so :func:`write_if_changed` replaces a
    damaged file instead of failing on it.

    Only a regular file is read, and at most
    :data:`nova_mig.bounded_input.MAX_STATE_BYTES`.

    :raises: ``OSError`` when the file exists but cannot be read, is not a
        regular file (a FIFO, a device, a directory) or is larger.
    """
    def fail(where: str, why: str) -> OSError:
        return OSError(errno.EINVAL, why, path)

    content = bounded_input.read_input(
        path, fail, bounded_input.MAX_STATE_BYTES, missing_ok=True)
    if content is None:
        return None
    return content.decode('utf-8', errors='replace')


def _check_target(path: str) -> None:
    """Refuse to replace what is not a regular file (or a link to one).

    :raises: ``OSError``: a directory (``Is a directory``), a FIFO or a
        device: ``os.replace`` would put a file where the device was.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(mode):
        kind = bounded_input.not_regular(mode).split(',')[0]
        raise OSError(errno.EINVAL, '%s, not a regular file; nova-mig '
                      'writes only regular files' % kind, path)


def write_if_changed(path: str, content: str, mode: int = 0o644) -> bool:
    """Replace ``path`` by ``content`` atomically, only when it differs.

    The content goes to a temporary file in the same directory, is flushed
    and fsynced, given ``mode`` and renamed over ``path`` with
    ``os.replace``; the directory is fsynced too. A reader sees the old or
    the new file, never a part of one; on any failure the old file is left
    as it was and the temporary file is removed. A missing directory is
    created.

    :returns: True when the file was written, False when it already held
        ``content`` (and had ``mode``).
    :raises: ``OSError`` from the failed step.
    """
    _check_target(path)
    current = read_text(path)
    if current == content:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    directory = os.path.dirname(os.path.abspath(path))
    make_dirs(directory)
    fd, tmp = tempfile.mkstemp(dir=directory,
                               prefix='.%s.' % os.path.basename(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)
    LOG.debug('Wrote %s', path)
    return True


def make_dirs(directory: str) -> None:
    """Create ``directory`` and its missing parents, each mode DIR_MODE.

    Unlike ``os.makedirs``, whose parents get 0777 less the umask, every
    level gets :data:`DIR_MODE` whatever the umask: the privsep daemon
    runs with umask 0 and must never leave a world-writable ``/etc/nova``.
    Existing directories are left as they are.
    """
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for level in reversed(missing):
        try:
            os.mkdir(level, DIR_MODE)
        except FileExistsError:
            if os.path.isdir(level):
                continue    # created meanwhile by another writer
            raise
        os.chmod(level, DIR_MODE)


def write_json(path: str, document: typing.Any, mode: int = 0o644) -> bool:
    """Write ``document`` as indented JSON with :func:`write_if_changed`."""
    return write_if_changed(
        path, json.dumps(document, indent=1, sort_keys=True) + '\n', mode)


def remove(path: str) -> bool:
    """Remove a file; return False when it did not exist."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
