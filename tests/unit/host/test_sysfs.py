# SPDX-License-Identifier: Apache-2.0

"""Tests for the sysfs reader on trees laid out as the kernel does."""

import errno
import os
from unittest import mock

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.model import constants
from nova_mig import sysfs_gateway
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

    def test_type_attributes_read_once_per_pf(self):
        # name, description and device_api belong to the type on its GPU:
        # the second VF's are not read; its available_instances is.
        type_dir = os.path.join(self.tree.dev_dir('0000:41:00.5'),
                                'mdev_supported_types/nvidia-700')
        for name in ('name', 'description', 'device_api'):
            os.unlink(os.path.join(type_dir, name))
        first, second = self.reader.mdev_parents()
        self.assertEqual(first.types[0].name, second.types[0].name)
        self.assertEqual(first.types[0].description,
                         second.types[0].description)
        self.assertEqual((0, 1), (first.types[0].available_instances,
                                  second.types[0].available_instances))
        self.assertEqual(((UUID1,), ()), (first.types[0].devices,
                                          second.types[0].devices))

    def test_other_pf_reads_its_own_type_attributes(self):
        self.tree.pci('0000:81:00.0', total_vfs=20)
        self.tree.pci('0000:81:00.4', pf='0000:81:00.0')
        self.tree.mdev_parent('0000:81:00.4', {
            'nvidia-700': ('NVIDIA A100X-1-10C', 2)})
        parents = self.reader.mdev_parents()
        self.assertEqual(
            ['NVIDIA A100D-1-10C', 'NVIDIA A100D-1-10C',
             'NVIDIA A100X-1-10C'],
            [p.types[0].name for p in parents])
        self.assertEqual(2, parents[2].types[0].available_instances)

    def test_description_is_optional(self):
        type_dir = os.path.join(self.tree.dev_dir('0000:41:00.4'),
                                'mdev_supported_types/nvidia-701')
        os.unlink(os.path.join(type_dir, 'description'))
        t701 = self.reader.mdev_parents()[0].types[1]
        self.assertEqual({}, t701.description)
        self.assertEqual('NVIDIA A100D-2-20C', t701.name)

    def test_attribute_not_utf8_names_the_file(self):
        path = os.path.join(self.tree.dev_dir('0000:41:00.4'),
                            'mdev_supported_types/nvidia-700/name')
        with open(path, 'wb') as f:
            f.write(b'NVIDIA \xff\xfe\n')
        e = self.assertRaises(exception.SysfsError, self.reader.mdev_parents)
        self.assertIn('nvidia-700/name', str(e))
        self.assertIn('not UTF-8', str(e))

    def test_long_attribute_read_whole(self):
        # A regular file (a generated tree) may exceed one read(2).
        path = os.path.join(self.tree.dev_dir('0000:41:00.4'),
                            'mdev_supported_types/nvidia-700/description')
        text = 'framebuffer=10240M, ' + 'x' * (3 * sysfs_gateway._CHUNK) + '=1'
        with open(path, 'w') as f:
            f.write(text + '\n')
        self.assertEqual(text, self.reader.read(path))
        self.assertEqual(
            '1', self.reader.mdev_parents()[0].types[0].description[
                'x' * (3 * sysfs_gateway._CHUNK)])


class TestVendorVfioHost(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tree = fakes.Tree(os.path.join(self.tmpdir, 'sys'))
        self.tree.pci('0000:c1:00.0', total_vfs=32)
        self.tree.pci('0000:c1:00.4', pf='0000:c1:00.0')
        self.tree.pci('0000:c1:00.5', pf='0000:c1:00.0')
        self.tree.vendor_vf('0000:c1:00.4', [], current=1414,
                            gpu_instance=5, placement=2,
                            params='frame_rate_limiter=0, foo=bar')
        self.tree.vendor_vf('0000:c1:00.5', [(1414, 'NVIDIA H200X-1-18C'),
                                             (1415, 'NVIDIA H200X-2-35C')])
        self.reader = sysfs.SysfsReader(self.tree.root)

    def test_vgpu_files_of_a_carrying_vf(self):
        parents = self.reader.vendor_vfio_parents()
        self.assertEqual(5, parents[0].gpu_instance_id)
        self.assertEqual(2, parents[0].placement_id)
        self.assertEqual({'frame_rate_limiter': '0', 'foo': 'bar'},
                         parents[0].vgpu_params)
        # No vGPU, no files: nothing to say.
        self.assertIsNone(parents[1].gpu_instance_id)
        self.assertIsNone(parents[1].placement_id)
        self.assertEqual({}, parents[1].vgpu_params)

    def test_gpu_instance_id_enxio_means_none(self):
        path = os.path.join(self.tree.dev_dir('0000:c1:00.4'), 'nvidia',
                            'gpu_instance_id')
        real_open = os.open

        def enxio_open(name, *args, **kwargs):
            if name == os.path.join(self.tree.root, 'bus/pci/devices',
                                    '0000:c1:00.4', 'nvidia',
                                    'gpu_instance_id'):
                raise OSError(errno.ENXIO, os.strerror(errno.ENXIO), name)
            return real_open(name, *args, **kwargs)
        self.assertTrue(os.path.exists(path))
        with mock.patch('os.open', enxio_open):
            parents = self.reader.vendor_vfio_parents()
        self.assertIsNone(parents[0].gpu_instance_id)
        self.assertEqual(2, parents[0].placement_id)

    def test_other_read_errors_name_the_file(self):
        real_open = os.open

        def eio_open(name, *args, **kwargs):
            if name.endswith('placement_id'):
                raise OSError(errno.EIO, os.strerror(errno.EIO), name)
            return real_open(name, *args, **kwargs)
        with mock.patch('os.open', eio_open):
            exc = self.assertRaises(exception.SysfsError,
                                    self.reader.vendor_vfio_parents)
        self.assertIn('placement_id', str(exc))

    def test_creatable_lines_without_colon(self):
        self.tree.pci('0000:c1:00.6', pf='0000:c1:00.0')
        self.tree.vendor_vf('0000:c1:00.6', [(1414, 'NVIDIA H200X-1-18C')],
                            colon=False)
        parents = self.reader.vendor_vfio_parents()
        self.assertEqual([('1414', 'NVIDIA H200X-1-18C')],
                         [(t.id, t.name) for t in parents[2].types])

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
        self.assertEqual(
            [(1414, 'NVIDIA H200X-1-18C'), (1417, 'NVIDIA H200X-7-141C')],
            sysfs.SysfsReader.parse_creatable(
                'ID    : vGPU Name\n1414 NVIDIA H200X-1-18C\n1415\n'
                '  1417   NVIDIA H200X-7-141C  \n'))
