# SPDX-License-Identifier: Apache-2.0

"""One screen per step of ``tools/quickstart.sh demo``: a command's summary.

Reads the ``-f json`` output of a nova-mig command on standard input and
prints what it found or would change, in counts, with the reason the step
shows what it shows. ``tools/quickstart.sh demo --verbose`` prints the
commands' full output instead.

    demo_summary.py discover < discover.json
    demo_summary.py plan < plan.json
    demo_summary.py nova-config < nova-config.json
    demo_summary.py sync < sync.json
    demo_summary.py profiles DISCOVER_JSON < profile-list.json
"""

import collections
import configparser
import json
import sys
import textwrap

WIDTH = 79
FILLS = {'in_use': '#', 'vgpu': '=', 'gi': '-', 'free': '.'}


def _count(items) -> str:
    """``3 1g.10gb, 1 3g.40gb`` from an iterable of names."""
    counts = collections.Counter(items)
    return ', '.join('%d %s' % (n, name)
                     for name, n in sorted(counts.items())) or 'none'


def slice_line(gpu: dict) -> str:
    """A GPU's slice map in one line: one character per memory slice."""
    slices = [FILLS['free']] * (gpu.get('memory_slices') or 0)
    for gi in gpu['gpu_instances']:
        fill = (FILLS['in_use'] if gi['in_use'] else
                FILLS['vgpu'] if gi.get('vgpu_devices') else FILLS['gi'])
        start = gi['placement_start']
        for i in range(start, min(start + gi['placement_size'],
                                  len(slices))):
            slices[i] = fill
    return '|%s|' % ''.join(slices) if slices else '(no MIG)'


def discover(doc: dict) -> list[str]:
    gpus = doc['gpus']
    mig = [g for g in gpus if g['mig_mode'] == 'enabled']
    devices = doc['vgpu_devices']
    in_guest = [d for d in devices if d['domain']]
    lines = [
        'Host %s, %s mode: %d GPU(s) (%s), MIG enabled on %d.' % (
            doc['hostname'], doc['device_mode'], len(gpus),
            _count(g['model'] for g in gpus), len(mig)),
        'GPU instances: %s.' % _count(
            gi['profile'] for g in gpus for gi in g['gpu_instances']),
        'vGPU devices: %d (%s), %d used by a guest, %d by none; %d '
        'libvirt domain(s).' % (
            len(devices), _count(d['type_name'] or d['type']
                                 for d in devices),
            len(in_guest), len(devices) - len(in_guest),
            len(doc['domains'])),
    ]
    if not mig:
        lines.append('No GPU has MIG enabled, so there are no slices to '
                     'draw: their vGPUs are time-sliced.')
        return lines
    lines.append('Slice map, one character per memory slice (# in use, '
                 '= vGPU without guest, - GPU instance without vGPU, '
                 '. free):')
    for gpu in gpus:
        lines.append('  GPU %d %s %s %s' % (
            gpu['index'], gpu['pci_address'], slice_line(gpu),
            _count(gi['profile'] for gi in gpu['gpu_instances'])))
    return lines


def plan(rows: list) -> list[str]:
    if not rows:
        return ['The host already matches the layout: nothing to do.']
    refused = {r['GPU'] for r in rows if r['Status'] == 'refused'}
    lines = ['%d action(s) on %d GPU(s): %s.' % (
        len(rows), len({r['GPU'] for r in rows}),
        _count(r['Action'] for r in rows))]
    if refused:
        lines.append('Refused on %d GPU(s), which keep what is in use: %s.'
                     % (len(refused), ', '.join(sorted(refused))))
    lines.append('First: %s (%s).' % (rows[0]['Description'],
                                      rows[0]['Reason']))
    return lines


