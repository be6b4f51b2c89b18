"""Helpers for simulated-host tests: host files and backends."""

import os

import yaml

from nova_mig.simulator import backend as simulated
from tests import base

HOSTS_DIR = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'etc',
                         'nova-mig', 'hosts')

MDEV_HOST = {
    'version': 1,
    'hostname': 'unit-host',
    'device_mode': 'mdev',
    'gpus': [{
        'model': 'A100-PCIE-80GB', 'pci_address': '0000:41:00.0',
        'mig_mode': 'enabled', 'sriov_vfs': 4,
        'gpu_instances': [
            {'profile': '3g.40gb', 'placement': 4},
            {'profile': '1g.10gb', 'placement': 0},
            {'profile': '1g.10gb', 'placement': 1},
            {'profile': '1g.10gb', 'placement': 2,
             'compute_instances': 0},
        ]}],
    'vgpus': [{'uuid': '11111111-0000-4000-8000-000000000001',
               'type': 'A100D-1-10C', 'gpu': 0, 'vf': 0}],
    'domains': [{'name': 'instance-1', 'state': 'running',
                 'mdevs': ['11111111-0000-4000-8000-000000000001']}],
}
UUID1 = '11111111-0000-4000-8000-000000000001'
UUID2 = '22222222-0000-4000-8000-000000000002'
PF = '0000:41:00.0'
VF0, VF1, VF2, VF3 = ('0000:41:00.4', '0000:41:00.5', '0000:41:00.6',
                      '0000:41:00.7')


def example(name: str) -> str:
    return os.path.abspath(os.path.join(HOSTS_DIR, name))


class SimulatorTestCase(base.TestCase):
    """A test case with helpers to run a simulated host."""

    def write_host(self, data, name: str = 'host.yaml') -> str:
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w', encoding='utf-8') as stream:
            if isinstance(data, str):
                stream.write(data)
            else:
                yaml.safe_dump(data, stream)
        return path

    def backend(self, data=None, host_file: str | None = None
                ) -> simulated.SimulatedBackend:
        if host_file is None:
            host_file = self.write_host(MDEV_HOST if data is None else data)
        self.flags(host_file=host_file, group='simulator')
        return simulated.SimulatedBackend(self.conf)

    def sys(self, backend, *parts: str) -> str:
        return os.path.join(backend.sysfs_root(), *parts)

    def read(self, backend, *parts: str) -> str:
        with open(self.sys(backend, *parts), encoding='utf-8') as stream:
            return stream.read().strip()

    def type_dir(self, backend, parent: str, name: str) -> str:
        """The mdev type directory whose ``name`` ends with ``name``."""
        types = self.sys(backend, 'class', 'mdev_bus', parent,
                         'mdev_supported_types')
        for entry in sorted(os.listdir(types)):
            with open(os.path.join(types, entry, 'name')) as stream:
                if stream.read().split()[-1] == name:
                    return os.path.join(types, entry)
        self.fail('no type %s on %s' % (name, parent))
