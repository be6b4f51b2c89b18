# SPDX-License-Identifier: Apache-2.0

"""Layout of the rendered sysfs tree (facts.md section 4)."""

import os

from tests.functional.simulator import base


class TestSysfsTree(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.backend_ = self.backend()
        self.root = self.backend_.sysfs_root()
        self.real = os.path.realpath(self.root)

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def resolve(self, *parts):
        return os.path.relpath(os.path.realpath(self.path(*parts)), self.real)

    def test_root_is_default_work_dir(self):
        self.assertEqual(os.path.join(self.tmpdir, 'simulator', 'sys'),
                         self.root)
        self.assertEqual(
            'test://' + os.path.join(self.tmpdir, 'simulator',
                                     'libvirt.xml'),
            self.backend_.libvirt_uri())

    def test_device_directories_and_links(self):
        pf_dir = 'devices/pci0000:40/0000:40:01.1/0000:41:00.0'
        vf_dir = 'devices/pci0000:40/0000:40:01.1/0000:41:00.4'
        self.assertTrue(os.path.isdir(os.path.join(self.real, pf_dir)))
        self.assertFalse(os.path.islink(os.path.join(self.real, vf_dir)))
        self.assertTrue(os.path.islink(self.path('bus/pci/devices', base.PF)))
        self.assertEqual(pf_dir, self.resolve('bus/pci/devices', base.PF))
        self.assertEqual(vf_dir, self.resolve('bus/pci/devices', base.VF0))
        self.assertEqual(vf_dir, self.resolve('class/mdev_bus', base.VF0))
        self.assertEqual(vf_dir, self.resolve(pf_dir, 'virtfn0'))
        self.assertEqual(pf_dir, self.resolve(vf_dir, 'physfn'))
        self.assertEqual('devices/pci0000:40/0000:40:01.1/0000:41:00.7',
                         self.resolve(pf_dir, 'virtfn3'))
        self.assertEqual('bus/pci/drivers/nvidia',
                         self.resolve(pf_dir, 'driver'))
        # Links are relative, so the tree can be moved or copied.
        self.assertFalse(os.readlink(self.path('bus/pci/devices',
                                               base.PF)).startswith('/'))

    def test_pf_attributes(self):
        pf = ('bus', 'pci', 'devices', base.PF)
        self.assertEqual('0x10de', self.read(self.backend_, *pf, 'vendor'))
        self.assertEqual('0x20b5', self.read(self.backend_, *pf, 'device'))
        self.assertEqual('0x030200', self.read(self.backend_, *pf, 'class'))
        self.assertEqual('20', self.read(self.backend_, *pf,
                                         'sriov_totalvfs'))
        self.assertEqual('4', self.read(self.backend_, *pf, 'sriov_numvfs'))
        self.assertFalse(os.path.exists(self.path(*pf, 'virtfn4')))
        # The PF of an SR-IOV card is no mdev parent.
        self.assertFalse(os.path.exists(self.path('class/mdev_bus',
                                                  base.PF)))
        self.assertEqual(sorted([base.VF0, base.VF1, base.VF2, base.VF3]),
                         sorted(os.listdir(self.path('class/mdev_bus'))))

    def test_mdev_type_directory(self):
        type_dir = self.type_dir(self.backend_, base.VF1, 'A100D-1-10C')
        for name in ('name', 'description', 'available_instances',
                     'device_api', 'create'):
            self.assertTrue(os.path.isfile(os.path.join(type_dir, name)),
                            name)
        self.assertTrue(os.path.isdir(os.path.join(type_dir, 'devices')))
        with open(os.path.join(type_dir, 'name')) as f:
            self.assertEqual('NVIDIA A100D-1-10C\n', f.read())
        with open(os.path.join(type_dir, 'device_api')) as f:
            self.assertEqual('vfio-pci', f.read().strip())
        with open(os.path.join(type_dir, 'description')) as f:
            self.assertEqual('num_heads=1, frl_config=60, framebuffer=10240M,'
                             ' max_resolution=4096x2160, max_instance=1',
                             f.read().strip())

    def test_mdev_device(self):
        vf_dir = 'devices/pci0000:40/0000:40:01.1/0000:41:00.4'
        mdev_dir = vf_dir + '/' + base.UUID1
        self.assertTrue(os.path.isdir(os.path.join(self.real, mdev_dir)))
        self.assertEqual(mdev_dir, self.resolve('bus/mdev/devices',
                                                base.UUID1))
        type_dir = os.path.relpath(os.path.realpath(self.type_dir(
            self.backend_, base.VF0, 'A100D-1-10C')), self.real)
        self.assertEqual(type_dir, self.resolve('bus/mdev/devices',
                                                base.UUID1, 'mdev_type'))
        self.assertEqual(mdev_dir, self.resolve(type_dir, 'devices',
                                                base.UUID1))
        group = self.resolve(mdev_dir, 'iommu_group')
        self.assertRegex(group, r'^kernel/iommu_groups/\d+$')
        self.assertEqual(mdev_dir, self.resolve(group, 'devices',
                                                base.UUID1))
        self.assertTrue(os.path.isfile(self.path(mdev_dir, 'remove')))
        # Its VFIO device file, numbered as its IOMMU group.
        self.assertEqual(['vfio' + group.rpartition('/')[2]], os.listdir(
            self.path(mdev_dir, 'vfio-dev')))
        # No other type lists it.
        other = self.type_dir(self.backend_, base.VF0, 'A100D-3-40C')
        self.assertEqual([], os.listdir(os.path.join(other, 'devices')))

    def test_available_instances(self):
        def available(parent, name):
            with open(os.path.join(self.type_dir(self.backend_, parent, name),
                                   'available_instances')) as stream:
                return int(stream.read())
        # VF0 carries a vGPU: nothing else fits there.
        self.assertEqual(0, available(base.VF0, 'A100D-1-10C'))
        # One free 1g.10gb with a CI (placement 1), one 3g.40gb.
        self.assertEqual(1, available(base.VF1, 'A100D-1-10C'))
        self.assertEqual(1, available(base.VF1, 'A100D-3-40C'))
        # No 2g.20gb GPU instance.
        self.assertEqual(0, available(base.VF1, 'A100D-2-20C'))
        # Time-sliced types are listed only while MIG is disabled.
        self.assertEqual(7, len(os.listdir(os.path.join(
            self.root, 'class/mdev_bus', base.VF1, 'mdev_supported_types'))))

    def test_time_sliced_types_without_mig(self):
        data = dict(base.MDEV_HOST, domains=[])
        data['gpus'] = [dict(data['gpus'][0], mig_mode='disabled',
                             gpu_instances=[])]
        data['vgpus'] = [{'uuid': base.UUID1, 'type': 'A100D-20C',
                          'parent': base.VF0}]
        backend = self.backend(data)

        def available(parent, name):
            with open(os.path.join(self.type_dir(backend, parent, name),
                                   'available_instances')) as stream:
                return int(stream.read())
        types = os.listdir(self.sys(backend, 'class/mdev_bus', base.VF1,
                                    'mdev_supported_types'))
        # A100D-4C ... A100D-80C; NVIDIA's tables have no A100D-5C.
        self.assertEqual(7, len(types))
        self.assertEqual(1, available(base.VF1, 'A100D-20C'))
        self.assertEqual(0, available(base.VF0, 'A100D-20C'))
        # The A100D-20C on VF0 blocks every other time-sliced type.
        self.assertEqual(0, available(base.VF1, 'A100D-10C'))

    def test_gpu_instance_without_ci_is_not_available(self):
        with self.backend_.host.transaction() as state:
            gpu = state.gpus[0]
            gi = [g for g in gpu['gpu_instances'] if g['start'] == 1][0]
            gi['compute_instances'] = []
        name = os.path.join(self.type_dir(self.backend_, base.VF1,
                                          'A100D-1-10C'),
                            'available_instances')
        with open(name) as stream:
            self.assertEqual('0', stream.read().strip())

    def test_vendor_vfio_tree(self):
        backend = self.backend(host_file=base.example(
            'h200-vendor-vfio.yaml'))
        root = backend.sysfs_root()
        self.assertFalse(os.path.exists(os.path.join(root, 'class',
                                                     'mdev_bus')))
        vf = os.path.join(root, 'bus/pci/devices/0000:1b:00.4')
        self.assertFalse(os.path.exists(os.path.join(
            vf, 'mdev_supported_types')))
        with open(os.path.join(vf, 'nvidia/current_vgpu_type')) as f:
            self.assertEqual('1414', f.read().strip())
        with open(os.path.join(vf, 'nvidia/creatable_vgpu_types')) as f:
            self.assertEqual(['ID    : vGPU Name'], f.read().splitlines())
        self.assertEqual(1, len(os.listdir(os.path.join(vf, 'vfio-dev'))))
        free = os.path.join(root, 'bus/pci/devices/0000:1b:00.7')
        self.assertFalse(os.path.exists(os.path.join(free, 'vfio-dev')))
        with open(os.path.join(free, 'nvidia/current_vgpu_type')) as f:
            self.assertEqual('0', f.read().strip())
        with open(os.path.join(free, 'nvidia/creatable_vgpu_types')) as f:
            lines = f.read().splitlines()
        # Two 1g.18gb and the 1g.35gb are still free; 2g.35gb is taken.
        self.assertEqual(['1414  : NVIDIA H200X-1-18C',
                          '1416  : NVIDIA H200X-1-35C'], lines[1:])

    def test_t4_pf_is_mdev_parent(self):
        backend = self.backend(host_file=base.example('t4-orphans.yaml'))
        root = backend.sysfs_root()
        self.assertEqual(['0000:3b:00.0', '0000:d8:00.0'],
                         sorted(os.listdir(os.path.join(root, 'class',
                                                        'mdev_bus'))))
        pf = os.path.join(root, 'bus/pci/devices/0000:3b:00.0')
        self.assertFalse(os.path.exists(os.path.join(pf, 'sriov_totalvfs')))

        def available(parent, name):
            path = os.path.join(self.type_dir(backend, parent, name),
                                'available_instances')
            with open(path) as stream:
                return int(stream.read())
        # The orphan T4-8C blocks every other type on GPU 0.
        self.assertEqual(0, available('0000:3b:00.0', 'T4-4C'))
        self.assertEqual(1, available('0000:3b:00.0', 'T4-8C'))
        # GPU 1 holds three T4-4C of four.
        self.assertEqual(1, available('0000:d8:00.0', 'T4-4C'))
        self.assertEqual(0, available('0000:d8:00.0', 'T4-2Q'))
        type_dir = self.type_dir(backend, '0000:d8:00.0', 'T4-4C')
        self.assertEqual(3, len(os.listdir(os.path.join(type_dir,
                                                        'devices'))))
        with open(os.path.join(type_dir, 'description')) as stream:
            self.assertIn('max_instance=4', stream.read())
