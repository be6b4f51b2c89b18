# SPDX-License-Identifier: Apache-2.0

"""NVIDIA's MIG profile tables and discover documents for planner tests.

The tables come from ``nova_mig/simulator/catalog.yaml`` read as plain
YAML (the NVIDIA MIG User Guide's "Supported MIG Profiles"), so the
planner is tested against real placements without loading the simulator.
"""

import json
import os
import types

import yaml

from nova_mig.model import gpu_records
from nova_mig.osc import client
from nova_mig.rebalance import geometry

CATALOG = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                       'nova_mig', 'simulator', 'catalog.yaml')
A100_80 = 'A100-80GB'
H100_80 = 'H100-80GB-SXM'
A100_40 = 'A100-40GB'
A30 = 'A30-24GB'
MODEL_NAMES = {A100_80: 'NVIDIA A100 80GB PCIe',
               H100_80: 'NVIDIA H100 80GB HBM3',
               A100_40: 'NVIDIA A100-PCIE-40GB', A30: 'NVIDIA A30'}

_TABLES: dict = {}


def raw_tables() -> dict:
    if not _TABLES:
        with open(CATALOG, encoding='utf-8') as stream:
            _TABLES.update(yaml.safe_load(stream)['mig_profile_tables'])
    return _TABLES


def profile_docs(table: str) -> list[dict]:
    """A table as ``nova-mig discover -f json`` reports it per GPU."""
    result = []
    for row in raw_tables()[table]:
        placements = []
        for item in row['placements'].split():
            start, size = item.split(':')
            placements.append({'start': int(start), 'size': int(size)})
        result.append({'id': row['id'], 'name': row['name'],
                       'slices': row['slices'],
                       'memory_mb': row['memory_mb'],
                       'instances': row['instances'],
                       'multiprocessors': row['multiprocessors'],
                       'placements': placements})
    return result


def table(name: str) -> geometry.ProfileTable:
    return geometry.ProfileTable(tuple(
        gpu_records.GpuInstanceProfile(
            id=p['id'], name=p['name'], slice_count=p['slices'],
            memory_mb=p['memory_mb'], instance_count=p['instances'],
            multiprocessor_count=p['multiprocessors'],
            placements=tuple(gpu_records.Placement(pl['start'], pl['size'])
                             for pl in p['placements']))
        for p in profile_docs(name)))


def gpu_doc(index: int, table_name: str = A100_80,
            instances: tuple = (), mig: str = 'enabled') -> dict:
    """One GPU of a discover document.

    :param instances: ``(profile, start, size, in_use)`` tuples.
    """
    return {
        'index': index,
        'pci_address': '0000:%02x:00.0' % (0x41 + index),
        'uuid': 'GPU-%08d-0000-0000-0000-000000000000' % index,
        'model': MODEL_NAMES[table_name],
        'mig_capable': True, 'mig_mode': mig,
        'sriov_vfs': {'total': 16, 'enabled': 16},
        'profiles': profile_docs(table_name),
        'gpu_instances': [
            {'id': i + 1, 'profile': p, 'placement_start': start,
             'placement_size': size, 'in_use': in_use}
            for i, (p, start, size, in_use) in enumerate(instances)],
    }


def host_doc(name: str, *gpus: dict, devices: tuple = ()) -> dict:
    return {'hostname': name, 'device_mode': 'mdev', 'gpus': list(gpus),
            'vgpu_parents': [], 'vgpu_devices': list(devices),
            'domains': []}


def write(directory: str, doc: dict, mtime: float | None = None) -> str:
    path = os.path.join(directory, '%s.json' % doc['hostname'])
    with open(path, 'w', encoding='utf-8') as stream:
        json.dump(doc, stream)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


SEVEN_1G = tuple(('1g.10gb', i, 1, False) for i in range(7))


class Cloud:
    """The services of a fake cloud, recording which were asked for."""

    def __init__(self, placement, compute):
        self._mig = client.MigClient(types.SimpleNamespace(
            sdk_connection=types.SimpleNamespace(placement=placement,
                                                 compute=compute)))
        self.asked = []

    @property
    def placement(self):
        self.asked.append('placement')
        return self._mig.placement

    @property
    def compute(self):
        self.asked.append('compute')
        return self._mig.compute
