# SPDX-License-Identifier: Apache-2.0

"""The reaper journal: one JSON line before and one after each removal.

``<[host]state_dir>/reaper-journal.jsonl`` gets an ``intent`` line (flushed
and fsynced) before a device is touched and a closing line after:
``done``, ``failed`` or ``abandoned``, carrying the intent's ``id``. An
intent without a closing line is a run that died half-way; the next run
finishes it (see :meth:`Journal.pending`). A torn last line, left by a
crash in the middle of a write, is ignored; so is, with a warning naming
the file and line, a line of the wrong shape (not an object, or an intent
without its ``device``): an intent the run cannot read cannot be finished.

The journal is compacted by ``reap --apply`` once it grows past
:data:`COMPACT_BYTES`: the open intents are kept, everything closed goes
to ``reaper-journal.jsonl.1`` (the previous generation, replaced), so the
file never reaches the read limit that would make the reaper refuse.
"""

import datetime
import json
import logging
import os
import typing
import uuid

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig import fileutils

LOG = logging.getLogger(__name__)

FILE_NAME = 'reaper-journal.jsonl'
#: Past this size, ``reap --apply`` keeps only the open intents (about
#: 4,000 removals of about 250 bytes a line; the read limit is 16 MiB).
COMPACT_BYTES = 1024 * 1024

INTENT = 'intent'
DONE = 'done'
FAILED = 'failed'
ABANDONED = 'abandoned'
CLOSING = (DONE, FAILED, ABANDONED)

#: One line of the journal: a JSON object with ``id`` and ``event`` text.
Entry = dict[str, object]


class Intent(typing.TypedDict, total=False):
    """An ``intent`` line, as :meth:`Journal.intent` writes it."""

    id: typing.Required[str]
    event: typing.Required[str]
    device: typing.Required[str]
    parent: typing.Required[str]
    kind: str
    type: str
    reasons: list[str]
    #: Present (true) when it resumes an interrupted intent.
    resumed: bool
    time: str


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


class _Corrupt(Exception):
    pass


def _corrupt(where: str, why: str) -> Exception:
    return _Corrupt(why)


def _shape_problem(entry: object) -> str | None:
    """Why a parsed line cannot be a journal entry; None when it can."""
    if not isinstance(entry, dict):
        return 'not a JSON object'
    for key in ('id', 'event'):
        if not isinstance(entry.get(key), str):
            return 'no "%s" text' % key
    if entry['event'] == INTENT:
        for key in ('device', 'parent'):
            if not isinstance(entry.get(key), str):
                return 'an intent without "%s" text' % key
    return None


class Journal:
    """Append-only journal of removals.

    :param state_dir: ``[host]state_dir``.
    """

    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, FILE_NAME)

    def _append(self, entry: Entry) -> None:
        entry = dict(entry, time=_now())
        line = json.dumps(entry, sort_keys=True) + '\n'
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT,
                         0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as e:
            raise exception.ReaperJournalError(
                path=self.path, reason='cannot write: %s' % (
                    e.strerror or e))

    def entries(self) -> list[Entry]:
        """Every readable entry, oldest first."""
        def fail(where: str, why: str) -> Exception:
            return exception.ReaperJournalError(
                path=self.path, reason='cannot read: %s' % why)

        content = bounded_input.read_input(
            self.path, fail, bounded_input.MAX_STATE_BYTES, nofollow=True,
            missing_ok=True)
        if content is None:
            return []
        result: list[Entry] = []
        for number, line in enumerate(content.splitlines(), 1):
            try:
                entry = bounded_input.load_json(line, _corrupt)
            except _Corrupt:
                LOG.warning('%s:%d: ignoring a torn or corrupt line',
                            self.path, number)
                continue
            problem = _shape_problem(entry)
            if problem:
                LOG.warning('%s:%d: ignoring a line of the wrong shape: %s',
                            self.path, number, problem)
                continue
            result.append(entry)
        return result

    def pending(self) -> list[Intent]:
        """Intents that no later line closed, oldest first."""
        open_: dict[str, Intent] = {}
        for entry in self.entries():
            # entries() checked the id and event text, and an intent's
            # device and parent text.
            if entry.get('event') == INTENT:
                intent = typing.cast(Intent, entry)
                open_[intent['id']] = intent
            elif entry.get('event') in CLOSING:
                open_.pop(str(entry['id']), None)
        return list(open_.values())

    def intent(self, device: str, kind: str, parent: str, type_id: str,
               reasons: list[str], op_id: str | None = None) -> str:
        """Record that ``device`` is about to be removed; return the id.

        :param op_id: the id of an interrupted intent this one resumes;
            the line then carries ``"resumed": true``.
        """
        new_id = op_id or str(uuid.uuid4())
        entry: dict[str, object] = {
            'id': new_id, 'event': INTENT, 'device': device, 'kind': kind,
            'parent': parent, 'type': type_id, 'reasons': list(reasons)}
        if op_id:
            entry['resumed'] = True
        self._append(entry)
        return new_id

    def done(self, op_id: str, device: str, steps: list[str]) -> None:
        self._append({'id': op_id, 'event': DONE, 'device': device,
                      'steps': list(steps)})

    def failed(self, op_id: str, device: str, reason: str,
               steps: list[str]) -> None:
        self._append({'id': op_id, 'event': FAILED, 'device': device,
                      'reason': reason, 'steps': list(steps)})

    def abandoned(self, op_id: str, device: str, reason: str) -> None:
        self._append({'id': op_id, 'event': ABANDONED, 'device': device,
                      'reason': reason})

    def compact(self, limit: int | None = None) -> bool:
        """Keep only the open intents once the file is over ``limit``.

        :param limit: bytes; default :data:`COMPACT_BYTES`.

        The closed entries stay readable in ``<file>.1`` (one
        generation). Each step is a rename or a link, so after a crash at
        any point the journal is either the whole old one or the
        compacted one; run it under the host's workflow lock, before a
        run writes its first intent.

        :returns: whether the journal was compacted.
        :raises: :class:`nova_mig.exception.ReaperJournalError` when it
            cannot be read or written.
        """
        try:
            size = os.lstat(self.path).st_size
        except FileNotFoundError:
            return False
        except OSError as e:
            raise exception.ReaperJournalError(
                path=self.path, reason='cannot read: %s' % (e.strerror or e))
        if size <= (COMPACT_BYTES if limit is None else limit):
            return False
        pending = self.pending()
        text = ''.join(json.dumps(entry, sort_keys=True) + '\n'
                       for entry in pending)
        old = self.path + '.1'
        try:
            # .1 becomes the whole current journal (a link, renamed into
            # place), then the journal becomes the open intents (written
            # aside, renamed over it): a crash leaves one or the other.
            if os.path.lexists(old + '.tmp'):
                os.unlink(old + '.tmp')
            os.link(self.path, old + '.tmp')
            os.replace(old + '.tmp', old)
            fileutils.write_if_changed(self.path, text)
        except OSError as e:
            raise exception.ReaperJournalError(
                path=self.path, reason='cannot compact: %s' % (
                    e.strerror or e))
        LOG.info('%s: compacted from %d bytes to the %d open intent(s); '
                 'the closed entries are in %s', self.path, size,
                 len(pending), old)
        return True
