"""Tests of the in-use check shared by layout apply, reap and retype."""

import os
import types

import libvirt

from nova_mig import exception
from nova_mig.host import inuse
from tests import base
from tests.unit.host import fakes

UUID = '11111111-2222-4333-8444-555555555555'
VF = '0000:c1:00.4'
GPU = 'GPU-0'


def _gpu(processes=(), vgpus=()):
    gi = types.SimpleNamespace(id=3, processes=tuple(processes))
    return types.SimpleNamespace(uuid=GPU, gpu_instances=(gi,),
                                 active_vgpus=tuple(vgpus))


class TestChecker(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = fakes.FakeConnection([
            fakes.FakeDomain('instance-1', fakes.domain_xml(
                'instance-1', fakes.MDEV % UUID)),
            fakes.FakeDomain('instance-2', fakes.domain_xml(
                'instance-2', fakes.PCI), state=libvirt.VIR_DOMAIN_SHUTOFF),
        ])
        self.libvirt = self.useFixture(fakes.FakeLibvirt(self.conn))
        self.root = os.path.join(self.tmpdir, 'sys')
        tree = fakes.Tree(self.root)
        tree.pci(VF)
        self.proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(self.proc)
        self.dev = os.path.join(self.tmpdir, 'dev')
        self.backend = fakes.FakeBackend(self.conf, [_gpu()], self.root)

    def checker(self, strict=True):
        return inuse.Checker(self.backend, self.proc, self.dev,
                             strict=strict)

    def test_domain_in_any_state_uses_its_device(self):
        verdict = self.checker().check(inuse.Target(inuse.MDEV, UUID))
        self.assertTrue(verdict.in_use)
        self.assertEqual('domain instance-1 (running)', verdict.reason())
        verdict = self.checker().check(inuse.Target(inuse.FUNCTION, VF))
        self.assertEqual('domain instance-2 (shutoff)', verdict.reason())

    def test_free_device(self):
        verdict = self.checker().check(inuse.Target(
            inuse.FUNCTION, '0000:c1:00.5'))
        self.assertFalse(verdict.in_use)

    def test_open_handle_uses_the_device(self):
        group = os.path.join(self.root, 'kernel', 'iommu_groups', '42')
        os.makedirs(group)
        os.symlink(group, os.path.join(
            self.root, 'devices/pci0000:40/0000:40:01.1', VF, 'iommu_group'))
        fd_dir = os.path.join(self.proc, '77', 'fd')
        os.makedirs(fd_dir)
        os.symlink(os.path.join(self.dev, 'vfio', '42'),
                   os.path.join(fd_dir, '9'))
        verdict = self.checker().check(inuse.Target(inuse.FUNCTION, VF))
        self.assertIn('held open by pid 77', verdict.users)

    def test_unreadable_handles_count_as_used_only_when_strict(self):
        self.proc = os.path.join(self.tmpdir, 'no-proc')
        target = inuse.Target(inuse.FUNCTION, '0000:c1:00.5')
        self.assertTrue(self.checker().check(target).in_use)
        lenient = self.checker(strict=False)
        self.assertFalse(lenient.check(target).in_use)
        self.assertEqual(1, len(lenient.notes))

    def test_gpu_instance_with_processes_or_vgpu(self):
        target = inuse.Target(inuse.GPU_INSTANCE, GPU, gi_id=3)
        self.assertFalse(self.checker().check(target).in_use)
        self.backend.gpus = [_gpu(processes=[4242])]
        self.assertEqual('processes 4242 on GPU instance 3',
                         self.checker().check(target).reason())
        self.backend.gpus = [_gpu(vgpus=[types.SimpleNamespace(
            gpu_instance_id=3, mdev_uuid=UUID, parent=VF)])]
        self.assertEqual('vGPU %s runs on GPU instance 3' % UUID,
                         self.checker().check(target).reason())

    def test_require_free_raises_for_the_used_target(self):
        e = self.assertRaises(
            exception.TargetInUse, self.checker().require_free,
            inuse.Target(inuse.FUNCTION, '0000:c1:00.5'),
            inuse.Target(inuse.MDEV, UUID))
        self.assertIn('vGPU %s is in use' % UUID, str(e))
        self.assertIn('instance-1 (running)', str(e))

    def test_libvirt_unreachable_is_an_error(self):
        self.libvirt.open_error = fakes.libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR)
        self.assertRaises(exception.LibvirtError, self.checker().check,
                          inuse.Target(inuse.MDEV, UUID))
