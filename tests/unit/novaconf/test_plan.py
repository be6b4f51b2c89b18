# SPDX-License-Identifier: Apache-2.0

"""Tests for assigning vGPU types to vGPU parents (nova-config's plan)."""

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.novaconf import type_plan
from tests import base
from tests.unit.novaconf import fakes

U1 = '11111111-0000-4000-8000-000000000001'
U2 = '11111111-0000-4000-8000-000000000002'


def by_address(config):
    return {a.address: a.type_id for a in config.assignments}


class TestMigAssignment(base.TestCase):

    def test_mixed_layout(self):
        # 2g@0, 1g@2 (vGPU on VF .5, bound through NVML), 1g@3, 3g@4
        # (vGPU on VF .4, not known to NVML: matched by profile).
        vfs = fakes.vfs(fakes.PF0, 8)
        gpu = fakes.a100(
            gis=[fakes.gi(1, '2g.20gb', 0, 2), fakes.gi(2, '1g.10gb', 2, 1),
                 fakes.gi(3, '1g.10gb', 3, 1), fakes.gi(4, '3g.40gb', 4, 4)],
            active=[gpu_records.ActiveVgpu(U2, 904, 2)])
        report = fakes.report(
            [gpu], fakes.mdev_parents(fakes.PF0, vfs),
            mdevs=[fakes.mdev(U1, 'nvidia-902', vfs[0]),
                   fakes.mdev(U2, 'nvidia-904', vfs[1])])
        config = type_plan.build(self.conf, report)
        # Carried vGPUs keep their VF; free GIs by placement take the next
        # free VFs: 2g@0 -> .6, 1g@3 -> .7; the other VFs are left out.
        self.assertEqual({vfs[0]: 'nvidia-902', vfs[1]: 'nvidia-904',
                          vfs[2]: 'nvidia-903', vfs[3]: 'nvidia-904'},
                         by_address(config))
        self.assertEqual({'nvidia-902': 1, 'nvidia-903': 1,
                          'nvidia-904': 2}, config.max_instances)
        first = config.assignments[0]
        self.assertEqual('CUSTOM_MIG_3G_40GB', first.resource_class)
        self.assertEqual('3g.40gb', first.profile)
        self.assertEqual(('CUSTOM_MIG_3G_40GB',
                          'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE',
                          'CUSTOM_CUDA_COMPUTE_CAPABILITY_V8_0',
                          'CUSTOM_VGPU_MODE_MDEV'), first.traits)
        self.assertTrue(first.is_vf)
        self.assertEqual('20b5', first.product_id)
        self.assertEqual([], config.warnings)
        # What Nova counts per parent: its vGPUs plus those it can make.
        self.assertEqual([2, 2, 1, 1],
                         [a.capacity for a in config.assignments])

    def test_all_1g_prefers_plain_compute_type(self):
        # A100D-1-10Q and A100D-1-10CME are offered too; the plain
        # compute type wins whatever the IDs' order.
        report, vfs = fakes.a100_report(
            8, [fakes.gi(i + 1, '1g.10gb', i, 1) for i in range(7)])
        config = type_plan.build(self.conf, report)
        self.assertEqual({a: 'nvidia-904' for a in vfs[:7]},
                         by_address(config))
        self.assertEqual({'nvidia-904': 7}, config.max_instances)

    def test_me_instance_gets_me_type(self):
        report, vfs = fakes.a100_report(
            3, [fakes.gi(1, '1g.10gb', 1, 1), fakes.gi(2, '1g.10gb+me', 0, 1)])
        config = type_plan.build(self.conf, report)
        # Placement order: the +me GI at 0 takes the first VF.
        self.assertEqual({vfs[0]: 'nvidia-900', vfs[1]: 'nvidia-904'},
                         by_address(config))
        me = config.assignments[0]
        self.assertEqual('CUSTOM_MIG_1G_10GB_ME', me.resource_class)
        self.assertIn('CUSTOM_MIG_1G_10GB_ME', me.traits)

    def test_two_gpus_sum_max_instances(self):
        vfs0, vfs1 = fakes.vfs(fakes.PF0, 4), fakes.vfs(fakes.PF1, 4)
        gpus = [fakes.a100(fakes.PF0, gis=[fakes.gi(1, '3g.40gb', 0, 4),
                                           fakes.gi(2, '3g.40gb', 4, 4)]),
                fakes.a100(fakes.PF1, index=1,
                           gis=[fakes.gi(1, '3g.40gb', 4, 4)])]
        report = fakes.report(gpus, fakes.mdev_parents(fakes.PF0, vfs0) +
                              fakes.mdev_parents(fakes.PF1, vfs1))
        config = type_plan.build(self.conf, report)
        self.assertEqual({'nvidia-902': 3}, config.max_instances)
        self.assertEqual(vfs0[:2] + vfs1[:1],
                         [a.address for a in config.assignments])

    def test_too_few_vfs_warns(self):
        report, _ = fakes.a100_report(
            2, [fakes.gi(i + 1, '1g.10gb', i, 1) for i in range(4)])
        config = type_plan.build(self.conf, report)
        self.assertEqual(2, len(config.assignments))
        self.assertIn('2 GPU instance(s) have no free VF',
                      config.warnings[0])

    def test_no_type_for_profile(self):
        report, vfs = fakes.a100_report(2, [fakes.gi(1, '1g.20gb', 0, 2)])
        e = self.assertRaises(exception.NoVgpuTypeForProfile,
                              type_plan.build, self.conf, report)
        self.assertIn('1g.20gb', str(e))
        self.assertIn(fakes.PF0, str(e))
        self.assertIn(vfs[0], str(e))


