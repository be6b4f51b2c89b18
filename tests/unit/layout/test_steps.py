# SPDX-License-Identifier: Apache-2.0

"""Each kind of layout step: what it says, destroys and does."""

import dataclasses
import errno
import os
from unittest import mock

from nova_mig import exception
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.layout import step_types
from nova_mig.model import gpu_records
from tests import base as test_base
from tests.unit.layout import fakes

PF = '0000:41:00.0'
GPU_UUID = 'GPU-00000000-0000-4000-8000-000000000000'
VFS = ('0000:41:00.4', '0000:41:00.5')
MDEV = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
AT_0_4 = gpu_records.Placement(0, 4)
ON = dict(gpu=PF, gpu_uuid=GPU_UUID, reason='why')


class StepTestCase(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmpdir, 'sys')
        pf = os.path.join(self.root, sysfs.PCI_DEVICES, PF)
        os.makedirs(pf)
        with open(os.path.join(pf, 'sriov_totalvfs'), 'w') as f:
            f.write('2\n')
        for n, vf in enumerate(VFS):
            os.makedirs(os.path.join(self.root, sysfs.PCI_DEVICES, vf))
            os.symlink('../' + vf, os.path.join(pf, 'virtfn%d' % n))
        self.ctx = fakes.FakeContext(self.root)

    def effects(self):
        return [c[0] for c in self.ctx.calls.mock_calls]


class TestVgpuSteps(StepTestCase):

    def remove_mdev(self, **kw):
        return step_types.RemoveMdev(type_name='A100D-1-10C', vf=0,
                                     parent=VFS[0], uuid=MDEV, **ON, **kw)

    def test_remove_mdev(self):
        step = self.remove_mdev(node_device='mdev_x')
        self.assertEqual('remove-vgpu', step.kind)
        self.assertEqual('remove vGPU %s (A100D-1-10C) from VF 0 (%s)'
                         % (MDEV, VFS[0]), step.describe())
        self.assertEqual([inuse.Target(inuse.MDEV, MDEV)],
                         step.destroys(self.ctx.reader))
        self.assertEqual((MDEV, VFS[0]), step.removes())
        self.assertEqual(MDEV, step.key)
        self.assertTrue(step.looked_after)
        step.execute(self.ctx)
        self.assertEqual(['writer.remove_mdev', 'nodedevs.undefine',
                          'owned.discard'], self.effects())
        self.ctx.owned.discard.assert_called_once_with(MDEV)
        self.assertIn('mdevctl start -u %s -p %s' % (MDEV, VFS[0]),
                      step.lost_fix(inuse.Target(inuse.MDEV, MDEV)))

    def test_an_mdev_already_gone_is_forgotten(self):
        self.ctx.writer.remove_mdev.side_effect = OSError(errno.ENODEV, 'x')
        self.remove_mdev().execute(self.ctx)
        self.ctx.owned.discard.assert_called_once_with(MDEV)
        self.ctx.writer.remove_mdev.side_effect = OSError(errno.EBUSY, 'x')
        self.assertRaises(OSError, self.remove_mdev().execute, self.ctx)

    def test_clear_vgpu_type(self):
        step = step_types.ClearVgpuType(type_name='DC-1-8Q', vf=1,
                                        parent=VFS[1],
                                        **ON)
        self.assertEqual('remove vGPU (DC-1-8Q) from VF 1 (%s)' % VFS[1],
                         step.describe())
        self.assertEqual([inuse.Target(inuse.FUNCTION, VFS[1])],
                         step.destroys(self.ctx.reader))
        self.assertEqual((VFS[1],), step.removes())
        step.execute(self.ctx)
        self.assertEqual(['writer.clear_vgpu_type', 'owned.discard'],
                         self.effects())
        self.assertIn('current_vgpu_type', step.lost_fix(
            inuse.Target(inuse.FUNCTION, VFS[1])))

    def create_mdev(self, **kw):
        values = dict(type_name='A100D-3-40C', vf=1, parent=None,
                      profile='3g.40gb', placement=AT_0_4, uuid=MDEV)
        values.update(kw)
        return step_types.CreateMdev(**ON, **values)

    def test_create_mdev_on_a_vf_the_planner_picked(self):
        step = self.create_mdev()
        self.assertEqual('create vGPU A100D-3-40C %s on VF 1 for 3g.40gb '
                         'at 0:4' % MDEV, step.describe())
        self.assertEqual([], step.destroys(self.ctx.reader))
        # The VF a guest references is not free for another vGPU.
        self.assertEqual([inuse.Target(inuse.FUNCTION, VFS[1])],
                         step.targets(self.ctx))
        self.assertEqual([], self.create_mdev(vf_given=True).targets(
            self.ctx))
        ran = step.resolve(self.ctx)
        self.assertEqual(VFS[1], ran.parent)
        self.assertIsNone(step.parent)
        self.assertIn('on VF 1 (%s)' % VFS[1], ran.describe())

    def test_create_mdev_records_the_intent_first(self):
        reader = mock.create_autospec(sysfs.SysfsReader, instance=True)
        reader.vf_address.return_value = VFS[1]
        reader.mdev_type_named.return_value = 'nvidia-700'
        self.ctx.reader = reader
        self.create_mdev().execute(self.ctx)
        self.assertEqual(['owned.intend', 'writer.create_mdev', 'owned.add',
                          'nodedevs.define'], self.effects())
        self.ctx.owned.intend.assert_called_once_with(
            MDEV, gpu=PF, parent=VFS[1], type='A100D-3-40C',
            source='layout', profile='3g.40gb', placement=0)
        self.ctx.writer.create_mdev.assert_called_once_with(
            VFS[1], 'nvidia-700', MDEV)

    def test_no_parent_is_a_failure_not_a_crash(self):
        step = self.create_mdev(vf=None, parent=None)
        self.assertIn('the GPU', step.describe())
        error = self.assertRaises(exception.GpuOperationRefused,
                                  step.execute, self.ctx)
        self.assertIn('no free VF', str(error))

    def test_set_vgpu_type(self):
        reader = mock.create_autospec(sysfs.SysfsReader, instance=True)
        reader.vf_address.return_value = VFS[0]
        reader.creatable_id.return_value = 1414
        self.ctx.reader = reader
        step = step_types.SetVgpuType(type_name='DC-1-8Q', vf=0, parent=None,
                                      **ON)
        self.assertEqual('create vGPU DC-1-8Q on VF 0', step.describe())
        step.execute(self.ctx)
        self.assertEqual(['owned.intend', 'writer.set_vgpu_type',
                          'owned.add'], self.effects())
        self.ctx.writer.set_vgpu_type.assert_called_once_with(VFS[0], 1414)
        self.assertEqual('1414',
                         self.ctx.owned.intend.call_args.kwargs['type_id'])
        self.ctx.owned.add.assert_called_once_with(
            VFS[0], vgpu_uuid='vgpu-of-' + VFS[0])


