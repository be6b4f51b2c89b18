# SPDX-License-Identifier: Apache-2.0

"""Simulated host descriptions shared by the simulator's tests."""

import os

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
    """The path of an example host file of etc/nova-mig/hosts."""
    return os.path.abspath(os.path.join(HOSTS_DIR, name))
