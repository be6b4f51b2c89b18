# SPDX-License-Identifier: Apache-2.0

"""Validation of simulated host files (parsed in memory)."""

import copy

import yaml

from nova_mig.model import gpu_records
from nova_mig.simulator import hostfile
from nova_mig.simulator import pci
from nova_mig.simulator import sim_exception
from tests import base as test_base
from tests.unit.simulator import fakes as base

# Named in the errors only: nothing is read from or written to it.
PATH = '/etc/nova-mig/hosts/unit-host.yaml'


def _content(data) -> bytes:
    return (data if isinstance(data, str) else yaml.safe_dump(data)).encode()


class TestHostFileValidation(test_base.TestCase):

    def parse(self, data):
        return hostfile.parse(_content(data), PATH), PATH

    def assertRejected(self, data, where, *fragments):
        path = PATH
        exc = self.assertRaises(
            sim_exception.HostFileError, hostfile.parse, _content(data), path)
        message = str(exc)
        self.assertTrue(message.startswith(path + ': '), message)
        self.assertIn(where + ':', message)
        for fragment in fragments:
            self.assertIn(fragment, message)
        return message

    def host(self):
        return copy.deepcopy(base.MDEV_HOST)

    def test_valid_host(self):
        state, path = self.parse(self.host())
        gpu = state.gpus[0]
        self.assertEqual(pci.gpu_uuid('unit-host', base.PF), gpu['uuid'])
        self.assertTrue(gpu['uuid'].startswith('GPU-'))
        self.assertEqual(gpu_records.MIG_ENABLED, gpu['mig_current'])
        self.assertEqual([0, 1, 2, 4], [gi['start']
                                        for gi in gpu['gpu_instances']])
        # The vGPU sits on the lowest free 1g.10gb with a compute instance.
        vgpu = state.vgpu(base.UUID1)
        gi = state.gpu_instance(gpu, vgpu['gpu_instance_id'])
        self.assertEqual(0, gi['start'])
        self.assertEqual(base.VF0, vgpu['parent'])
        self.assertEqual(path, state.data['host_file'])

    def test_explicit_gpu_instance_placement(self):
        data = self.host()
        data['vgpus'][0]['gpu_instance'] = 1
        state, _path = self.parse(data)
        vgpu = state.vgpu(base.UUID1)
        self.assertEqual(1, state.gpu_instance(
            state.gpus[0], vgpu['gpu_instance_id'])['start'])

    def test_bad_version(self):
        data = self.host()
        data['version'] = 2
        self.assertRejected(data, 'version', 'unsupported version 2')

    def test_unknown_top_key(self):
        data = self.host()
        data['gpu'] = []
        self.assertRejected(data, 'top level', 'unknown key(s) gpu;', 'gpus')

    def test_unknown_model(self):
        data = self.host()
        data['gpus'][0]['model'] = 'A100-96GB'
        exc = self.assertRaises(sim_exception.UnknownGpuModel,
                                hostfile.parse, _content(data), PATH)
        self.assertIn('gpus[0].model', str(exc))
        self.assertIn('H200-SXM-141GB', str(exc))

    def test_unknown_profile(self):
        data = self.host()
        data['gpus'][0]['gpu_instances'][1]['profile'] = '1g.5gb'
        self.assertRejected(data, 'gpus[0].gpu_instances[1].profile',
                            "unknown profile '1g.5gb'", '1g.10gb+me',
                            '7g.80gb')

    def test_impossible_placement(self):
        data = self.host()
        data['gpus'][0]['gpu_instances'][0]['placement'] = 2
        self.assertRejected(data, 'gpus[0].gpu_instances[0].placement',
                            'placement 2 is not among 0:4, 4:4')

    def test_overlapping_placement(self):
        data = self.host()
        data['gpus'][0]['gpu_instances'].append(
            {'profile': '2g.20gb', 'placement': 4})
        self.assertRejected(data, 'gpus[0].gpu_instances[4].placement',
                            'overlaps GPU instance')

    def test_two_media_extension_instances(self):
        data = self.host()
        data['gpus'][0]['gpu_instances'] = [
            {'profile': '1g.10gb+me'}, {'profile': '1g.10gb+me'}]
        self.assertRejected(data, 'gpus[0].gpu_instances[1].profile',
                            'already 1 instances of 1g.10gb+me')

    def test_gpu_instances_need_mig(self):
        data = self.host()
        data['gpus'][0]['mig_mode'] = {'current': 'disabled',
                                       'pending': 'enabled'}
        self.assertRejected(data, 'gpus[0].gpu_instances[0]',
                            'MIG mode current "enabled"')

    def test_mig_on_t4(self):
        data = {'version': 1, 'hostname': 'h', 'gpus': [
            {'model': 'T4', 'pci_address': '0000:3b:00.0',
             'mig_mode': 'enabled'}]}
        self.assertRejected(data, 'gpus[0].mig_mode', 'not MIG capable')

    def test_too_many_vfs(self):
        data = self.host()
        data['gpus'][0]['sriov_vfs'] = 21
        self.assertRejected(data, 'gpus[0].sriov_vfs',
                            'integer from 0 to 20, got 21')

    def test_bad_pci_address(self):
        data = self.host()
        data['gpus'][0]['pci_address'] = '0000:41:00'
        self.assertRejected(data, 'gpus[0].pci_address',
                            'not a lower-case PCI address')

    def test_vf_range_collides_with_gpu(self):
        data = self.host()
        data['gpus'].append({'model': 'A100-PCIE-80GB',
                             'pci_address': base.VF2})
        self.assertRejected(data, 'gpus[1].pci_address',
                            'function %s is already used' % base.VF2)

    def test_unknown_vgpu_type(self):
        data = self.host()
        data['vgpus'][0]['type'] = 'A100-1-5C'
        self.assertRejected(data, 'vgpus[0].type',
                            "unknown vGPU type 'A100-1-5C'", 'A100D-1-10C')

    def test_vgpu_type_by_id_is_refused(self):
        data = self.host()
        data['vgpus'][0]['type'] = 750
        self.assertRejected(data, 'vgpus[0].type', "unknown vGPU type 750")

    def test_vgpu_needs_free_gpu_instance(self):
        data = self.host()
        data['vgpus'][0]['type'] = 'A100D-2-20C'
        self.assertRejected(data, 'vgpus[0]', 'would refuse',
                            'GPU instance of profile 14')

    def test_vgpu_on_gpu_instance_without_ci(self):
        data = self.host()
        data['vgpus'][0]['gpu_instance'] = 2
        self.assertRejected(data, 'vgpus[0]', 'would refuse')

    def test_two_vgpus_on_one_vf(self):
        data = self.host()
        data['vgpus'].append({'uuid': base.UUID2, 'type': 'A100D-1-10C',
                              'parent': base.VF0})
        self.assertRejected(data, 'vgpus[1]', 'would refuse')

    def test_vgpu_parent_not_a_vf(self):
        data = self.host()
        data['vgpus'][0] = {'uuid': base.UUID2, 'type': 'A100D-1-10C',
                            'parent': base.PF}
        self.assertRejected(data, 'vgpus[0].parent', 'cannot carry a vGPU',
                            base.VF0)

    def test_vgpu_parent_both_forms(self):
        data = self.host()
        data['vgpus'][0]['parent'] = base.VF1
        self.assertRejected(data, 'vgpus[0]', 'either parent')

    def test_vgpu_uuid_required_in_mdev_mode(self):
        data = self.host()
        del data['vgpus'][0]['uuid']
        self.assertRejected(data, 'vgpus[0].uuid', 'not a lower-case UUID')

    def test_duplicate_vgpu_uuid(self):
        data = self.host()
        data['vgpus'].append({'uuid': base.UUID1, 'type': 'A100D-1-10C',
                              'gpu': 0, 'vf': 1})
        self.assertRejected(data, 'vgpus[1]', 'File exists')

    def test_running_domain_needs_its_mdev(self):
        data = self.host()
        data['domains'][0]['mdevs'] = [base.UUID2]
        self.assertRejected(data, 'domains[0].mdevs[0]',
                            'cannot hold missing mdev %s' % base.UUID2)

    def test_shutoff_domain_may_miss_its_mdev(self):
        data = self.host()
        data['domains'][0]['mdevs'] = [base.UUID2]
        data['domains'][0]['state'] = 'shutoff'
        state, _path = self.parse(data)
        self.assertEqual([base.UUID2], state.domains[0]['mdevs'])

    def test_mdev_held_twice(self):
        data = self.host()
        data['domains'].append({'name': 'instance-2', 'state': 'paused',
                                'mdevs': [base.UUID1]})
        self.assertRejected(data, 'domains[1].mdevs[0]',
                            'already held by domain instance-1')

    def test_bad_domain_state(self):
        data = self.host()
        data['domains'][0]['state'] = 'crashed'
        self.assertRejected(data, 'domains[0].state', "'crashed'",
                            'running, paused, shutoff')

    def test_vendor_vfio_domain_with_mdevs(self):
        data = self.host()
        data['device_mode'] = 'vendor-vfio'
        self.assertRejected(data, 'domains[0].mdevs', 'pci_hostdevs')

    def test_no_vgpu_without_manager(self):
        data = self.host()
        data['vgpu_manager'] = False
        self.assertRejected(data, 'vgpus[0]', 'vgpu_manager: true')

    def test_not_yaml_mapping(self):
        self.assertRejected('- a\n- b\n', 'top level',
                            'expected a mapping')

    def test_missing_file(self):
        exc = self.assertRaises(sim_exception.HostFileError, hostfile.load,
                                self.tmpdir + '/nope.yaml')
        self.assertIn('nope.yaml', str(exc))

    def test_own_models_extend_the_catalog(self):
        with open(base.example('a100-mixed.yaml')) as f:
            a100 = yaml.safe_load(f)
        document = {
            'version': 1, 'hostname': 'cap-1',
            'models': {'captured-X': {
                'nvml_name': 'NVIDIA X', 'pci_device_id': '0x12345678',
                'memory_total_mb': 1000, 'compute_capability': '9.9',
                'board': 'X', 'memory_slices': 2, 'sriov_totalvfs': 4,
                'mig_profiles': [{'id': 3, 'name': '1g.1gb', 'slices': 1,
                                  'memory_mb': 500, 'instances': 2,
                                  'multiprocessors': 1,
                                  'placements': '0:1 1:1'}],
                'vgpu_types': [{'id': 9, 'name': 'NVIDIA X-1-1C',
                                'gpu_instance_profile': 3,
                                'framebuffer_mb': 500, 'max_instances': 4,
                                'max_instances_per_gi': 2}]}},
            'gpus': [{'model': 'captured-X', 'pci_address': '0000:05:00.0',
                      'mig_mode': 'enabled', 'sriov_vfs': 4,
                      'gpu_instances': [{'profile': '1g.1gb'}]},
                     a100['gpus'][0]]}
        state = hostfile.parse(yaml.safe_dump(document).encode(), 'cap.yaml')
        model = state.model(state.gpus[0])
        self.assertEqual(2, model.vgpu_type(9).max_instances_per_gi)
        self.assertEqual(1, len(state.gpus[0]['gpu_instances']))
        self.assertEqual('A100-PCIE-80GB', state.model(state.gpus[1]).key)
        # The models travel with the saved state.
        reloaded = type(state)(copy.deepcopy(state.data))
        self.assertEqual(model, reloaded.model(reloaded.gpus[0]))

    def test_malformed_own_model_is_named(self):
        document = {'version': 1, 'hostname': 'cap-1',
                    'models': {'captured-X': {'nvml_name': 'NVIDIA X'}}}
        exc = self.assertRaises(sim_exception.HostFileError, hostfile.parse,
                                yaml.safe_dump(document).encode(),
                                'cap.yaml')
        self.assertIn('models.captured-X', str(exc))
        self.assertIn('cap.yaml', str(exc))

    def test_examples_are_valid(self):
        for name in ('a100-mixed.yaml', 'h100-sxm5-8x.yaml',
                     'h200-vendor-vfio.yaml', 't4-orphans.yaml',
                     'rtx-pro-6000-vendor-vfio.yaml', 'b200-hgx.yaml'):
            state = hostfile.load(base.example(name))
            self.assertTrue(state.gpus, name)
            self.assertTrue(state.domains, name)
