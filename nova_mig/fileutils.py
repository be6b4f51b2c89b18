"""Atomic, change-only writes of the configuration files nova-mig owns."""

import json
import os
import tempfile
import typing

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

#: Mode of the directories nova-mig creates for its files.
DIR_MODE = 0o755


def read_text(path: str) -> str | None:
    """The content of a text file, None when it does not exist.

    :raises: ``OSError`` when the file exists but cannot be read.
    """
    try:
        with open(path, encoding='utf-8') as f:
            return f.read()
    except FileNotFoundError:
        return None


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
    current = read_text(path)
    if current == content:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
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
