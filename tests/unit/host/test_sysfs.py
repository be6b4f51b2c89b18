"""Tests for the sysfs reader on trees laid out as the kernel does."""

import os

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.model import constants
from tests import base
from tests.unit.host import fakes


UUID1 = '5d3c2b1a-0000-4000-8000-000000000001'
UUID2 = '5d3c2b1a-0000-4000-8000-000000000002'


class TestMdevHost(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = fakes.Tree(os.path.join(self.tmpdir, 'sys'))
        self.tree.pci('0000:41:00.0', total_vfs=20)
        for vf in ('0000:41:00.4', '0000:41:00.5'):
            self.tree.pci(vf, pf='0000:41:00.0')
        self.tree.mdev_parent('0000:41:00.4', {
            'nvidia-700': ('NVIDIA A100D-1-10C', 0),
            'nvidia-701': ('NVIDIA A100D-2-20C', 0)})
        self.tree.mdev_parent('0000:41:00.5', {
            'nvidia-700': ('NVIDIA A100D-1-10C', 1),
            'nvidia-701': ('NVIDIA A100D-2-20C', 0)})
        self.tree.mdev('0000:41:00.4', 'nvidia-700', UUID1, 57)
        self.reader = sysfs.SysfsReader(self.tree.root)

    def test_parents_and_types(self):
        parents = self.reader.mdev_parents()
        self.assertEqual(['0000:41:00.4', '0000:41:00.5'],
                         [p.address for p in parents])
        self.assertEqual({'0000:41:00.0'}, {p.pf_address for p in parents})
        first = parents[0]
        self.assertEqual(constants.MODE_MDEV, first.mode)
        self.assertEqual(['nvidia-700', 'nvidia-701'],
                         [t.id for t in first.types])
        t700 = first.types[0]
        self.assertEqual('NVIDIA A100D-1-10C', t700.name)
        self.assertEqual(0, t700.available_instances)
        self.assertEqual((UUID1,), t700.devices)
        self.assertEqual('10240M', t700.description['framebuffer'])
        self.assertEqual('1', t700.description['max_instance'])
        self.assertEqual(1, parents[1].types[0].available_instances)

    def test_mdevs(self):
        mdevs = self.reader.mdevs()
        self.assertEqual(1, len(mdevs))
        self.assertEqual(UUID1, mdevs[0].uuid)
        self.assertEqual('nvidia-700', mdevs[0].type_id)
        self.assertEqual('0000:41:00.4', mdevs[0].parent)
        self.assertEqual(57, mdevs[0].iommu_group)

    def test_sriov(self):
        pf = self.reader.sriov('0000:41:00.0')
        self.assertEqual(20, pf.total_vfs)
        self.assertEqual(2, pf.num_vfs)
        self.assertEqual(('0000:41:00.4', '0000:41:00.5'), pf.vfs)
        self.assertIsNone(self.reader.sriov('0000:41:00.4'))
        self.assertEqual('0000:41:00.0', self.reader.pf_of('0000:41:00.5'))
        self.assertEqual('0000:41:00.0', self.reader.pf_of('0000:41:00.0'))

    def test_mode(self):
        self.assertEqual(constants.MODE_MDEV, self.reader.device_mode())

    def test_unreadable_attribute_names_the_file(self):
        path = os.path.join(self.tree.dev_dir('0000:41:00.5'),
                            'mdev_supported_types/nvidia-701/'
                            'available_instances')
        with open(path, 'w') as f:
            f.write('many\n')
        where = '0000:41:00.5/mdev_supported_types/nvidia-701/' \
            'available_instances'
        e = self.assertRaises(exception.SysfsError, self.reader.mdev_parents)
        self.assertIn(where, str(e))
        self.assertIn("'many'", str(e))
        os.unlink(path)
        e = self.assertRaises(exception.SysfsError, self.reader.mdev_parents)
        self.assertIn(where, str(e))
        self.assertIn('No such file', str(e))


class TestVendorVfioHost(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = fakes.Tree(os.path.join(self.tmpdir, 'sys'))
        self.tree.pci('0000:c1:00.0', total_vfs=32)
        self.tree.pci('0000:c1:00.4', pf='0000:c1:00.0')
        self.tree.pci('0000:c1:00.5', pf='0000:c1:00.0')
        self.tree.vendor_vf('0000:c1:00.4', [], current=1414)
        self.tree.vendor_vf('0000:c1:00.5', [(1414, 'NVIDIA H200X-1-18C'),
                                             (1415, 'NVIDIA H200X-2-35C')])
        self.reader = sysfs.SysfsReader(self.tree.root)

    def test_vendor_parents(self):
        parents = self.reader.vendor_vfio_parents()
        self.assertEqual(['0000:c1:00.4', '0000:c1:00.5'],
                         [p.address for p in parents])
        self.assertEqual(1414, parents[0].current_type)
        self.assertEqual((), parents[0].types)
        self.assertEqual(0, parents[1].current_type)
        self.assertEqual([('1414', 'NVIDIA H200X-1-18C'),
                          ('1415', 'NVIDIA H200X-2-35C')],
                         [(t.id, t.name) for t in parents[1].types])
        self.assertEqual({'0000:c1:00.0'}, {p.pf_address for p in parents})

    def test_mode(self):
        self.assertEqual([], self.reader.mdev_parents())
        self.assertEqual(constants.MODE_VENDOR_VFIO, self.reader.device_mode())

    def test_no_gpu_at_all(self):
        reader = sysfs.SysfsReader(os.path.join(self.tmpdir, 'empty'))
        self.assertEqual(constants.MODE_NONE, reader.device_mode())
        self.assertEqual([], reader.mdevs())


class TestParsers(base.TestCase):

    def test_description(self):
        self.assertEqual(
            {'num_heads': '4', 'frl_config': '45', 'framebuffer': '1024M',
             'max_resolution': '5120x2880', 'max_instance': '16'},
            sysfs.SysfsReader.parse_description(
                'num_heads=4, frl_config=45, framebuffer=1024M, '
                'max_resolution=5120x2880, max_instance=16'))
        self.assertEqual({}, sysfs.SysfsReader.parse_description(''))

    def test_creatable(self):
        self.assertEqual(
            [(1414, 'NVIDIA H200X-1-18C'), (1417, 'NVIDIA H200X-7-141C')],
            sysfs.SysfsReader.parse_creatable(
                '1414 : NVIDIA H200X-1-18C\n\ngarbage\n'
                '1417 : NVIDIA H200X-7-141C\n'))
