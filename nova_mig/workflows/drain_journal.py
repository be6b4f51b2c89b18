# SPDX-License-Identifier: Apache-2.0

"""The journal of a per-GPU drain (``rebalance apply``, ``retype --per-gpu``).

A drain changes four things one after the other: Nova's configuration
(written without the drained GPUs' vGPU parents), nova-compute (restarted),
the GPUs (the layout applied, the checkpoint written) and Nova's
configuration again (the full one, nova-compute restarted). A run killed or
stopped by a full disk between two of them leaves Nova configured without
the GPUs, or the GPUs changed without the checkpoint. So before its first
change the drain records, in ``<[host]state_dir>/drain-journal.json``
(replaced atomically, fsynced), the GPUs it changes, the layout of those
GPUs (each selected by its PCI address) and the phase it is in:

``drain``
    Nova's configuration without the GPUs may be written and nova-compute
    restarted; nothing on a GPU changed yet.
``apply``
    nova-compute runs without the GPUs; the layout may be partly applied.
``restore``
    the layout is applied; the full configuration may be written and
    nova-compute restarted. ``applied`` is false when a GPU's apply
    failed or the checkpoint could not be written: the next run drains,
    applies and restores again (the apply converges, confirms what the
    ownership record holds as intents and writes the checkpoint).

The next run of either command finds the journal and finishes that work
first, from the recorded phase (each phase can run twice), then removes
the journal: Nova ends configured for what the GPUs hold, Placement
shows it and the checkpoint is the host's.
"""

import dataclasses
import json
import logging
import os
import time

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.layout import spec

LOG = logging.getLogger(__name__)

FILE_NAME = 'drain-journal.json'
VERSION = 1

DRAIN = 'drain'
APPLY = 'apply'
RESTORE = 'restore'
PHASES = (DRAIN, APPLY, RESTORE)


@dataclasses.dataclass(frozen=True)
class Entry:
    """An unfinished drain."""

    phase: str
    #: The PCI addresses of the GPUs being changed.
    gpus: tuple[str, ...]
    #: The layout of those GPUs (``spec.Layout.as_dict()``).
    layout: spec.Document
    #: False when a GPU's apply failed or the checkpoint was not written.
    applied: bool = True
    started: float = dataclasses.field(default_factory=time.time)

    def as_dict(self) -> dict[str, object]:
        return {'version': VERSION, 'phase': self.phase,
                'gpus': list(self.gpus), 'layout': self.layout,
                'applied': self.applied,
                'started': self.started}


def path(state_dir: str) -> str:
    return os.path.join(state_dir, FILE_NAME)


#: What an operator does with a journal nova-mig cannot read.
DAMAGED = ('; run "nova-mig nova-config", restart nova-compute and check '
           '"nova-mig verify", then delete the file')


def load(state_dir: str, clean: bool = True) -> Entry | None:
    """The unfinished drain; None when there is none.

    :param clean: remove the temporary files of a killed journal write
        (only under the workflow lock).

    :raises: :class:`nova_mig.exception.DrainJournalError` naming the file
        and what is wrong with it.
    """
    where = path(state_dir)
    if clean:
        _remove_temporary(state_dir)
    try:
        text = fileutils.read_text(where)
    except OSError as e:
        raise exception.DrainJournalError(path=where,
                                          reason=e.strerror or e)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise exception.DrainJournalError(
            path=where, reason='not JSON (%s)%s' % (e, DAMAGED))
    if not isinstance(data, dict) or data.get('version') != VERSION:
        raise exception.DrainJournalError(
            path=where, reason='unknown format or version' + DAMAGED)
    gpus = data.get('gpus')
    if (data.get('phase') not in PHASES or not isinstance(gpus, list) or
            not all(isinstance(g, str) for g in gpus) or
            not isinstance(data.get('layout'), dict) or
            not isinstance(data.get('applied', True), bool)):
        raise exception.DrainJournalError(
            path=where, reason='not a drain journal (phase one of %s, '
            '"gpus" a list of PCI addresses, "layout" a layout)%s'
            % (', '.join(PHASES), DAMAGED))
    started = data.get('started')
    return Entry(phase=data['phase'], gpus=tuple(gpus),
                 layout=data['layout'],
                 applied=data.get('applied', True),
                 started=started if isinstance(started, (int, float))
                 else time.time())


def _remove_temporary(state_dir: str) -> None:
    """Remove the temporary files of a journal write that was killed.

    Called under the workflow lock: no other run writes the journal.
    """
    try:
        names = os.listdir(state_dir)
    except OSError:
        return
    prefix = '.%s.' % FILE_NAME
    for name in names:
        if name.startswith(prefix) and name.endswith('.tmp'):
            try:
                os.unlink(os.path.join(state_dir, name))
            except OSError as e:
                LOG.warning('Cannot remove %s: %s', name, e.strerror or e)


def save(state_dir: str, entry: Entry) -> Entry:
    """Record ``entry`` atomically (fsynced); return it.

    :raises: :class:`nova_mig.exception.DrainJournalError`; the journal
        then holds what it held before.
    """
    where = path(state_dir)
    try:
        os.makedirs(state_dir, exist_ok=True)
        fileutils.write_if_changed(
            where, json.dumps(entry.as_dict(), indent=1, sort_keys=True) +
            '\n', 0o600)
    except OSError as e:
        raise exception.DrainJournalError(path=where,
                                          reason=e.strerror or e)
    return entry


def clear(state_dir: str) -> None:
    """Remove the journal of a finished drain.

    :raises: :class:`nova_mig.exception.DrainJournalError`.
    """
    where = path(state_dir)
    try:
        fileutils.remove(where)
    except OSError as e:
        raise exception.DrainJournalError(path=where,
                                          reason=e.strerror or e)
