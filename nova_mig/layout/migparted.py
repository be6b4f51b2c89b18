"""Convert NVIDIA mig-parted ``version: v1`` configs to layouts and back.

mig-parted selects GPUs by index (``devices: all`` or a list) and by
``device-filter`` (PCI device IDs such as ``0x20B510DE``), and gives counts
per profile (``mig-devices``) without placements.  nova-mig places them
itself, larger profiles first.
"""

import collections

import yaml

from nova_mig import exception
from nova_mig.host import discovery
from nova_mig.layout import schema

VERSION = 'v1'


def _fail(path: str, reason: str) -> exception.MigPartedError:
    return exception.MigPartedError(path=path, reason=reason)


def _device_ids(value, path: str, where: str) -> tuple[int, ...]:
    items = value if isinstance(value, list) else [value]
    try:
        return tuple(int(str(item), 16) for item in items)
    except ValueError:
        raise _fail(path, '%s: device-filter %r is not a PCI device ID'
                    % (where, value))


def _entry(item, path: str, where: str) -> list[schema.GpuSpec]:
    if not isinstance(item, dict):
        raise _fail(path, '%s: expected a mapping' % where)
    unknown = set(item) - {'devices', 'device-filter', 'mig-enabled',
                           'mig-devices'}
    if unknown:
        raise _fail(path, '%s: unknown key(s) %s' % (
            where, ', '.join(sorted(unknown))))
    enabled = item.get('mig-enabled')
    if not isinstance(enabled, bool):
        raise _fail(path, '%s: "mig-enabled" must be true or false' % where)
    counts = item.get('mig-devices') or {}
    if not isinstance(counts, dict):
        raise _fail(path, '%s: "mig-devices" must map profiles to counts'
                    % where)
    if counts and not enabled:
        raise _fail(path, '%s: "mig-devices" needs "mig-enabled: true"'
                    % where)
    gis = []
    for profile, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or \
                count < 0:
            raise _fail(path, '%s: count of %s must be an integer >= 0'
                        % (where, profile))
        gis += [schema.GiSpec(str(profile))] * count
    ids = (_device_ids(item['device-filter'], path, where)
           if 'device-filter' in item else ())
    devices = item.get('devices', 'all')
    if devices == 'all':
        indexes = [None]
    elif isinstance(devices, list) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in devices):
        indexes = list(devices)
    else:
        raise _fail(path, '%s: "devices" must be "all" or a list of GPU '
                    'indexes' % where)
    return [schema.GpuSpec(
        selector=schema.Selector(index=index, pci_device_ids=ids,
                                 all=index is None and not ids),
        where='%s (devices %s)' % (where, 'all' if index is None else index),
        mig=enabled, gpu_instances=tuple(gis) if enabled else None)
        for index in indexes]


def labels(document) -> list[str]:
    configs = document.get('mig-configs') if isinstance(document, dict) \
        else None
    return sorted(configs) if isinstance(configs, dict) else []


def import_config(text: str, label: str | None = None,
                  path: str = '<mig-parted>') -> schema.Layout:
    """A layout from a mig-parted file.

    :param label: the ``mig-configs`` entry; may be left out when the file
        has only one.
    :raises: :class:`nova_mig.exception.MigPartedError`
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise _fail(path, 'not YAML: %s' % e)
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
    entries = document['mig-configs'][label]
    if not isinstance(entries, list) or not entries:
        raise _fail(path, 'config %r must be a non-empty list' % label)
    gpus = []
    for i, item in enumerate(entries):
        gpus += _entry(item, path, '%s[%d]' % (label, i))
    return schema.Layout(gpus=tuple(gpus), source=path,
                         description='Imported from mig-parted config %s '
                                     'of %s' % (label, path))


def export_config(report: discovery.HostReport,
                  label: str = 'nova-mig') -> str:
    """The host's MIG geometry as a mig-parted file (placements are lost).

    GPUs with the same geometry share one entry.
    """
    groups: dict[tuple, list[int]] = collections.OrderedDict()
    for gpu in report.gpus:
        if not gpu.mig_capable:
            continue
        counts = collections.Counter(gi.profile_name
                                     for gi in gpu.gpu_instances)
        order = sorted(counts, key=lambda name: (
            -gpu.profile_by_name(name).slice_count, name))
        key = (gpu.mig_enabled, tuple((n, counts[n]) for n in order))
        groups.setdefault(key, []).append(gpu.index)
    entries = []
    for (enabled, counts), indexes in groups.items():
        entry = {'devices': indexes, 'mig-enabled': enabled}
        if enabled:
            entry['mig-devices'] = dict(counts)
        entries.append(entry)
    return yaml.safe_dump({'version': VERSION,
                           'mig-configs': {label: entries}},
                          sort_keys=False, default_flow_style=False)
