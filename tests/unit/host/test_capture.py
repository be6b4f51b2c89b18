# SPDX-License-Identifier: Apache-2.0

"""The host file ``discover --host-file`` writes, from in-memory reports."""

from unittest import mock

from nova_mig.host import capture
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types
from tests import base as test_base

PF = '0000:41:00.0'
VF = '0000:41:00.4'
UUID = '5d3c2b1a-0000-4000-8000-000000000001'


def a100(vgpu_types=None) -> gpu_records.Gpu:
    profile = gpu_records.GpuInstanceProfile(
        id=9, name='3g.40gb', slice_count=3, memory_mb=40192,
        instance_count=2, multiprocessor_count=42,
        placements=(gpu_records.Placement(0, 4), gpu_records.Placement(4, 4)))
    return gpu_records.Gpu(
        index=0, pci_address=PF,
        uuid='GPU-ABCDEF00-0000-4000-8000-000000000000',
        name='NVIDIA A100 80GB PCIe', pci_device_id=0x20B510DE,
        memory_total_mb=81920, compute_capability=(8, 0), mig_current=1,
        mig_pending=1, profiles=(profile,),
        gpu_instances=(gpu_records.GpuInstance(
            id=2, profile_id=9, profile_name='3g.40gb',
            placement=gpu_records.Placement(4, 4),
            compute_instances=(gpu_records.ComputeInstance(0, 2),),
            processes=(77,)),),
        vgpu_types=vgpu_types)


def report(gpu: gpu_records.Gpu, node_name: str) -> host_records.HostReport:
    mtype = host_records.MdevType(
        id='nvidia-754', name='NVIDIA A100D-3-40C',
        description={'framebuffer': '40960M', 'max_instance': '2'},
        available_instances=0, device_api='vfio-pci', devices=(UUID,))
    return host_records.HostReport(
        hostname='cn-1', device_mode='mdev', gpus=[gpu],
        parents=[host_records.VgpuParent(address=VF, pf_address=PF,
                                         mode='mdev', types=(mtype,))],
        mdevs=[host_records.Mdev(uuid=UUID, type_id='nvidia-754', parent=VF,
                                 iommu_group=300)],
        sriov={PF: host_records.SriovPf(address=PF, total_vfs=20, num_vfs=4,
                                        vfs=(VF,))},
        domains=[host_records.Domain(
            name='instance-1', uuid=UUID, state='crashed', persistent=True,
            nova_instance=True, mdev_uuids=(UUID,), pci_addresses=())],
        node_devices=[host_records.MdevNodeDevice(
            name=node_name, uuid=UUID, parent=VF, type_id='nvidia-754')])


class TestHostFile(test_base.TestCase):

    def test_types_from_sysfs_without_nvml_answer(self):
        document = capture.host_file(report(a100(), 'mdev_' +
                                            UUID.replace('-', '_')))
        model = document['models'][capture.model_key(a100())]
        self.assertEqual([{'id': 754, 'name': 'NVIDIA A100D-3-40C',
                           'gpu_instance_profile': 9,
                           'framebuffer_mb': 40960, 'max_instances': 2}],
                         model['vgpu_types'])
        self.assertEqual('A100D', model['board'])
        self.assertEqual(8, model['memory_slices'])
        self.assertEqual(20, model['sriov_totalvfs'])
        self.assertEqual('0:4 4:4', model['mig_profiles'][0]['placements'])
        # libvirt's older node-device names are kept.
        self.assertEqual({'mdev_node_name': 'uuid'}, document['libvirt'])

    def test_sysfs_types_ask_the_one_backing_rule(self):
        # The profile of a type read from sysfs is what
        # vgpu_types.backing says, not a second copy of the name rule.
        gpu = a100()
        answer = vgpu_types.Backing(None, 0, vgpu_types.MAPPING_NAME)
        with mock.patch.object(vgpu_types, 'backing',
                               return_value=answer) as backing:
            document = capture.host_file(report(gpu, 'mdev_x'))
        backing.assert_any_call('NVIDIA A100D-3-40C', gpu)
        (vtype,) = document['models'][capture.model_key(gpu)]['vgpu_types']
        self.assertIsNone(vtype['gpu_instance_profile'])

    def test_sysfs_type_of_a_profile_the_gpu_lacks(self):
        gpu = a100()
        mtype = host_records.MdevType(
            id='nvidia-999', name='NVIDIA A100D-1-10C',
            description={'framebuffer': '10240M', 'max_instance': '7'},
            available_instances=0, device_api='vfio-pci', devices=())
        host = report(gpu, 'mdev_x')
        host.parents[0] = host_records.VgpuParent(
            address=VF, pf_address=PF, mode='mdev',
            types=host.parents[0].types + (mtype,))
        types = capture.host_file(host)['models'][
            capture.model_key(gpu)]['vgpu_types']
        self.assertEqual({754: 9, 999: None},
                         {t['id']: t['gpu_instance_profile'] for t in types})

    def test_gpus_vgpus_and_domains(self):
        vtype = gpu_records.VgpuType(id=754, name='NVIDIA A100D-3-40C',
                                     gpu_instance_profile_id=9,
                                     framebuffer_mb=40960, max_instances=2,
                                     max_instances_per_gi=1)
        gpu = a100((vtype,))
        gpu = gpu_records.Gpu(**{**gpu.__dict__, 'active_vgpus': (
            gpu_records.ActiveVgpu(UUID, 754, 2),)})
        document = capture.host_file(report(gpu, 'mdev_x_0000_41_00_4'))
        self.assertEqual(1, document['models'][capture.model_key(gpu)][
            'vgpu_types'][0]['max_instances_per_gi'])
        (entry,) = document['gpus']
        self.assertEqual('GPU-abcdef00-0000-4000-8000-000000000000',
                         entry['uuid'])
        self.assertEqual({'current': 'enabled', 'pending': 'enabled'},
                         entry['mig_mode'])
        self.assertEqual(4, entry['sriov_vfs'])
        self.assertEqual([{'profile': '3g.40gb', 'placement': 4,
                           'compute_instances': 1, 'processes': [77]}],
                         entry['gpu_instances'])
        self.assertEqual([{'uuid': UUID, 'type': 'A100D-3-40C',
                           'parent': VF, 'gpu_instance': 4}],
                         document['vgpus'])
        (domain,) = document['domains']
        # A state the host file has no word for is written as shut off.
        self.assertEqual('shutoff', domain['state'])
        self.assertEqual([UUID], domain['mdevs'])
        self.assertEqual({'mdev_node_name': 'uuid_parent'},
                         document['libvirt'])
        self.assertEqual('mdev', document['device_mode'])
        self.assertTrue(document['vgpu_manager'])