class TestMigSteps(StepTestCase):

    def test_destroy_compute_instance(self):
        step = step_types.DestroyComputeInstance(profile='3g.40gb',
                                                 placement=AT_0_4, gi_id=2,
                                                 ci_id=0, **ON)
        self.assertEqual('destroy-ci', step.kind)
        self.assertEqual('destroy compute instance 0 of GPU instance 2 '
                         '(3g.40gb at 0:4)', step.describe())
        self.assertEqual([inuse.Target(inuse.GPU_INSTANCE, GPU_UUID,
                                       gi_id=2)],
                         step.destroys(self.ctx.reader))
        self.assertFalse(step.looked_after)
        step.execute(self.ctx)
        self.ctx.backend.destroy_compute_instance.assert_called_once_with(
            GPU_UUID, 2, 0)

    def test_destroy_gpu_instance(self):
        step = step_types.DestroyGpuInstance(profile='3g.40gb',
                                             placement=AT_0_4,
                                             gi_id=2, **ON)
        self.assertEqual('destroy GPU instance 2 (3g.40gb at 0:4)',
                         step.describe())
        self.assertEqual([inuse.Target(inuse.GPU_INSTANCE, GPU_UUID,
                                       gi_id=2)],
                         step.destroys(self.ctx.reader))
        step.execute(self.ctx)
        self.ctx.backend.destroy_gpu_instance.assert_called_once_with(
            GPU_UUID, 2)

    def test_create_instances_the_compute_one_on_the_new_gpu_instance(self):
        gi = step_types.CreateGpuInstance(profile='3g.40gb', profile_id=2,
                                          placement=AT_0_4, **ON)
        ci = step_types.CreateComputeInstance(profile='3g.40gb',
                                              placement=AT_0_4, **ON)
        self.assertEqual('create GPU instance 3g.40gb at 0:4',
                         gi.describe())
        self.assertEqual('create compute instance on 3g.40gb at 0:4',
                         ci.describe())
        self.assertEqual([], gi.destroys(self.ctx.reader))
        self.ctx.backend.create_gpu_instance.return_value = \
            gpu_records.GpuInstance(id=7, profile_id=2, profile_name='3g.40gb',
                                    placement=AT_0_4)
        gi.execute(self.ctx)
        ci.execute(self.ctx)
        self.ctx.backend.create_gpu_instance.assert_called_once_with(
            GPU_UUID, 2, AT_0_4)
        self.ctx.backend.create_compute_instance.assert_called_once_with(
            GPU_UUID, 7)

    def test_compute_instance_of_a_kept_gpu_instance(self):
        step_types.CreateComputeInstance(profile='3g.40gb', placement=AT_0_4,
                                         gi_id=3, **ON).execute(self.ctx)
        self.ctx.backend.create_compute_instance.assert_called_once_with(
            GPU_UUID, 3)


