# SPDX-License-Identifier: Apache-2.0

"""The simulated GPU backend: NVML answers, card refusals, persistence."""

import os

import libvirt

from nova_mig import exception
from nova_mig import gpu as gpu_mod
from nova_mig.model import gpu_records
from nova_mig.simulator import backend as simulated
from nova_mig.simulator import sysfs
from tests.functional.simulator import base


class TestBackend(base.SimulatorTestCase):

    def setUp(self):
        super().setUp()
        self.backend_ = self.backend()
        self.gpu = self.backend_.list_gpus()[0]

    def assertRefused(self, code, func, *args):
        before = self.backend_.host.load().data
        exc = self.assertRaises(exception.GpuOperationRefused, func, *args)
        self.assertEqual(code, exc.code)
        self.assertEqual(before, self.backend_.host.load().data)
        return exc

    def test_loaded_by_entry_point(self):
        self.flags(backend='simulated', group='gpu')
        self.assertIsInstance(gpu_mod.load_backend(self.conf),
                              simulated.SimulatedBackend)

    def test_missing_host_file(self):
        self.flags(host_file=None, group='simulator')
        exc = self.assertRaises(exception.ConfigError,
                                simulated.SimulatedBackend, self.conf)
        self.assertIn('[simulator]host_file', str(exc))

    def test_work_dir_option(self):
        work = os.path.join(self.tmpdir, 'elsewhere')
        self.flags(work_dir=work, group='simulator')
        backend = simulated.SimulatedBackend(self.conf)
        self.assertEqual(os.path.join(work, 'sys'), backend.sysfs_root())
        self.assertTrue(os.path.isfile(os.path.join(work, 'state.json')))

    def test_list_gpus(self):
        gpu = self.gpu
        self.assertEqual('NVIDIA A100 80GB PCIe', gpu.name)
        self.assertEqual(0x20B510DE, gpu.pci_device_id)
        self.assertEqual((8, 0), gpu.compute_capability)
        self.assertTrue(gpu.mig_enabled)
        self.assertTrue(gpu.mig_capable)
        self.assertEqual(base.PF, gpu.pci_address)
        self.assertEqual([(0, 1), (1, 1), (2, 1), (4, 4)],
                         [(gi.placement.start, gi.placement.size)
                          for gi in gpu.gpu_instances])
        self.assertEqual(['1g.10gb', '1g.10gb', '1g.10gb', '3g.40gb'],
                         [gi.profile_name for gi in gpu.gpu_instances])
        self.assertEqual([1, 1, 0, 1], [len(gi.compute_instances)
                                        for gi in gpu.gpu_instances])
        self.assertEqual(2, gpu.gpu_instances[3].compute_instances[0]
                         .profile_id)
        [vgpu] = gpu.active_vgpus
        self.assertEqual(base.UUID1, vgpu.mdev_uuid)
        self.assertEqual('NVIDIA A100D-1-10C', [
            t.name for t in gpu.vgpu_types if t.id == vgpu.type_id][0])
        self.assertEqual(gpu.gpu_instances[0].id, vgpu.gpu_instance_id)

    def test_no_vgpu_manager(self):
        data = dict(base.MDEV_HOST, vgpu_manager=False, vgpus=[],
                    domains=[])
        gpu = self.backend(data).list_gpus()[0]
        self.assertIsNone(gpu.vgpu_types)

    def test_t4_has_no_profiles(self):
        backend = self.backend(host_file=base.example('t4-orphans.yaml'))
        gpus = backend.list_gpus()
        self.assertEqual(['Tesla T4', 'Tesla T4'], [g.name for g in gpus])
        self.assertFalse(gpus[0].mig_capable)
        self.assertEqual([None], [v.gpu_instance_id
                                  for v in gpus[0].active_vgpus])
        self.assertEqual(3, len(gpus[1].active_vgpus))

    def test_create_gpu_instance_first_free_placement(self):
        gi = self.backend_.create_gpu_instance(self.gpu.uuid, 19)
        self.assertEqual(gpu_records.Placement(3, 1), gi.placement)
        self.assertEqual((), gi.compute_instances)
        ci = self.backend_.create_compute_instance(self.gpu.uuid, gi.id)
        self.assertEqual(0, ci.profile_id)
        listed = {g.id: g for g in self.backend_.list_gpus()[0]
                  .gpu_instances}
        self.assertEqual((ci,), listed[gi.id].compute_instances)

    def test_create_gpu_instance_with_placement(self):
        self.backend_.destroy_compute_instance(self.gpu.uuid,
                                               self.gpu.gpu_instances[3].id,
                                               0)
        self.backend_.destroy_gpu_instance(self.gpu.uuid,
                                           self.gpu.gpu_instances[3].id)
        gi = self.backend_.create_gpu_instance(
            self.gpu.uuid, 14, gpu_records.Placement(4, 2))
        self.assertEqual('2g.20gb', gi.profile_name)
        self.assertEqual(4, gi.placement.start)

    def test_create_refusals(self):
        uuid = self.gpu.uuid
        self.assertRefused('INVALID_ARGUMENT',
                           self.backend_.create_gpu_instance, uuid, 14,
                           gpu_records.Placement(1, 2))
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend_.create_gpu_instance, uuid, 19,
                           gpu_records.Placement(4, 1))
        self.assertRefused('INSUFFICIENT_RESOURCES',
                           self.backend_.create_gpu_instance, uuid, 9)
        self.assertRefused('INVALID_ARGUMENT',
                           self.backend_.create_gpu_instance, uuid, 99)
        self.assertRefused('NOT_FOUND', self.backend_.destroy_gpu_instance,
                           uuid, 42)
        self.assertRaises(exception.GpuNotFound,
                          self.backend_.create_gpu_instance, 'GPU-x', 19)

    def test_mig_disabled(self):
        data = dict(base.MDEV_HOST, vgpus=[], domains=[])
        data['gpus'] = [dict(data['gpus'][0], mig_mode='disabled',
                             gpu_instances=[])]
        backend = self.backend(data)
        uuid = backend.list_gpus()[0].uuid
        exc = self.assertRaises(exception.GpuOperationRefused,
                                backend.create_gpu_instance, uuid, 19)
        self.assertEqual('NOT_SUPPORTED', exc.code)

    def test_second_media_extension_profile(self):
        data = {'version': 1, 'hostname': 'a30', 'gpus': [
            {'model': 'A30-24GB', 'pci_address': '0000:17:00.0',
             'mig_mode': 'enabled',
             'gpu_instances': [{'profile': '1g.6gb+me', 'placement': 0}]}]}
        backend = self.backend(data)
        uuid = backend.list_gpus()[0].uuid
        exc = self.assertRaises(exception.GpuOperationRefused,
                                backend.create_gpu_instance, uuid, 6)
        self.assertEqual('INSUFFICIENT_RESOURCES', exc.code)
        self.assertIn('+me', str(exc))
        # The plain 2g.12gb fits where the 2g.12gb+me did not.
        gi = backend.create_gpu_instance(uuid, 5)
        self.assertEqual(2, gi.placement.start)

    def test_destroy_in_use(self):
        uuid = self.gpu.uuid
        with_vgpu = self.gpu.gpu_instances[0].id
        self.assertRefused('IN_USE', self.backend_.destroy_gpu_instance,
                           uuid, with_vgpu)
        self.assertRefused('IN_USE', self.backend_.destroy_compute_instance,
                           uuid, with_vgpu, 0)
        with_ci = self.gpu.gpu_instances[1].id
        self.assertRefused('IN_USE', self.backend_.destroy_gpu_instance,
                           uuid, with_ci)
        with self.backend_.host.transaction() as state:
            state.gpus[0]['gpu_instances'][2]['processes'] = [4242]
        exc = self.assertRefused('IN_USE', self.backend_.destroy_gpu_instance,
                                 uuid, self.gpu.gpu_instances[2].id)
        self.assertIn('4242', str(exc))
        self.backend_.destroy_compute_instance(uuid, with_ci, 0)
        self.backend_.destroy_gpu_instance(uuid, with_ci)
        self.assertNotIn(with_ci, [g.id for g in
                                   self.backend_.list_gpus()[0]
                                   .gpu_instances])

    def test_state_persists_across_backends(self):
        gi = self.backend_.create_gpu_instance(self.gpu.uuid, 19)
        other = simulated.SimulatedBackend(self.conf)
        self.assertIn(gi.id, [g.id for g in other.list_gpus()[0]
                              .gpu_instances])
        other.sysfs_writer().write(os.path.join(
            self.type_dir(other, base.VF1, 'A100D-3-40C'), 'create'),
            base.UUID2)
        self.assertIn(base.UUID2, [
            v.mdev_uuid for v in self.backend_.list_gpus()[0].active_vgpus])

    def test_host_file_change_rematerialises(self):
        self.backend_.create_gpu_instance(self.gpu.uuid, 19)
        data = dict(base.MDEV_HOST, hostname='renamed')
        self.write_host(data)
        gpu = self.backend_.list_gpus()[0]
        self.assertEqual(4, len(gpu.gpu_instances))
        self.assertNotEqual(self.gpu.uuid, gpu.uuid)

    def test_reset(self):
        self.backend_.create_gpu_instance(self.gpu.uuid, 19)
        self.backend_.reset()
        self.assertEqual(self.gpu, self.backend_.list_gpus()[0])

    def test_wipe_is_a_reboot(self):
        self.backend_.wipe()
        gpu = self.backend_.list_gpus()[0]
        self.assertTrue(gpu.mig_enabled)
        self.assertEqual((), gpu.gpu_instances)
        self.assertEqual((), gpu.active_vgpus)
        root = self.backend_.sysfs_root()
        self.assertEqual('0', self.read(self.backend_, 'bus', 'pci',
                                        'devices', base.PF, 'sriov_numvfs'))
        self.assertFalse(os.path.exists(os.path.join(
            root, 'bus', 'pci', 'devices', base.VF0)))
        self.assertEqual([], os.listdir(os.path.join(root, 'class',
                                                     'mdev_bus')))
        self.assertEqual([], os.listdir(os.path.join(root, 'bus', 'mdev',
                                                     'devices')))
        libvirt.registerErrorHandler(lambda c, e: None, None)
        conn = libvirt.openReadOnly(self.backend_.libvirt_uri())
        [domain] = conn.listAllDomains(0)
        self.assertEqual('instance-1', domain.name())
        self.assertEqual(libvirt.VIR_DOMAIN_SHUTOFF, domain.state()[0])
        self.assertIn(base.UUID1, domain.XMLDesc(0))
        conn.close()

    def test_only_changed_entries_are_rewritten(self):
        root = self.backend_.sysfs_root()
        pf = os.path.join(root, 'bus/pci/devices', self.gpu.pci_address)
        totalvfs = os.path.join(pf, 'sriov_totalvfs')
        before = os.stat(totalvfs).st_ino
        gi = self.backend_.create_gpu_instance(self.gpu.uuid, 19)
        self.backend_.create_compute_instance(self.gpu.uuid, gi.id)
        # The tree is changed in place: same root, untouched files kept.
        self.assertEqual(root, self.backend_.sysfs_root())
        self.assertFalse(os.path.islink(root))
        self.assertEqual(before, os.stat(totalvfs).st_ino)
        # ... and it equals a full rendering of the new state.
        fresh = os.path.join(self.tmpdir, 'fresh')
        os.makedirs(fresh)
        sysfs.render(self.backend_.host.load(), fresh)
        self.assertEqual(_tree(fresh), _tree(root))


def _tree(root):
    """Every entry under root: files with content, links with target."""
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                result[rel] = ('l', os.readlink(path))
            elif os.path.isdir(path):
                result[rel] = ('d',)
            else:
                with open(path) as f:
                    result[rel] = ('f', f.read(), os.stat(path).st_mode)
    return result
