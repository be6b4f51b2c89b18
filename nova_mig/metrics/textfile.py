# SPDX-License-Identifier: Apache-2.0

"""Write a registry in node_exporter's textfile format, or print it."""

import os
import typing

from prometheus_client import exposition

from nova_mig import exception


def text(registry: typing.Any) -> str:
    """The exposition text of ``registry``."""
    return exposition.generate_latest(registry).decode('utf-8')


def check(path: str) -> None:
    """Refuse a path :func:`write` could not write, before any work.

    node_exporter's textfile collector reads only ``*.prom`` files.

    :raises: :class:`nova_mig.exception.OutputWriteError` naming the file.
    """
    if not path.endswith('.prom'):
        raise exception.OutputWriteError(
            path=path, reason='node_exporter reads only files named *.prom')
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise exception.OutputWriteError(
            path=path, reason='no directory %s' % directory)


def write(path: str, registry: typing.Any) -> None:
    """Replace ``path`` atomically: node_exporter never reads half a file.

    :raises: :class:`nova_mig.exception.OutputWriteError` naming the file.
    """
    check(path)
    try:
        exposition.write_to_textfile(path, registry)
    except OSError as e:
        raise exception.OutputWriteError(path=path, reason=e.strerror or e)
