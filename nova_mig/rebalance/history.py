# SPDX-License-Identifier: Apache-2.0

"""The fleet's re-partition history: what the per-GPU budget counts.

The controller keeps one JSON-lines file per UTC day in the history
directory (``playbooks/rebalance.yaml``: ``<rebalance_dir>/history``),
``<YYYY-MM-DD>.jsonl``; after ``nova-mig rebalance apply --yes`` succeeded
on a host, the playbook appends one line naming the GPUs the plan changed
there::

    {"time": 1764892800.5, "host": "cn1", "gpus": ["0000:41:00.0"],
     "profiles": ["7g.80gb"]}

``profiles`` are those the plan grew on these GPUs (``grown`` in
``plan.json``). ``openstack mig rebalance plan --history <dir>``

* counts, per GPU, today's lines naming it (the budget is per calendar
  day, UTC): a GPU that reached ``--max-per-gpu-day`` keeps its geometry;
* takes, per profile, the time of the last line that grew it within the
  window: NoValidHost boots from before it asked for capacity that has
  been added since, and are not counted again
  (:func:`nova_mig.rebalance.demand.unmet_boots`).

Files older than the window are not read and may be removed. A missing
directory or file is an empty history.
"""

import collections
import dataclasses
import datetime
import json
import os
import time
import typing

from nova_mig import bounded_input
from nova_mig import exception
from nova_mig.rebalance import fleet

_KEYS = {'time', 'host', 'gpus'}
_OPTIONAL = {'profiles'}

#: (host, PCI address) -> re-partitions.
GpuCounts = collections.Counter[tuple[str, str]]


class Entry(typing.TypedDict, total=False):
    """One checked line of a day's file."""

    #: Epoch seconds.
    time: typing.Required[float]
    host: typing.Required[str]
    #: PCI addresses of the GPUs the plan changed.
    gpus: typing.Required[list[str]]
    #: The profiles the plan grew on them.
    profiles: list[str]


@dataclasses.dataclass
class History:
    """What the planner reads of the history."""

    #: (host, PCI address) -> re-partitions today (UTC).
    today: GpuCounts = dataclasses.field(
        default_factory=collections.Counter)
    #: Profile -> epoch seconds of its last grow within the window.
    grown: dict[str, float] = dataclasses.field(default_factory=dict)


def day_file(directory: str, when: float, prefix: str = '') -> str:
    """The file of the UTC day of ``when`` (epoch seconds).

    :param prefix: before the date: ``demand-`` for the forecast's
        samples, none for the re-partitions.
    """
    day = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return os.path.join(directory,
                        prefix + day.strftime('%Y-%m-%d') + '.jsonl')


def fail(path: str, where: str, reason: str) -> exception.RebalanceInputError:
    """One line naming a day file, the line (and key) and the reason."""
    return exception.RebalanceInputError(path=path, where=where,
                                         reason=reason)


def json_lines(text: str, path: str
               ) -> collections.abc.Iterator[tuple[str, typing.Any]]:
    """Each non-blank line of a day file: (``line N``, its JSON value).

    :raises: :class:`nova_mig.exception.RebalanceInputError` for a line
        that is not JSON.
    """
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = 'line %d' % number
        try:
            entry: typing.Any = json.loads(line)
        except ValueError as e:
            raise fail(path, where, 'not JSON (%s)' % str(e).split(':')[0])
        yield where, entry


def read_day(path: str) -> str:
    """A day file's text, read as every input is (bounded, regular)."""
    def failed(where: str, reason: str) -> Exception:
        return fail(path, where, reason)

    return bounded_input.decode(bounded_input.read_input(path, failed), failed)


