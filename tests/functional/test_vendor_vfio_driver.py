# SPDX-License-Identifier: Apache-2.0

"""Vendor-specific VFIO as NVIDIA's driver runs it, on a simulated host.

The driver refuses a MIG mode change while the PF has VFs and a raw
``sriov_numvfs`` write on its PF; its ``sriov-manage -e|-d`` enables all
VFs or none and, re-binding the PF, wipes the GPU instances. A layout is
applied and restored in the driver's order (MIG mode, VFs, GPU and compute
instances, vGPU types); the same plan in the old order (VFs, then MIG
mode, then creations) fails there.
"""

import dataclasses
import os

from nova_mig import exception
from nova_mig.host import discovery
from nova_mig.layout import executor as executor_mod
from nova_mig.layout import layout_plan
from nova_mig.layout import records
from nova_mig.layout import schema
from nova_mig.layout import step_types
from tests.functional import layout_base

PF = '0000:1b:00.0'
HOST = '''version: 1
hostname: compute-h200-strict
device_mode: vendor-vfio
vgpu_manager: true
sriov_manage: true
gpus:
  - model: H200-SXM-141GB
    pci_address: "%s"
    mig_mode: %s
    sriov_vfs: %d
    gpu_instances: %s
'''
MIG = '''version: 1
gpus:
- select: {pci_address: "%s"}
  mig: enabled
  device_mode: vendor-vfio
  sriov_vfs: 32
  gpu_instances:
  - {profile: 2g.35gb, placement: 0, vgpu: {type: H200X-2-35C}}
  - {profile: 1g.18gb, placement: 2, vgpu: {type: H200X-1-18C}}
  - {profile: 1g.18gb, placement: 3, vgpu: false}
''' % PF
TIME_SLICED = '''version: 1
gpus:
- select: {pci_address: "%s"}
  mig: disabled
  device_mode: vendor-vfio
  sriov_vfs: 32
  time_sliced: {type: H200X-70C, count: 2}
''' % PF


KEPT_GIS = ('[{profile: 2g.35gb, placement: 0}, '
            '{profile: 1g.18gb, placement: 2}]')


class StrictHostTestCase(layout_base.LayoutTestCase):
    """Helpers: the strict host, applying, the old order."""

    def setUp(self):
        super().setUp()
        self.tool = os.path.join(self.tmpdir, 'sriov-manage')
        with open(self.tool, 'w') as f:
            f.write('#!/bin/sh\n')

    def strict_host(self, mig='enabled', vfs=32, gis='[]', tool=True):
        path = self.write('strict.yaml', HOST % (PF, mig, vfs, gis))
        self.use_host(path, os.path.join(self.tmpdir, 'sim-strict'))
        with open(self.conf_file, 'a') as f:
            f.write('[host]\nsriov_manage = %s\n' % (
                self.tool if tool else os.path.join(self.tmpdir, 'none')))
        self.flags(sriov_manage=self.tool if tool else
                   os.path.join(self.tmpdir, 'none'), group='host')

    def gpu(self):
        return discovery.discover(self.backend).gpus[0]

    def apply(self, text, *extra):
        path = self.write('layout.yaml', text)
        rc, out, err = self.cli('layout', 'apply', path, *extra)
        return rc, out + err


