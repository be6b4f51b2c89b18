# SPDX-License-Identifier: Apache-2.0

"""Draw a host report for a terminal: each GPU's slice map and its devices."""

import io
import typing

import prettytable

CELL = 12  # characters per memory slice, when the width allows
MIN_CELL = 5
PAD = ' ' * 8

FILL_IN_USE = '#'
FILL_IDLE_VGPU = '='
FILL_NO_VGPU = '-'
FILL_FREE = '.'

LEGEND = ('legend: %s in use (vGPU in a guest, or processes)   '
          '%s vGPU device, no guest   %s GPU instance, no vGPU   %s free'
          % (FILL_IN_USE, FILL_IDLE_VGPU, FILL_NO_VGPU, FILL_FREE))


#: A part of the discover document (``nova-mig discover -f json``), as
#: :meth:`nova_mig.model.host_records.HostReport.as_dict` makes it: JSON.
Part = dict[str, typing.Any]


class TypeRow(typing.TypedDict):
    """One row of the creatable vGPU types table."""

    name: str
    profile: str | None
    per_gi: int
    mapping: str | None
    parents: int
    available: int


def _fill(instance: Part) -> str:
    if instance['in_use']:
        return FILL_IN_USE
    if instance['vgpu_device']:
        return FILL_IDLE_VGPU
    return FILL_NO_VGPU


def _segment(labels: list[str], width: int, fill: str) -> tuple[str, str]:
    """A cell of ``width`` columns: the first label that fits, and its fill."""
    inner = width - 1
    label = next((text for text in labels if len(text) <= inner),
                 labels[-1][:inner])
    return '|' + label.ljust(inner), '|' + fill * inner