def append(path: str, document: object) -> str:
    """Append ``document`` as one JSON line to the day file ``path``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'a', encoding='utf-8') as stream:
        stream.write(json.dumps(document) + '\n')
    return path


def parse(text: str, path: str) -> list[Entry]:
    """The checked lines of one day's file.

    :raises: :class:`nova_mig.exception.RebalanceInputError` naming the
        line and the reason.
    """
    entries: list[Entry] = []
    for where, entry in json_lines(text, path):
        if (not isinstance(entry, dict) or not _KEYS <= set(entry) or
                set(entry) - _KEYS - _OPTIONAL):
            raise fail(path, where, 'expected an object with the keys %s '
                       '(and optionally %s)' % (', '.join(sorted(_KEYS)),
                                                ', '.join(sorted(_OPTIONAL))))
        if (isinstance(entry['time'], bool) or
                not isinstance(entry['time'], (int, float))):
            raise fail(path, where + '.time', 'expected epoch seconds, '
                       'found %r' % (entry['time'],))
        host, gpus = entry['host'], entry['gpus']
        if not isinstance(host, str) or not host:
            raise fail(path, where + '.host', 'expected a host name')
        if (not isinstance(gpus, list) or
                not all(isinstance(g, str) and g for g in gpus)):
            raise fail(path, where + '.gpus', 'expected a list of PCI '
                       'addresses')
        profiles = entry.get('profiles', [])
        if (not isinstance(profiles, list) or
                not all(isinstance(p, str) and p for p in profiles)):
            raise fail(path, where + '.profiles', 'expected a list of MIG '
                       'profile names')
        entries.append(typing.cast(Entry, entry))
    return entries


def load(directory: str, now: float | None = None,
         window: float = 0.0) -> History:
    """Today's re-partitions and the profiles grown within ``window``.

    :param window: seconds back from ``now`` whose grows count.
    :raises: :class:`nova_mig.exception.RebalanceInputError`
    """
    now = time.time() if now is None else now
    result = History()
    today = day_file(directory, now)
    for path in _days(directory, now, window):
        if not os.path.exists(path):
            continue
        for entry in parse(read_day(path), path):
            if path == today:
                for gpu in set(entry['gpus']):
                    result.today[(entry['host'], gpu)] += 1
            when = float(entry['time'])
            if now - window <= when <= now:
                for profile in entry.get('profiles', ()):
                    result.grown[profile] = max(
                        when, result.grown.get(profile, when))
    return result


def _days(directory: str, now: float, window: float) -> list[str]:
    """The day files that hold lines of the ``window`` before ``now``."""
    return sorted({day_file(directory, t) for t in
                   [now - window] + [now - k * 86400.0 for k in
                                     range(int(window // 86400) + 1)]})


def repartitions(directory: str, window: float,
                 now: float | None = None) -> GpuCounts:
    """(host, PCI address) -> re-partitions recorded within ``window``.

    What ``openstack mig metrics --history`` exports: the re-partitions
    rebalancing did, per GPU, as the playbook recorded them.

    :raises: :class:`nova_mig.exception.RebalanceInputError`
    """
    now = time.time() if now is None else now
    counts: GpuCounts = collections.Counter()
    for path in _days(directory, now, window):
        if not os.path.exists(path):
            continue
        for entry in parse(read_day(path), path):
            if now - window <= float(entry['time']) <= now:
                for gpu in set(entry['gpus']):
                    counts[(entry['host'], gpu)] += 1
    return counts


def apply(hosts: list[fleet.HostState], counts: GpuCounts) -> None:
    """Set each GPU's ``changes_today`` from the history's counts.

    A host is matched by its name or its short name (as Placement and
    the discover documents may differ in the domain).
    """
    short: dict[tuple[str, str], int] = collections.Counter()
    for (name, address), n in counts.items():
        short[(name.split('.')[0], address)] += n
    for host in hosts:
        for gpu in host.gpus:
            gpu.changes_today = counts.get(
                (host.name, gpu.pci_address)) or short.get(
                (host.name.split('.')[0], gpu.pci_address), 0)


def record(directory: str, host: str, gpus: typing.Iterable[str],
           when: float | None = None,
           profiles: typing.Iterable[str] = ()) -> str:
    """Append one line to the day's file (what the playbook does)."""
    when = time.time() if when is None else when
    return append(day_file(directory, when),
                  {'time': when, 'host': host, 'gpus': sorted(gpus),
                   'profiles': sorted(profiles)})