class DriverOrderTestCase(StrictHostTestCase):

    def test_mig_change_apply_and_restore_in_the_driver_order(self):
        self.strict_host()
        rc, out = self.apply(MIG)
        self.assertEqual(0, rc, out)
        rc, out = self.apply(TIME_SLICED)
        self.assertEqual(0, rc, out)
        gpu = self.gpu()
        self.assertFalse(gpu.mig_enabled)
        self.assertEqual([], list(gpu.gpu_instances))
        # Back to MIG: VFs off, MIG on, VFs on, instances, vGPU types.
        path = self.write('mig.yaml', MIG)
        rc, out, err = self.cli('layout', 'plan', path, '-f', 'value',
                                '-c', 'Description')
        self.assertEqual(
            ['remove vGPU', 'remove vGPU', 'set SR-IOV VFs to 0',
             'enable MIG mode', 'set SR-IOV VFs to 32'],
            [' '.join(line.split()[:5]) if line.startswith('set') else
             ' '.join(line.split()[:2]) if line.startswith('remove') else
             line for line in out.splitlines()[:5]])
        rc, out = self.apply(MIG)
        self.assertEqual(0, rc, out)
        rc, out, err = self.cli('layout', 'assert', path)
        self.assertEqual(0, rc, out + err)
        # A reboot: no VFs, no instances; restore through sriov-manage.
        self.backend.wipe()
        self.assertEqual([], list(self.gpu().gpu_instances))
        rc, out, err = self.cli('layout', 'restore')
        self.assertEqual(0, rc, out + err)
        rc, out, err = self.cli('layout', 'assert', path)
        self.assertEqual(0, rc, out + err)

    def old_order(self, text):
        """The plan of ``text`` in the order nova-mig used before."""
        report = discovery.discover(self.backend)
        layout = schema.load(self.write('old.yaml', text))
        the_plan = layout_plan.plan(report, layout, self.backend.sysfs_root(),
                                    owned=None)
        gplan = the_plan.gpus[0]
        rank = {step_types.RemoveMdev: 0, step_types.ClearVgpuType: 0,
                step_types.DestroyComputeInstance: 1,
                step_types.DestroyGpuInstance: 1, step_types.SetVfCount: 2,
                step_types.SetMigMode: 3}
        numvfs = [a for a in gplan.steps if isinstance(a,
                                                       step_types.SetVfCount)]
        # The old planner asked no VF change for a MIG change: VFs off and
        # on again, then MIG mode.
        # Nor did it destroy and make again the instances a re-bind wipes.
        old = sorted(
            [a for a in gplan.steps
             if (not isinstance(a, step_types.SetVfCount) or a is numvfs[0] or
                 a is numvfs[-1]) and 'VF change' not in a.reason],
            key=lambda a: rank.get(type(a), 4))
        return dataclasses.replace(the_plan, gpus=(dataclasses.replace(
            gplan, steps=tuple(old)),) + the_plan.gpus[1:])

    def execute(self, the_plan):
        executor = executor_mod.Executor(
            self.backend, os.path.join(self.tmpdir, 'state'),
            checker=None, sriov_manage=self.tool)
        executor.checker.require_free = lambda *targets, **kw: None
        return executor.execute(the_plan)

    def test_old_order_fails_mig_mode_with_vfs_enabled(self):
        self.strict_host(mig='disabled')
        [result] = self.execute(self.old_order(MIG))
        self.assertEqual(records.Status.FAILED, result.status)
        self.assertIn('enable MIG mode failed', result.error)
        self.assertIn('32 SR-IOV VFs are enabled; disable them first '
                      '(sriov-manage -d %s)' % PF, result.error)
        # The driver's order passes on the same host.
        rc, out = self.apply(MIG)
        self.assertEqual(0, rc, out)

    def test_rebind_wipes_gpu_instances_so_they_are_made_again(self):
        # VFs not enabled yet, GPU instances there: enabling the VFs
        # re-binds the PF and wipes them.
        self.strict_host(vfs=0, gis=KEPT_GIS)
        the_plan = self.old_order(MIG)
        [result] = self.execute(the_plan)
        self.assertEqual(records.Status.FAILED, result.status)
        self.assertIn('create vGPU H200X-2-35C', result.error)
        self.strict_host(vfs=0, gis=KEPT_GIS)
        rc, out = self.apply(MIG)
        self.assertEqual(0, rc, out)
        self.assertEqual(3, len(self.gpu().gpu_instances))

    def test_raw_vf_write_refused_in_one_line_without_sriov_manage(self):
        self.strict_host(vfs=0, tool=False)
        rc, out = self.apply(MIG)
        self.assertEqual(1, rc, out)
        self.assertIn('refused to set SR-IOV VFs to 32: the nvidia driver '
                      'refused sriov_numvfs = 32 on %s' % PF, out)
        self.assertIn('not installed), which enables all VFs or none', out)
        self.assertEqual(0, discovery.discover(self.backend).sriov[PF]
                         .num_vfs)


class RefusalsTestCase(StrictHostTestCase):
    """The refusals themselves, one by one, on the strict host."""

    def test_raw_write_on_the_nvidia_pf_refused(self):
        self.strict_host(vfs=0)
        writer = self.backend.sysfs_writer()
        e = self.assertRaises(OSError, writer.set_sriov_numvfs, PF, 32)
        self.assertIn('use sriov-manage -e|-d', str(e))

    def test_mig_mode_with_vfs_refused(self):
        self.strict_host(mig='disabled')
        e = self.assertRaises(exception.GpuOperationRefused,
                              self.backend.set_mig_mode, self.gpu().uuid,
                              True)
        self.assertIn('SR-IOV VFs are enabled', str(e))
