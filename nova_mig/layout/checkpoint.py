# SPDX-License-Identifier: Apache-2.0

"""The checkpoint: the host's exact layout at the last apply, for boot.

``layout apply`` writes it to ``<[host]state_dir>/layout-checkpoint.json``
after its changes: an exported layout (placements, vGPU UUIDs and VFs) of
every GPU.  A GPU whose apply was refused or failed keeps its entry from
the previous checkpoint, so a reboot brings back a consistent state.  The
boot restore applies it.  The file is replaced atomically.
"""

import datetime
import logging
import os

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.layout import schema
from nova_mig.layout import spec

LOG = logging.getLogger(__name__)

FILE_NAME = 'layout-checkpoint.json'
VERSION = 1


def path(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


def load(state_dir: str) -> spec.Layout | None:
    """The checkpointed layout; None when no apply ever ran.

    :raises: :class:`nova_mig.exception.CheckpointError`
    """
    where = path(state_dir)

    def fail(key: str, why: str) -> Exception:
        return exception.CheckpointError(path=where,
                                         reason=bounded_input.reason(key, why))

    found, data = bounded_input.read_json(where, fail)
    if not found:
        return None
    if not isinstance(data, dict) or data.get('version') != VERSION:
        raise exception.CheckpointError(path=where,
                                        reason='unknown format or version')
    try:
        return schema.parse(data.get('layout'), where)
    except exception.LayoutFileError as e:
        # The key path inside the file: the layout sits under "layout".
        raise exception.CheckpointError(path=where, reason='layout.%s: %s' % (
            e.kwargs['where'], e.kwargs['reason']))


def merge(new: spec.Layout, previous: spec.Layout | None,
          keep_previous: set[str]) -> spec.Layout:
    """``new``, with the entries of ``keep_previous`` GPUs from before."""
    if previous is None or not keep_previous:
        return new
    old = {g.selector.pci_address: g for g in previous.gpus}
    gpus = []
    for gpu in new.gpus:
        address = gpu.selector.pci_address
        gpus.append(old[address] if address in keep_previous and
                    address in old else gpu)
    return spec.Layout(gpus=tuple(gpus), source=new.source,
                       description=new.description)


def save(state_dir: str, layout: spec.Layout, hostname: str) -> str:
    """Write the checkpoint atomically; return its path."""
    where = path(state_dir)
    os.makedirs(state_dir, exist_ok=True)
    document = {
        'version': VERSION,
        'hostname': hostname,
        'saved_at': datetime.datetime.now(
            datetime.timezone.utc).isoformat(),
        'layout': layout.as_dict(),
    }
    fileutils.write_json(where, document)
    LOG.info('Layout checkpoint written to %s', where)
    return where