def _diffstat(diff: str) -> dict[str, tuple[int, int]]:
    stats: dict[str, list[int]] = {}
    current = None
    for line in diff.splitlines():
        if line.startswith('+++ '):
            current = line[4:].split(' (')[0]
            stats[current] = [0, 0]
        elif line.startswith('--- ') or current is None:
            continue
        elif line.startswith('+'):
            stats[current][0] += 1
        elif line.startswith('-'):
            stats[current][1] += 1
    return {k: (v[0], v[1]) for k, v in stats.items()}


def nova_config(doc: dict) -> list[str]:
    snippet = configparser.ConfigParser(interpolation=None)
    snippet.read_string(doc['snippet'])
    groups = [s for s in snippet.sections() if s.startswith('mdev_')]
    addresses = sum(len(snippet[g].get('device_addresses', '').split(','))
                    for g in groups)
    providers = sum(1 for line in doc['provider_config'].splitlines()
                    if line.startswith('- identification:'))
    stats = _diffstat(doc['diff'])
    lines = []
    for path in (doc['snippet_path'], doc['provider_config_path']):
        added, removed = stats.get(path, (0, 0))
        lines.append('%s: %s' % (path, '+%d -%d lines' % (added, removed)
                                 if path in stats else 'unchanged'))
    if doc['device_mode'] == 'mdev':
        lines.append('enabled_mdev_types = %s; %d [mdev_*] group(s) with %d '
                     'device address(es).' % (
                         ','.join(doc['enabled_mdev_types']) or '(none)',
                         len(groups), addresses))
    else:
        lines.append('%d [pci] device_spec line(s) for the VFs.'
                     % len(doc['pci_devices']))
    lines.append('Provider config: traits for %d GPU resource provider(s).'
                 % providers)
    lines.append('Dry run: nothing written; nova-compute would need a '
                 'restart: %s.' % ('yes' if doc['restart_nova_compute']
                                   else 'no'))
    lines += ['warning: %s' % w for w in doc['warnings']]
    return lines


def sync(doc: dict) -> list[str]:
    providers = doc['providers']
    changed = [p for p in providers if p['status'] != 'unchanged']
    added = collections.Counter(t for p in providers for t in p['added'])
    removed = collections.Counter(t for p in providers for t in p['removed'])
    lines = [
        'Placement %s, host %s: %d GPU provider(s), %d changed.' % (
            doc['placement'], doc['hostname'], len(providers), len(changed)),
        'Created resource classes: %s; traits: %s.' % (
            ', '.join(doc['classes_created']) or 'none',
            ', '.join(doc['traits_created']) or 'none'),
    ]
    for trait, n in sorted(added.items()):
        lines.append('  + %s on %d provider(s)' % (trait, n))
    for trait, n in sorted(removed.items()):
        lines.append('  - %s on %d provider(s)' % (trait, n))
    if not changed:
        lines.append('Nothing changed: an earlier run already synced them.')
    return lines


def profiles(discovered: dict) -> list[str]:
    """Why the profile table looks as it does."""
    gpus = discovered['gpus']
    if not any(g['mig_mode'] == 'enabled' for g in gpus):
        models = _count(g['model'] for g in gpus)
        return ['The table is empty: this host\'s GPUs (%s) have no MIG '
                'enabled, so Placement holds no MIG profile; their '
                'time-sliced vGPUs are counted as VGPU.' % models]
    return ['Each row sums the GPU resource providers of one profile: '
            'Nova makes one per vGPU parent (an SR-IOV VF in mdev mode), '
            'so Providers counts VFs, not GPUs.']


def main(argv: list[str]) -> int:
    kind = argv[1]
    if kind == 'profiles':
        with open(argv[2], encoding='utf-8') as f:
            lines = profiles(json.load(f))
    else:
        doc = json.load(sys.stdin)
        lines = {'discover': discover, 'plan': plan,
                 'nova-config': nova_config, 'sync': sync}[kind](doc)
    for line in lines:
        sys.stdout.write(textwrap.fill(
            line, WIDTH, subsequent_indent='    ', break_long_words=False,
            break_on_hyphens=False) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
