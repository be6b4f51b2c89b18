"""The fleet's re-partition history: what the per-GPU budget counts.

The controller keeps one JSON-lines file per UTC day in the history
directory (``playbooks/rebalance.yaml``: ``<rebalance_dir>/history``),
``<YYYY-MM-DD>.jsonl``; after ``nova-mig rebalance apply --yes`` succeeded
on a host, the playbook appends one line naming the GPUs the plan changed
there::

    {"time": 1764892800.5, "host": "cn1", "gpus": ["0000:41:00.0"]}

``openstack mig rebalance plan --history <dir>`` reads today's file only
(the budget is per calendar day, UTC; older files may be removed) and
counts, per GPU, the lines naming it: a GPU that reached
``--max-per-gpu-day`` keeps its geometry. A missing directory or file is an
empty history (the first run of the day).
"""

import collections
import datetime
import json
import os
import time
import typing

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.rebalance import fleet

_KEYS = {'time', 'host', 'gpus'}


def day_file(directory: str, when: float) -> str:
    """The history file of the UTC day of ``when`` (epoch seconds)."""
    day = datetime.datetime.fromtimestamp(when, datetime.timezone.utc)
    return os.path.join(directory, day.strftime('%Y-%m-%d') + '.jsonl')


def _fail(path: str, where: str, reason: str) -> exception.RebalanceInputError:
    return exception.RebalanceInputError(path=path, where=where,
                                         reason=reason)


def parse(text: str, path: str) -> collections.Counter:
    """(host, PCI address) -> re-partitions, from one day's lines.

    :raises: :class:`nova_mig.exception.RebalanceInputError` naming the
        line and the reason.
    """
    counts: collections.Counter = collections.Counter()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = 'line %d' % number
        try:
            entry: typing.Any = json.loads(line)
        except ValueError as e:
            raise _fail(path, where, 'not JSON (%s)' % str(e).split(':')[0])
        if not isinstance(entry, dict) or set(entry) != _KEYS:
            raise _fail(path, where, 'expected an object with exactly the '
                        'keys %s' % ', '.join(sorted(_KEYS)))
        if (isinstance(entry['time'], bool) or
                not isinstance(entry['time'], (int, float))):
            raise _fail(path, where + '.time', 'expected epoch seconds, '
                        'found %r' % (entry['time'],))
        host, gpus = entry['host'], entry['gpus']
        if not isinstance(host, str) or not host:
            raise _fail(path, where + '.host', 'expected a host name')
        if (not isinstance(gpus, list) or
                not all(isinstance(g, str) and g for g in gpus)):
            raise _fail(path, where + '.gpus', 'expected a list of PCI '
                        'addresses')
        for gpu in set(gpus):
            counts[(host, gpu)] += 1
    return counts


def load(directory: str, now: float | None = None) -> collections.Counter:
    """Today's re-partitions per (host, PCI address); see the module."""
    path = day_file(directory, time.time() if now is None else now)
    if not os.path.exists(path):
        return collections.Counter()

    def fail(where: str, reason: str) -> Exception:
        return _fail(path, where, reason)

    return parse(fileutils.decode(fileutils.read_input(path, fail), fail),
                 path)


def apply(hosts: list[fleet.HostState], counts: collections.Counter
          ) -> None:
    """Set each GPU's ``changes_today`` from the history's counts.

    A host is matched by its name or its short name (as Placement and
    the discover documents may differ in the domain).
    """
    short: dict[tuple[str, str], int] = collections.Counter()
    for (host, gpu), n in counts.items():
        short[(host.split('.')[0], gpu)] += n
    for host in hosts:
        for gpu in host.gpus:
            gpu.changes_today = counts.get(
                (host.name, gpu.pci_address)) or short.get(
                (host.name.split('.')[0], gpu.pci_address), 0)


def record(directory: str, host: str, gpus: typing.Iterable[str],
           when: float | None = None) -> str:
    """Append one line to the day's file (what the playbook does)."""
    when = time.time() if when is None else when
    path = day_file(directory, when)
    os.makedirs(directory, exist_ok=True)
    with open(path, 'a', encoding='utf-8') as stream:
        stream.write(json.dumps({'time': when, 'host': host,
                                 'gpus': sorted(gpus)}) + '\n')
    return path
