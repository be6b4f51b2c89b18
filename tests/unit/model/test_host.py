# SPDX-License-Identifier: Apache-2.0

"""Tests of the host report: lookups, vGPU devices and its JSON document."""

import json

from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from tests import base

PF = '0000:c1:00.0'
VF1, VF2, VF3 = '0000:c1:00.4', '0000:c1:00.5', '0000:c1:00.6'
MDEV = '5d3c2b1a-0000-4000-8000-000000000001'


def _type(type_id, name):
    return host_records.MdevType(type_id, name, {}, 1, 'vfio-pci', ())


def _domain(name, mdevs=(), pcis=(), state='running'):
    return host_records.Domain(name=name, uuid='u-' + name, state=state,
                               persistent=True, nova_instance=True,
                               mdev_uuids=tuple(mdevs),
                               pci_addresses=tuple(pcis))


def report(parents, mdevs=(), domains=(), node_devices=(), gpus=()):
    return host_records.HostReport(
        hostname='cn1', device_mode=constants.MODE_VENDOR_VFIO,
        gpus=list(gpus), parents=list(parents), mdevs=list(mdevs),
        sriov={PF: host_records.SriovPf(PF, 16, 3, (VF1, VF2, VF3))},
        domains=list(domains), node_devices=list(node_devices))


class TestVendorVfio(base.TestCase):

    def setUp(self):
        super().setUp()
        parent = host_records.VgpuParent
        self.report = report(
            [parent(VF1, PF, constants.MODE_VENDOR_VFIO, (), 1414),
             parent(VF2, PF, constants.MODE_VENDOR_VFIO,
                    (_type('1414', 'NVIDIA H200X-1-18C'),)),
             parent(VF3, '', constants.MODE_MDEV, ())],
            domains=[_domain('instance-1', pcis=[VF1], state='shutoff')])

    def test_only_vfs_carrying_a_type_are_devices(self):
        device, = self.report.vgpu_devices()
        self.assertEqual(
            {'uuid': None, 'parent': VF1, 'gpu': PF, 'type': '1414',
             'type_name': 'NVIDIA H200X-1-18C', 'profile': '1g.18gb',
             'mapping': 'name', 'gpu_instance_id': None,
             'domain': 'instance-1',
             'domains': ['instance-1'], 'domain_state': 'shutoff',
             'libvirt_node_device': None}, device)

    def test_as_dict_is_json(self):
        document = json.loads(json.dumps(self.report.as_dict()))
        self.assertEqual(constants.MODE_VENDOR_VFIO,
                         document['device_mode'])
        self.assertEqual(['1414', None, None],
                         [p['current_type']
                          for p in document['vgpu_parents']])
        self.assertEqual([{'name': 'instance-1', 'uuid': 'u-instance-1',
                           'state': 'shutoff', 'nova_instance': True,
                           'mdevs': [], 'pci_devices': [VF1]}],
                         document['domains'])


class TestMdev(base.TestCase):

    def setUp(self):
        super().setUp()
        gpu = gpu_records.Gpu(
            index=0, pci_address=PF, uuid='GPU-1', name='NVIDIA H200',
            pci_device_id=0x233510DE, memory_total_mb=143771,
            compute_capability=(9, 0), mig_current=1, mig_pending=1,
            vgpu_types=(gpu_records.VgpuType(1414, 'NVIDIA H200X-1-18C', 19,
                                             18432, 7),),
            active_vgpus=(gpu_records.ActiveVgpu(MDEV, 1414, 5),))
        self.report = report(
            [host_records.VgpuParent(VF2, PF, constants.MODE_MDEV, ())],
            mdevs=[host_records.Mdev(MDEV, 'nvidia-1414', VF2, 12)],
            domains=[_domain('a', mdevs=[MDEV]), _domain('b')],
            node_devices=[host_records.MdevNodeDevice(
                'mdev_x', MDEV, VF2, 'nvidia-1414')],
            gpus=[gpu])

    def test_device_joins_every_source(self):
        device, = self.report.vgpu_devices()
        # The type name comes from the GPU backend when sysfs has none.
        self.assertEqual('NVIDIA H200X-1-18C', device['type_name'])
        self.assertEqual((PF, 5, 'a', 'mdev_x'),
                         (device['gpu'], device['gpu_instance_id'],
                          device['domain'], device['libvirt_node_device']))

    def test_lookups(self):
        self.assertEqual(['a'], [d.name for d in
                                 self.report.domains_using(mdev_uuid=MDEV)])
        self.assertEqual([], self.report.domains_using())
        self.assertIsNone(self.report.gpu_by_address(VF2))
        self.assertEqual('GPU-1', self.report.gpu_by_address(PF).uuid)
        self.assertEqual('NVIDIA H200X-1-18C',
                         self.report.type_names()['nvidia-1414'])

    def test_memory_slices(self):
        self.assertEqual(0, host_records.memory_slices(self.report.gpus[0]))
        gpu = gpu_records.Gpu(
            0, PF, 'GPU-2', 'x', 0, 0, (8, 0), 1, 1,
            profiles=(gpu_records.GpuInstanceProfile(
                9, '3g.40gb', 3, 40192, 2, 42,
                (gpu_records.Placement(0, 4), gpu_records.Placement(4, 4))),))
        self.assertEqual(8, host_records.memory_slices(gpu))
