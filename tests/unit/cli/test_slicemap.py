# SPDX-License-Identifier: Apache-2.0

"""The discover table when several vGPUs share a GPU instance."""

from nova_mig.cli import slicemap
from tests import base

PF = '0000:62:00.0'


def _gi(gi_id, start, devices, size=1):
    return {'id': gi_id, 'profile': '1g.24gb+gfx', 'placement_start': start,
            'placement_size': size, 'vgpu_device': devices[0] if devices else
            None, 'vgpu_devices': devices, 'in_use': False}


def _device(vf, type_id, gi_id):
    return {'uuid': None, 'parent': vf, 'gpu': PF, 'type': type_id,
            'type_name': 'DC', 'profile': '1g.24gb+gfx', 'mapping': 'driver',
            'gpu_instance_id': gi_id, 'domain': None, 'domain_state': None}


def report():
    """GI 1: two DC-1-8Q (3 allowed); GI 2: a DC-1-24Q; GI 3: empty.

    (GI 1 spans two slices only to leave room for its label.)
    """
    devices = [_device('0000:62:00.4', '2402', 1),
               _device('0000:62:00.5', '2402', 1),
               _device('0000:62:00.6', '2400', 2)]
    types = [{'id': '2402', 'name': 'DC-1-8Q', 'profile': '1g.24gb+gfx',
              'per_gpu_instance': 3, 'mapping': 'driver',
              'available_instances': 1},
             {'id': '2400', 'name': 'DC-1-24Q', 'profile': '1g.24gb+gfx',
              'per_gpu_instance': 1, 'mapping': 'driver',
              'available_instances': 1}]
    return {
        'hostname': 'h', 'device_mode': 'vendor-vfio',
        'gpus': [{'index': 0, 'pci_address': PF, 'uuid': 'GPU-1',
                  'model': 'RTX', 'mig_capable': True,
                  'mig_mode': 'enabled', 'mig_pending': 'enabled',
                  'memory_slices': 4, 'sriov_vfs': None,
                  'gpu_instances': [
                      _gi(1, 0, ['0000:62:00.4', '0000:62:00.5'], 2),
                      _gi(2, 2, ['0000:62:00.6']), _gi(3, 3, [])]}],
        'vgpu_parents': [{'address': '0000:62:%02x.%d' % divmod(n, 8),
                          'pf_address': PF, 'types': types}
                         for n in range(7, 17)],
        'vgpu_devices': devices, 'domains': []}


class TestSharedInstances(base.TestCase):

    def setUp(self):
        super().setUp()
        self.text = slicemap.render(report())

    def test_slice_map_counts_the_vgpus_of_an_instance(self):
        self.assertIn('|1g.24gb+gfx GI1 x2 ', self.text)

    def test_room_per_type_and_instance(self):
        rows = {line.split('|')[2].strip(): line.split('|')
                for line in self.text.splitlines() if '| driver ' in line}
        # DC-1-8Q: one more on GI 1, three on GI 3; none on GI 2.
        self.assertEqual('4', rows['2402'][-2].strip())
        # DC-1-24Q: on GI 3 only.
        self.assertEqual('1', rows['2400'][-2].strip())

    def test_the_drivers_creatable_list_wins(self):
        doc = report()
        # NVML says GI 3 takes DC-1-24Q only now.
        doc['gpus'][0]['gpu_instances'][2]['creatable_vgpu_types'] = ['2400']
        text = slicemap.render(doc)
        rows = {line.split('|')[2].strip(): line.split('|')
                for line in text.splitlines() if '| driver ' in line}
        self.assertEqual('1', rows['2402'][-2].strip())
        self.assertEqual('1', rows['2400'][-2].strip())
