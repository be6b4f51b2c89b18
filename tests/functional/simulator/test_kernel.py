# SPDX-License-Identifier: Apache-2.0

"""sysfs writes on the simulated host: accepted and refused like Linux."""

import errno
import os

from tests.functional.simulator import base


class TestSysfsWriter(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.backend_ = self.backend()
        self.writer = self.backend_.sysfs_writer()

    def state_json(self):
        with open(self.backend_.host.state_path) as stream:
            return stream.read()

    def assertRefused(self, code, path, value):
        before = self.state_json()
        exc = self.assertRaises(OSError, self.writer.write, path, value)
        self.assertEqual(code, exc.errno, exc)
        self.assertEqual(before, self.state_json())
        return exc

    def create_path(self, parent, name):
        return os.path.join(self.type_dir(self.backend_, parent, name),
                            'create')

    def test_create_and_remove_mdev(self):
        self.writer.write(self.create_path(base.VF1, 'A100D-1-10C'),
                          base.UUID2)
        mdev = self.sys(self.backend_, 'bus', 'mdev', 'devices', base.UUID2)
        self.assertTrue(os.path.isdir(mdev))
        with open(os.path.join(mdev, 'mdev_type', 'name')) as stream:
            self.assertEqual('NVIDIA A100D-1-10C', stream.read().strip())
        gpu = self.backend_.list_gpus()[0]
        active = {v.mdev_uuid: v for v in gpu.active_vgpus}
        gi = {g.id: g for g in gpu.gpu_instances}[
            active[base.UUID2].gpu_instance_id]
        self.assertEqual(1, gi.placement.start)
        # The last free 1g.10gb with a CI is taken now.
        with open(os.path.join(self.type_dir(self.backend_, base.VF2,
                                             'A100D-1-10C'),
                               'available_instances')) as stream:
            self.assertEqual('0', stream.read().strip())
        self.writer.write(os.path.join(mdev, 'remove'), '1')
        self.assertFalse(os.path.exists(mdev))
        self.assertNotIn(base.UUID2, [
            v.mdev_uuid for v in self.backend_.list_gpus()[0].active_vgpus])

    def test_create_through_any_link(self):
        path = os.path.join(
            self.sys(self.backend_, 'bus', 'pci', 'devices', base.VF1),
            'mdev_supported_types',
            os.path.basename(self.type_dir(self.backend_, base.VF1,
                                           'A100D-3-40C')), 'create')
        self.writer.write(path, base.UUID2 + '\n')
        self.assertTrue(os.path.isdir(self.sys(
            self.backend_, 'class', 'mdev_bus', base.VF1, base.UUID2)))

    def test_create_bad_uuid(self):
        self.assertRefused(errno.EINVAL, self.create_path(
            base.VF1, 'A100D-1-10C'), 'not-a-uuid')

    def test_create_duplicate(self):
        self.assertRefused(errno.EEXIST, self.create_path(
            base.VF1, 'A100D-1-10C'), base.UUID1)

    def test_create_no_instance_available(self):
        exc = self.assertRefused(errno.ENOSPC, self.create_path(
            base.VF1, 'A100D-2-20C'), base.UUID2)
        self.assertIn('A100D-2-20C', str(exc))
        # A VF carries one vGPU only.
        self.assertRefused(errno.ENOSPC, self.create_path(
            base.VF0, 'A100D-3-40C'), base.UUID2)

    def test_remove_in_use_is_a_tripwire(self):
        path = self.sys(self.backend_, 'bus', 'mdev', 'devices', base.UUID1,
                        'remove')
        exc = self.assertRefused(errno.EBUSY, path, '1')
        self.assertIn('BLOCK', str(exc))
        self.assertIn('instance-1', str(exc))

    def test_remove_needs_one(self):
        with self.backend_.host.transaction() as state:
            state.domains[0]['state'] = 'shutoff'
        path = self.sys(self.backend_, 'bus', 'mdev', 'devices', base.UUID1,
                        'remove')
        self.assertRefused(errno.EINVAL, path, '0')
        # A shut-off domain does not hold the device open.
        self.writer.write(path, '1')
        self.assertFalse(os.path.exists(os.path.dirname(path)))

    def test_read_only_and_missing_attributes(self):
        pf = self.sys(self.backend_, 'bus', 'pci', 'devices', base.PF)
        self.assertRefused(errno.EACCES, os.path.join(pf, 'vendor'), '1')
        self.assertRefused(errno.ENOENT, os.path.join(pf, 'nope'), '1')
        self.assertRefused(errno.EISDIR, pf, '1')
        self.assertRefused(errno.EACCES, os.path.join(self.tmpdir, 'x'), '1')

    def test_sriov_numvfs(self):
        numvfs = os.path.join(self.sys(self.backend_, 'bus', 'pci', 'devices',
                                       base.PF), 'sriov_numvfs')
        self.assertRefused(errno.ERANGE, numvfs, '21')
        self.assertRefused(errno.EBUSY, numvfs, '8')
        self.assertRefused(errno.EINVAL, numvfs, 'many')
        # VF0 still carries a vGPU.
        exc = self.assertRefused(errno.EBUSY, numvfs, '0')
        self.assertIn(base.UUID1, str(exc))
        self.writer.write(numvfs, '4')       # same value: no-op
        with self.backend_.host.transaction() as state:
            state.domains[0]['state'] = 'shutoff'
        self.writer.write(self.sys(self.backend_, 'bus', 'mdev', 'devices',
                                   base.UUID1, 'remove'), '1')
        self.writer.write(numvfs, '0')
        self.assertFalse(os.path.exists(self.sys(
            self.backend_, 'bus', 'pci', 'devices', base.VF0)))
        self.assertFalse(os.path.exists(self.sys(
            self.backend_, 'class', 'mdev_bus', base.VF0)))
        self.writer.write(numvfs, '20')
        self.assertTrue(os.path.isdir(self.sys(
            self.backend_, 'bus', 'pci', 'devices', '0000:41:02.7')))
        self.assertEqual('20', self.read(self.backend_, 'bus', 'pci',
                                         'devices', base.PF, 'sriov_numvfs'))


class TestVendorVfioWriter(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.backend_ = self.backend(host_file=base.example(
            'h200-vendor-vfio.yaml'))
        self.writer = self.backend_.sysfs_writer()

    def current(self, vf):
        return self.sys(self.backend_, 'bus', 'pci', 'devices', vf,
                        'nvidia', 'current_vgpu_type')

    def test_create_and_delete(self):
        vf = '0000:1b:00.7'
        self.writer.write(self.current(vf), '1414')
        self.assertEqual('1414', self.read(self.backend_, 'bus', 'pci',
                                           'devices', vf, 'nvidia',
                                           'current_vgpu_type'))
        gpu = self.backend_.list_gpus()[0]
        self.assertEqual(4, len(gpu.active_vgpus))
        self.writer.write(self.current(vf), '0')
        self.assertEqual('0', self.read(self.backend_, 'bus', 'pci',
                                        'devices', vf, 'nvidia',
                                        'current_vgpu_type'))
        self.assertEqual(3, len(self.backend_.list_gpus()[0].active_vgpus))

    def test_refusals(self):
        before = self.backend_.host.load().data
        # Not creatable: the only 2g.35gb carries a vGPU already.
        exc = self.assertRaises(OSError, self.writer.write,
                                self.current('0000:1b:00.7'), '1417')
        self.assertEqual(errno.EINVAL, exc.errno)
        self.assertIn('1414', str(exc))
        exc = self.assertRaises(OSError, self.writer.write,
                                self.current('0000:1b:00.5'), '1414')
        self.assertEqual(errno.EBUSY, exc.errno)
        # VF 0 is held by a running domain.
        exc = self.assertRaises(OSError, self.writer.write,
                                self.current('0000:1b:00.4'), '0')
        self.assertEqual(errno.EBUSY, exc.errno)
        self.assertEqual(before, self.backend_.host.load().data)
