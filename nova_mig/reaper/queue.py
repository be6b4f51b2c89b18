# SPDX-License-Identifier: Apache-2.0

"""The queue the libvirt qemu hook fills when a domain is released.

The hook (``etc/libvirt/hooks/qemu``) appends one JSON line per released
domain to ``<[host]state_dir>/reaper-queue.jsonl``: ``{"domain": name,
"uuid": uuid, "mdevs": [...], "pci": [...], "time": ...}``. It must not
call libvirt, so it only queues; ``nova-mig reap --queued --apply`` (from
a timer or a path unit) decides on the queued devices. :meth:`Queue.take`
moves the file aside atomically, so lines the hook appends meanwhile go to
a new file and are kept for the next run. A line that is not JSON, or
not an object of that shape, is ignored with a warning naming the file and
line.
"""

import logging
import os

from nova_mig import bounded_input
from nova_mig import exception

LOG = logging.getLogger(__name__)

FILE_NAME = 'reaper-queue.jsonl'
TAKEN_SUFFIX = '.taken'


class _Corrupt(Exception):
    pass


def _corrupt(where: str, why: str) -> Exception:
    return _Corrupt(why)


def _queued(entry: object) -> set[str] | None:
    """The devices of one queue line; None when it has the wrong shape."""
    if not isinstance(entry, dict):
        return None
    mdevs, pci = entry.get('mdevs') or [], entry.get('pci') or []
    if not (isinstance(mdevs, list) and isinstance(pci, list) and
            all(isinstance(d, str) for d in mdevs + pci)):
        return None
    return {u.lower() for u in mdevs} | set(pci)


class Queue:
    """The hook's queue in ``state_dir``."""

    def __init__(self, state_dir: str):
        self.path = os.path.join(state_dir, FILE_NAME)
        self.taken = self.path + TAKEN_SUFFIX

    @staticmethod
    def _read(path: str) -> bytes | None:
        def fail(where: str, why: str) -> Exception:
            return exception.ReaperQueueError(path=path, reason=why)

        return bounded_input.read_input(
            path, fail, bounded_input.MAX_STATE_BYTES, nofollow=True,
            missing_ok=True)

    @classmethod
    def _devices(cls, path: str) -> set[str]:
        devices: set[str] = set()
        content = cls._read(path)
        for number, line in enumerate((content or b'').splitlines(), 1):
            try:
                entry = bounded_input.load_json(line, _corrupt)
            except _Corrupt:
                LOG.warning('%s:%d: ignoring a corrupt line', path, number)
                continue
            queued = _queued(entry)
            if queued is None:
                LOG.warning('%s:%d: ignoring a line of the wrong shape '
                            '(expected an object with lists "mdevs" and '
                            '"pci" of text)', path, number)
                continue
            devices.update(queued)
        return devices

    def peek(self) -> set[str]:
        """The queued devices, leaving the queue as it is."""
        return self._devices(self.taken) | self._devices(self.path)

    def take(self) -> set[str]:
        """Move the queue aside and return its devices.

        A file taken by an earlier run that did not finish is merged in.
        """
        moving = self.path + '.moving'
        try:
            # Atomic: the hook's next append creates a new queue file.
            os.rename(self.path, moving)
        except FileNotFoundError:
            return self._devices(self.taken)
        data = self._read(moving) or b''
        with open(self.taken, 'ab') as dst:
            dst.write(data)
            dst.flush()
            os.fsync(dst.fileno())
        os.unlink(moving)
        return self._devices(self.taken)

    def finish(self) -> None:
        """Forget the taken entries: the run that took them succeeded."""
        try:
            os.unlink(self.taken)
        except FileNotFoundError:
            pass