class TestGpuSteps(StepTestCase):

    def test_vf_count_to_zero_destroys_every_vf(self):
        step = step_types.SetVfCount(count=0, **ON)
        self.assertEqual('set-numvfs', step.kind)
        self.assertEqual('set SR-IOV VFs to 0', step.describe())
        self.assertEqual(
            [inuse.Target(inuse.FUNCTION, vf,
                          role='removed by the VF-count change')
             for vf in VFS], step.destroys(self.ctx.reader))
        self.assertEqual([], step_types.SetVfCount(count=2, **ON).destroys(
            self.ctx.reader))
        self.assertIn('previous sriov_vfs', step.lost_fix(
            inuse.Target(inuse.FUNCTION, VFS[0])))
        step.execute(self.ctx)
        self.ctx.writer.set_sriov_numvfs.assert_called_once_with(PF, 0)

    def test_vendor_vfio_goes_through_sriov_manage(self):
        tool = os.path.join(self.tmpdir, 'sriov-manage')
        with open(tool, 'w'):
            pass
        self.ctx.sriov_manage = tool
        step_types.SetVfCount(count=2, vendor_vfio=True,
                              **ON).execute(self.ctx)
        self.ctx.writer.sriov_manage.assert_called_once_with(tool, PF, True)
        self.ctx.writer.set_sriov_numvfs.assert_not_called()

    def test_vendor_vfio_refusal_names_the_fix(self):
        self.ctx.writer.set_sriov_numvfs.side_effect = OSError(
            errno.EPERM, 'Operation not permitted')
        error = self.assertRaises(
            exception.GpuOperationRefused,
            step_types.SetVfCount(count=1, vendor_vfio=True, **ON).execute,
            self.ctx)
        self.assertIn('sriov-manage', str(error))
        self.assertIn('not installed', str(error))
        # Outside vendor-specific VFIO the kernel's error is the error.
        self.assertRaises(OSError, step_types.SetVfCount(count=1,
                                                         **ON).execute,
                          self.ctx)

    def test_mig_mode(self):
        step = step_types.SetMigMode(mig=True, **ON)
        self.assertEqual('set-mig-mode', step.kind)
        self.assertEqual('enable MIG mode', step.describe())
        self.assertEqual('disable MIG mode',
                         step_types.SetMigMode(mig=False, **ON).describe())
        self.assertEqual([], step.destroys(self.ctx.reader))
        self.ctx.backend.set_mig_mode.return_value = (1, 1)
        step.execute(self.ctx)
        self.ctx.backend.reset_gpu.assert_not_called()

    def test_pending_mig_mode_needs_a_reset_of_an_idle_gpu(self):
        step = step_types.SetMigMode(mig=True, **ON)
        self.ctx.backend.set_mig_mode.return_value = (0, 1)
        error = self.assertRaises(exception.GpuOperationRefused,
                                  step.execute, self.ctx)
        self.assertIn('nvidia-smi --gpu-reset -i %s' % PF, str(error))
        self.ctx.reset_gpu = True
        self.ctx.users = ['GPU instance 1']
        error = self.assertRaises(exception.GpuOperationRefused,
                                  step.execute, self.ctx)
        self.assertIn('not idle (GPU instance 1)', str(error))
        self.ctx.backend.reset_gpu.assert_not_called()
        self.ctx.users = []
        self.ctx.backend.list_gpus.return_value = []
        step.execute(self.ctx)
        self.ctx.backend.reset_gpu.assert_called_once_with(GPU_UUID, PF)


class TestImmutable(test_base.TestCase):

    def test_a_step_cannot_change(self):
        step = step_types.SetVfCount(count=0, **ON)
        self.assertRaises(dataclasses.FrozenInstanceError, setattr, step,
                          'count', 4)

    def test_the_shared_kinds_cannot_be_made(self):
        # The vGPU removal and creation are abstract: a plan holds the
        # mdev or the vendor-VFIO kind.
        self.assertRaises(TypeError, step_types.RemoveVgpu, type_name='T',
                          vf=None, parent=PF, **ON)
        self.assertRaises(TypeError, step_types.CreateVgpu, type_name='T',
                          vf=None, parent=PF, **ON)
