# SPDX-License-Identifier: Apache-2.0

"""Convert NVIDIA mig-parted ``version: v1`` configs to layouts and back.

mig-parted selects GPUs by index (``devices: all`` or a list) and by
``device-filter`` (PCI device IDs such as ``0x20B510DE``), and gives counts
per profile (``mig-devices``) without placements.  nova-mig places them
itself, larger profiles first.
"""

import collections
import typing

import yaml

from nova_mig import bounded_input
from nova_mig.documents import validation
from nova_mig import exception
from nova_mig.layout import spec
from nova_mig.model import constants
from nova_mig.model import host_records

VERSION = 'v1'

#: One entry of a ``mig-configs`` list.
ENTRY_SCHEMA: validation.Schema = validation.mapping({
    'devices': {'type': ['string', 'array'], 'pattern': '^all$',
                'items': {'type': 'integer', 'minimum': 0},
                'x-reason': '"devices" must be "all" or a list of GPU '
                            'indexes'},
    'device-filter': validation.device_ids('device-filter %(value)r is not '
                                           'a PCI device ID'),
    'mig-enabled': {'type': 'boolean',
                    'x-reason': '"mig-enabled" must be true or false'},
    'mig-devices': {'type': ['object', 'null'],
                    'additionalProperties': {
                        'type': 'integer', 'minimum': 0,
                        'maximum': constants.MAX_GPU_INSTANCES,
                        'x-reason': 'count of %%(key)s must be an integer '
                                    'from 0 to %d (no GPU holds more GPU '
                                    'instances)'
                                    % constants.MAX_GPU_INSTANCES},
                    'x-reason': '"mig-devices" must map profiles to '
                                'counts'},
}, required=('mig-enabled',))
_ENTRY = validation.validator(ENTRY_SCHEMA)


def _fail(path: str, reason: str) -> exception.MigPartedError:
    return exception.MigPartedError(path=path, reason=reason)


def _entry(item: object, path: str, where: str) -> list[spec.GpuSpec]:
    problem = validation.first_problem(_ENTRY, item)
    if problem is not None:
        raise _fail(path, '%s: %s' % (where, problem.reason))
    data = typing.cast(dict[str, typing.Any], item)
    enabled: bool = data['mig-enabled']
    counts: dict[str, int] = data.get('mig-devices') or {}
    if counts and not enabled:
        raise _fail(path, '%s: "mig-devices" needs "mig-enabled: true"'
                    % where)
    for profile in counts:
        if not isinstance(profile, str) or not constants.is_profile(profile):
            raise _fail(path, '%s.mig-devices: %r is not a MIG profile name '
                        '(1g.10gb)' % (where, profile))
    if sum(counts.values()) > constants.MAX_GPU_INSTANCES:
        raise _fail(path, '%s.mig-devices: %d GPU instances asked; no GPU '
                    'holds more than %d' % (where, sum(counts.values()),
                                            constants.MAX_GPU_INSTANCES))
    gis = tuple(spec.GiSpec(str(profile))
                for profile, count in counts.items() for _ in range(count))
    given = data.get('device-filter', [])
    ids = tuple(spec.device_id(i)
                for i in (given if isinstance(given, list) else [given]))
    devices = data.get('devices', 'all')
    indexes: list[int | None] = [None] if devices == 'all' else devices
    return [spec.GpuSpec(
        selector=spec.Selector(index=index, pci_device_ids=ids,
                               all=index is None and not ids),
        where='%s (devices %s)' % (where, 'all' if index is None else index),
        mig=enabled, gpu_instances=gis if enabled else None)
        for index in indexes]


def labels(document: object) -> list[str]:
    configs = document.get('mig-configs') if isinstance(document, dict) \
        else None
    return sorted(str(k) for k in configs) if isinstance(configs, dict) \
        else []


def import_config(text: str | bytes, label: str | None = None,
                  path: str = '<mig-parted>') -> spec.Layout:
    """A layout from a mig-parted file.

    :param label: the ``mig-configs`` entry; may be left out when the file
        has only one.
    :raises: :class:`nova_mig.exception.MigPartedError`
    """
    document = bounded_input.load_yaml(
        text, lambda where, reason: _fail(path, '%s: %s' % (where, reason)))
    if not isinstance(document, dict) or document.get('version') != VERSION:
        raise _fail(path, 'expected "version: %s"' % VERSION)
    known = labels(document)
    if not known:
        raise _fail(path, 'no "mig-configs"')
    if label is None:
        if len(known) > 1:
            raise _fail(path, 'several configs (%s); choose one with '
                        '--label' % ', '.join(known))
        label = known[0]
    if label not in known:
        raise _fail(path, 'no config %r; the file has %s' % (
            label, ', '.join(known)))
    entries = next(v for k, v in document['mig-configs'].items()
                   if str(k) == label)
    if not isinstance(entries, list) or not entries:
        raise _fail(path, 'config %r must be a non-empty list' % label)
    gpus: list[spec.GpuSpec] = []
    for i, item in enumerate(entries):
        gpus += _entry(item, path, '%s[%d]' % (label, i))
    return spec.Layout(gpus=tuple(gpus), source=path,
                       description='Imported from mig-parted config %s of '
                                   '%s' % (label, path))


def export_config(report: host_records.HostReport,
                  label: str = 'nova-mig') -> str:
    """The host's MIG geometry as a mig-parted file (placements are lost).

    GPUs with the same geometry share one entry.
    """
    groups: dict[tuple[bool, tuple[tuple[str, int], ...]], list[int]] = {}
    for gpu in report.gpus:
        if not gpu.mig_capable:
            continue
        counts = collections.Counter(gi.profile_name
                                     for gi in gpu.gpu_instances)
        slices = {p.name: p.slice_count for p in gpu.profiles}
        order = sorted(counts, key=lambda name: (-slices.get(name, 0), name))
        key = (gpu.mig_enabled, tuple((n, counts[n]) for n in order))
        groups.setdefault(key, []).append(gpu.index)
    entries = []
    for (enabled, geometry), indexes in groups.items():
        entry: dict[str, typing.Any] = {'devices': indexes,
                                        'mig-enabled': enabled}
        if enabled:
            entry['mig-devices'] = dict(geometry)
        entries.append(entry)
    return yaml.safe_dump({'version': VERSION,
                           'mig-configs': {label: entries}},
                          sort_keys=False, default_flow_style=False)