class TestTimeSliced(base.TestCase):

    def t4_report(self, mdevs=()):
        return fakes.report(
            [fakes.t4()],
            fakes.mdev_parents(fakes.T4_PF, [fakes.T4_PF], fakes.T4_TYPES),
            mdevs=mdevs)

    def test_t4_leftover_mdevs_keep_their_type(self):
        self.flags(time_sliced_type=['T4-16Q'], group='nova')
        report = self.t4_report([fakes.mdev(U1, 'nvidia-222', fakes.T4_PF),
                                 fakes.mdev(U2, 'nvidia-222', fakes.T4_PF)])
        config = type_plan.build(self.conf, report)
        self.assertEqual({fakes.T4_PF: 'nvidia-222'}, by_address(config))
        a = config.assignments[0]
        self.assertFalse(a.is_vf)
        self.assertIsNone(a.profile)
        self.assertEqual('CUSTOM_VGPU_T4_4Q', a.resource_class)
        # The PF shows its real capacity: no max_instances.
        self.assertEqual({}, config.max_instances)
        self.assertIn('keeps type T4-4Q', config.warnings[0])

    def test_t4_configured_type(self):
        self.flags(time_sliced_type=['A100D-20C', 't4-16q'], group='nova')
        config = type_plan.build(self.conf, self.t4_report())
        self.assertEqual({fakes.T4_PF: 'nvidia-224'}, by_address(config))
        self.assertEqual([], config.warnings)

    def test_unset_type_leaves_gpu_out(self):
        e = self.assertRaises(exception.NothingToConfigure,
                              type_plan.build, self.conf, self.t4_report())
        self.assertIn('[nova]time_sliced_type', str(e))

    def test_unsupported_type_leaves_gpu_out(self):
        self.flags(time_sliced_type=['A100D-20C'], group='nova')
        e = self.assertRaises(exception.NothingToConfigure,
                              type_plan.build, self.conf, self.t4_report())
        self.assertIn('supports none of', str(e))

    def test_sriov_time_sliced_capped_by_max_instances(self):
        self.flags(time_sliced_type=['A100D-20C'], group='nova')
        vfs = fakes.vfs(fakes.PF0, 8)
        gpu = fakes.a100(mig=False, vgpu_types=(
            gpu_records.VgpuType(910, 'NVIDIA A100D-20C', None, 20480, 4),))
        report = fakes.report([gpu], fakes.mdev_parents(fakes.PF0, vfs),
                              mdevs=[fakes.mdev(U1, 'nvidia-910', vfs[5])])
        config = type_plan.build(self.conf, report)
        # The VF carrying a vGPU plus the first free ones, up to the
        # GPU's 4 instances; the cap hides nothing else.
        self.assertEqual(sorted(vfs[:3] + vfs[5:6]),
                         sorted(by_address(config)))
        self.assertEqual({'nvidia-910': 4}, config.max_instances)
        self.assertEqual('CUSTOM_VGPU_A100D_20C',
                         config.assignments[0].resource_class)


class TestVendorVfio(base.TestCase):

    def test_current_and_planned_types(self):
        vfs = fakes.vfs(fakes.PF0, 4)
        gpu = fakes.a100(gis=[fakes.gi(1, '1g.10gb', 0, 1),
                              fakes.gi(2, '1g.10gb', 1, 1)])
        parents = fakes.vendor_parents(fakes.PF0, {vfs[0]: 0, vfs[1]: 0,
                                                   vfs[2]: 1414, vfs[3]: 0})
        report = fakes.report([gpu], parents, mode=constants.MODE_VENDOR_VFIO)
        config = type_plan.build(self.conf, report,
                                 product_ids={v: '20b6' for v in vfs})
        self.assertEqual({vfs[2]: '1414', vfs[0]: '1414'},
                         by_address(config))
        self.assertEqual({'20b6'},
                         {a.product_id for a in config.assignments})
        self.assertIn('CUSTOM_VGPU_MODE_VENDOR_VFIO',
                      config.assignments[0].traits)


class TestNoParents(base.TestCase):

    def test_no_gpu(self):
        report = fakes.report([], [])
        e = self.assertRaises(exception.NoVgpuParents, type_plan.build,
                              self.conf, report, sysfs_root='/srv/sys')
        self.assertIn('/srv/sys', str(e))

    def test_no_vgpu_parent(self):
        report = fakes.report([fakes.a100()], [], mode=constants.MODE_NONE)
        e = self.assertRaises(exception.NoVgpuParents, type_plan.build,
                              self.conf, report)
        self.assertIn('sriov-manage', str(e))
        self.assertIn('cn1', str(e))

    def test_hypervisor_hostname_option(self):
        report, _ = fakes.a100_report(1, [fakes.gi(1, '7g.80gb', 0, 8)])
        self.assertEqual('cn1', type_plan.build(self.conf, report).hostname)
        self.flags(hypervisor_hostname='cn1.example.org', group='nova')
        self.assertEqual('cn1.example.org',
                         type_plan.build(self.conf, report).hostname)