def cell_width(slices: int, width: int | None) -> int:
    """Columns per slice so that the map fits ``width`` (None: no limit)."""
    if not width or not slices:
        return CELL
    return max(MIN_CELL, min(CELL, (width - len(PAD) - 1) // slices))


def slice_bar(gpu: Part, width: int | None = None) -> list[str]:
    """Three lines: slice numbers, GPU instance labels, and their fill.

    :param width: the terminal's columns; the slices are narrowed (labels
        shortened to the profile, then the GPU instance ID) to fit.
    """
    slices = gpu['memory_slices']
    cell = cell_width(slices, width)
    numbers = ''.join(str(i).ljust(cell) for i in range(slices))
    header = ('  slice ' + numbers).rstrip()
    labels, fills = [], []
    by_start = {gi['placement_start']: gi for gi in gpu['gpu_instances']}
    pos = 0
    while pos < slices:
        gi = by_start.get(pos)
        if gi is not None:
            names = ['%s GI%d' % (gi['profile'], gi['id']), gi['profile'],
                     'GI%d' % gi['id']]
            shared = len(gi.get('vgpu_devices', ()))
            if shared > 1:
                # Several vGPUs share the instance.
                names = ['%s x%d' % (n, shared) for n in names[:2]] + names
            label, fill = _segment(names, cell * gi['placement_size'],
                                   _fill(gi))
            pos += gi['placement_size']
        else:
            free = 1
            while pos + free < slices and pos + free not in by_start:
                free += 1
            label, fill = _segment(['free'], cell * free, FILL_FREE)
            pos += free
        labels.append(label)
        fills.append(fill)
    return [header, PAD + ''.join(labels) + '|', PAD + ''.join(fills) + '|']


def _gpu_heading(gpu: Part, width: int | None = None) -> str:
    vfs = ''
    if gpu['sriov_vfs']:
        vfs = '  VFs %d/%d' % (gpu['sriov_vfs']['enabled'],
                               gpu['sriov_vfs']['total'])
    mig = 'MIG %s' % gpu['mig_mode'] if gpu['mig_capable'] else 'no MIG'
    if gpu['mig_capable'] and gpu['mig_pending'] != gpu['mig_mode']:
        mig += ' (pending: %s)' % gpu['mig_pending']
    line = 'GPU %d  %s  %s  %s  %s%s' % (
        gpu['index'], gpu['pci_address'], gpu['model'], gpu['uuid'], mig,
        vfs)
    if width and len(line) > width:
        line = 'GPU %d  %s  %s\n  %s  %s%s' % (
            gpu['index'], gpu['pci_address'], gpu['model'], gpu['uuid'],
            mig, vfs)
    return line


def _fit(table: prettytable.PrettyTable, width: int | None) -> None:
    if width:
        table.max_table_width = max(width, 40)


def render(report: Part, width: int | None = None) -> str:
    """The ``nova-mig discover`` table output.

    :param width: columns to fit in (the terminal's, or cliff's
        ``--max-width``); None draws everything at full width.
    """
    out = io.StringIO()
    out.write('Host %s  device mode: %s\n\n'
              % (report['hostname'], report['device_mode']))
    devices_by_gpu: dict[str, list[Part]] = {}
    for dev in report['vgpu_devices']:
        devices_by_gpu.setdefault(dev['gpu'], []).append(dev)
    for gpu in report['gpus']:
        out.write(_gpu_heading(gpu, width) + '\n')
        if gpu['mig_capable'] and gpu['mig_mode'] == 'enabled':
            for line in slice_bar(gpu, width):
                out.write(line + '\n')
        elif gpu['mig_capable']:
            out.write('  MIG is disabled: only time-sliced vGPU types.\n')
        devices = devices_by_gpu.get(gpu['pci_address'], [])
        if devices:
            table = prettytable.PrettyTable(
                ['vGPU device', 'parent', 'type', 'profile', 'GI', 'guest'])
            table.align = 'l'
            for dev in devices:
                guest = '-'
                if dev['domain']:
                    guest = '%s (%s)' % (dev['domain'], dev['domain_state'])
                table.add_row([
                    dev['uuid'] or '(VF)', dev['parent'],
                    '%s %s' % (dev['type'], dev['type_name'] or ''),
                    dev['profile'] or 'time-sliced',
                    '-' if dev['gpu_instance_id'] is None
                    else dev['gpu_instance_id'],
                    guest])
            _fit(table, width - 2 if width else None)
            for line in table.get_string().splitlines():
                out.write('  ' + line + '\n')
        else:
            out.write('  no vGPU devices\n')
        out.write('\n')
    legend = LEGEND
    if width and len(legend) > width:
        legend = legend.replace('   = ', '\n        = ')
    out.write(legend + '\n\n')
    out.write(_types_table(report, width) + '\n')
    return out.getvalue()


def _type_number(type_id: str) -> str:
    """``2400`` for ``nvidia-2400`` (mdev) and ``2400`` (vendor VFIO)."""
    return type_id.rpartition('-')[2]


def _types_table(report: Part, width: int | None = None) -> str:
    """vGPU types creatable now, per GPU.

    On an SR-IOV GPU every free VF reports one available instance of every
    MIG-backed type while a single free GPU instance may back them all: the
    real room is the smaller of the VFs offering the type and the room
    left on the GPU instances of its profile: one vGPU each, or the type's
    per-instance maximum for time-sliced MIG-backed types.
    """
    types_on_gi: dict[tuple[str, int], list[str]] = {}
    for dev in report['vgpu_devices']:
        if dev['gpu_instance_id'] is not None:
            types_on_gi.setdefault((dev['gpu'], dev['gpu_instance_id']),
                                   []).append(_type_number(dev['type']))
    gis_by_profile: dict[tuple[str, str],
                         list[tuple[list[str], list[str] | None]]] = {}
    for gpu in report['gpus']:
        for gi in gpu['gpu_instances']:
            key = (gpu['pci_address'], gi['profile'])
            gis_by_profile.setdefault(key, []).append(
                (types_on_gi.get((gpu['pci_address'], gi['id']), []),
                 gi.get('creatable_vgpu_types')))
    rows: dict[tuple[str, str], TypeRow] = {}
    for parent in report['vgpu_parents']:
        for vtype in parent['types']:
            key = (parent['pf_address'], vtype['id'])
            row = rows.setdefault(key, {
                'name': vtype['name'], 'profile': vtype['profile'],
                'per_gi': vtype.get('per_gpu_instance') or 1,
                'mapping': vtype.get('mapping'),
                'parents': 0, 'available': 0})
            if vtype['available_instances']:
                row['parents'] += 1
            row['available'] += vtype['available_instances']
    table = prettytable.PrettyTable(
        ['GPU', 'vGPU type', 'name', 'MIG profile', 'mapping',
         'parents offering it', 'creatable now'])
    table.align = 'l'
    for (gpu, type_id), row in sorted(rows.items()):
        room = row['available']
        if row['profile']:
            # A GPU instance takes vGPUs of one type at a time.
            number = _type_number(type_id)
            # The driver's list of what an instance takes now wins.
            room = min(room, sum(
                max(row['per_gi'] - len(on_gi), 0)
                for on_gi, creatable in gis_by_profile.get(
                    (gpu, row['profile']), ())
                if set(on_gi) <= {number} and
                (creatable is None or
                 number in {_type_number(c) for c in creatable})))
        if room:
            table.add_row([gpu, type_id, row['name'],
                           row['profile'] or 'time-sliced', row['mapping'],
                           row['parents'], room])
    title = ('vGPU types creatable now (types with no room are hidden; '
             '-f json lists all)')
    if not table.rows:
        return title + '\n  none'
    _fit(table, width)
    return title + '\n' + table.get_string()
