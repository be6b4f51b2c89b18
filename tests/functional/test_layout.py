# SPDX-License-Identifier: Apache-2.0

"""Functional tests of ``nova-mig layout`` on every example host."""

import json
import os
from unittest import mock

import yaml

from nova_mig import exception
from nova_mig.host import discovery
from nova_mig.layout import checkpoint
from nova_mig import ownership
from nova_mig.simulator import backend as simulated
from tests.functional import layout_base

#: The example hosts' devices are foreign; no Compute API in these tests.
FORCE = '--force-with-enabled-service'


class _RoundTrip:
    """export -> wipe (reboot) -> apply -> assert, then idempotence."""

    def test_export_wipe_apply_assert(self):
        before = self.snapshot()
        exported = os.path.join(self.tmpdir, 'exported.yaml')
        rc, _out, err = self.cli('layout', 'export', '-o', exported)
        self.assertEqual(0, rc, err)
        rc, out, err = self.cli('layout', 'assert', exported)
        self.assertEqual(0, rc, out + err)
        self.assertIn('matches', out)

        self.backend.wipe()
        wiped = self.snapshot()
        self.assertNotEqual(before, wiped)
        rc, out, _err = self.cli('layout', 'assert', exported)
        self.assertEqual(1, rc)
        self.assertIn('does not match', out)

        rc, out, err = self.cli('layout', 'apply', exported)
        self.assertEqual(0, rc, out + err)
        self.assertIn('[1/', err)
        self.assertEqual(before, self.snapshot())
        rc, out, err = self.cli('layout', 'assert', exported)
        self.assertEqual(0, rc, out + err)

        # Idempotent: the second apply has nothing to do, changes nothing.
        state = self.state()
        rc, out, err = self.cli('layout', 'plan', exported, '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual([], json.loads(out))
        rc, out, err = self.cli('layout', 'apply', exported)
        self.assertEqual(0, rc, out + err)
        self.assertNotIn('[1/', err)
        self.assertEqual(state, self.state())

        # Every vGPU device nova-mig created is in the ownership record.
        owned = ownership.OwnershipRecord(self.conf.host.state_dir)
        for gpu_addr, dev_uuid, parent, _type in before['devices']:
            self.assertTrue(owned.owns(dev_uuid or parent), dev_uuid)


class TestRoundTripA100(_RoundTrip, layout_base.LayoutTestCase):
    host = 'a100-mixed.yaml'


class TestRoundTripH100(_RoundTrip, layout_base.LayoutTestCase):
    host = 'h100-sxm5-8x.yaml'


class TestRoundTripH200(_RoundTrip, layout_base.LayoutTestCase):
    host = 'h200-vendor-vfio.yaml'


class TestRoundTripH200Uniform(_RoundTrip, layout_base.LayoutTestCase):
    host = 'h200-vendor-vfio-uniform.yaml'


class TestRoundTripT4(_RoundTrip, layout_base.LayoutTestCase):
    host = 't4-orphans.yaml'


#: GPU 0 split into 1g.10gb only: its 3g.40gb carries the vGPU of the
#: running instance-00000001.  GPU 1: 2x 3g.40gb (its vGPU is an orphan).
RESHAPE = {'version': 1, 'gpus': [
    {'select': {'pci_address': '0000:41:00.0'},
     'gpu_instances': ['1g.10gb'] * 7},
    {'select': {'index': 1},
     'gpu_instances': [{'profile': '3g.40gb', 'count': 2}]},
]}


class TestApply(layout_base.LayoutTestCase):

    def test_in_use_gpu_refused_others_proceed(self):
        before = self.snapshot()
        path = self.write('reshape.yaml', RESHAPE)
        # The example host's devices were not made by nova-mig.
        rc, out, err = self.cli('layout', 'apply', '--include-foreign', FORCE,
                                path)
        self.assertEqual(1, rc, out + err)
        self.assertIn('refused', out)
        self.assertIn('instance-00000001', out)
        after = self.snapshot()
        # Nothing on the refused GPU changed; the other one did.
        self.assertEqual(before['gpus']['0000:41:00.0'],
                         after['gpus']['0000:41:00.0'])
        self.assertEqual(
            [('3g.40gb', 0), ('3g.40gb', 4)],
            [i[:2] for i in after['gpus']['0000:81:00.0']['instances']])
        self.assertIn('5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01',
                      [d[1] for d in after['devices']])

    def test_the_host_is_read_once_to_plan_and_once_after_a_change(self):
        path = self.write('reshape.yaml', RESHAPE)
        args = ('layout', 'apply', '--include-foreign', FORCE, path)
        with mock.patch.object(discovery, 'discover',
                               wraps=discovery.discover) as seen:
            rc, out, err = self.cli(*args)
            self.assertEqual(1, rc, out + err)      # GPU 0 is refused
            # Once to plan; GPU 1 changed: once more for the checkpoint.
            self.assertEqual(2, seen.call_count)
            seen.reset_mock()
            rc, out, err = self.cli(*args)
            self.assertEqual(1, rc, out + err)
            self.assertNotIn('[1/', err)
            # Nothing changed: the checkpoint is of the host as planned.
            self.assertEqual(1, seen.call_count)

    def test_shut_off_domain_also_blocks(self):
        layout = {'version': 1, 'gpus': [
            {'select': {'pci_address': '0000:41:00.0'},
             'gpu_instances': [{'profile': '2g.20gb', 'placement': 0},
                               {'profile': '2g.20gb', 'placement': 2},
                               {'profile': '3g.40gb', 'placement': 4}]}]}
        state = self.state()
        rc, out, _err = self.cli('layout', 'plan',
                                 self.write('l.yaml', layout))
        self.assertEqual(3, rc)    # a refused GPU
        self.assertIn('instance-00000002', out)
        rc, out, _err = self.cli('layout', 'apply',
                                 self.write('l.yaml', layout))
        self.assertEqual(1, rc)
        self.assertEqual(state, self.state())

    def test_dry_run_changes_nothing(self):
        state = self.state()
        path = self.write('reshape.yaml', RESHAPE)
        rc, out, _err = self.cli('layout', 'apply', '--dry-run', path,
                                 '-f', 'json')
        self.assertEqual(3, rc)    # a GPU it would refuse, as layout plan
        rows = json.loads(out)
        kinds = {(r['GPU'], r['Action']) for r in rows}
        self.assertIn(('0000:81:00.0', 'destroy-gi'), kinds)
        self.assertIn(('0000:41:00.0', 'refused'), kinds)
        for row in rows:
            self.assertTrue(row['Reason'])
        self.assertEqual(state, self.state())

    def test_half_way_failure_then_rerun_converges(self):
        exported = os.path.join(self.tmpdir, 'exported.yaml')
        self.assertEqual(0, self.cli('layout', 'export', '-o',
                                     exported)[0])
        before = self.snapshot()
        self.backend.wipe()
        real = simulated.SimulatedBackend.create_gpu_instance
        calls = []

        def flaky(backend, *args, **kwargs):
            calls.append(args)
            if len(calls) == 2:
                raise exception.GpuOperationRefused(
                    gpu=args[0], operation='create GPU instance',
                    code='UNKNOWN', reason='injected failure')
            return real(backend, *args, **kwargs)

        with mock.patch.object(simulated.SimulatedBackend,
                               'create_gpu_instance', flaky):
            rc, out, err = self.cli('layout', 'apply', exported)
        self.assertEqual(1, rc)
        self.assertIn('failed', out)
        self.assertIn('injected failure', out)
        self.assertIn('not done: create GPU instance 2g.20gb', out)
        # The first GPU stopped; the second one was applied.
        half = self.snapshot()
        self.assertEqual(1, len(half['gpus']['0000:41:00.0']['instances']))
        self.assertEqual(before['gpus']['0000:81:00.0'],
                         half['gpus']['0000:81:00.0'])
        rc, out, err = self.cli('layout', 'apply', exported)
        self.assertEqual(0, rc, out + err)
        self.assertEqual(before, self.snapshot())

    def test_failed_sysfs_write_then_rerun_converges(self):
        exported = os.path.join(self.tmpdir, 'exported.yaml')
        self.cli('layout', 'export', '-o', exported)
        before = self.snapshot()
        self.backend.wipe()
        with layout_base.refused_mdev_create():
            rc, out, _err = self.cli('layout', 'apply', exported)
        self.assertEqual(1, rc)
        self.assertIn('No space left on device', out)
        self.assertEqual(0, self.cli('layout', 'apply', exported)[0])
        self.assertEqual(before, self.snapshot())

    def test_restore_after_reboot(self):
        rc, out, err = self.cli('layout', 'restore')
        self.assertEqual(0, rc, err)
        self.assertIn('No layout checkpoint', err)
        rc, out, err = self.cli('layout', 'apply', self.write(
            'reshape.yaml', RESHAPE))
        self.assertTrue(os.path.exists(
            checkpoint.path(self.conf.host.state_dir)))
        before = self.snapshot()
        self.backend.wipe()
        rc, out, err = self.cli('layout', 'restore')
        self.assertEqual(0, rc, out + err)
        self.assertEqual(before, self.snapshot())
        # The refused GPU kept its previous geometry in the checkpoint.
        layout = checkpoint.load(self.conf.host.state_dir)
        first = [g for g in layout.gpus
                 if g.selector.pci_address == '0000:41:00.0'][0]
        self.assertEqual(['2g.20gb', '1g.10gb', '1g.10gb', '3g.40gb'],
                         [gi.profile for gi in first.gpu_instances])

    def test_unused_foreign_device_refuses_its_gpu(self):
        # GPU 1 carries an unused vGPU the host file made (as Nova would):
        # an instance being built may be about to use it.
        state = self.state()
        path = self.write('reshape.yaml', RESHAPE)
        rc, out, err = self.cli('layout', 'apply', path)
        self.assertEqual(1, rc, out + err)
        self.assertIn('5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03 not created by '
                      'nova-mig', out)
        self.assertIn('--include-foreign', out)
        self.assertEqual(state, self.state())
        rc, out, err = self.cli('layout', 'plan', '--include-foreign', path)
        # GPU 0 stays refused: its 3g.40gb carries a running instance.
        self.assertEqual(3, rc, err)
        self.assertIn('remove-vgpu', out)
        self.assertNotIn('not created by nova-mig', out)

    def test_disable_mig_for_time_sliced_vgpus(self):
        layout = {'version': 1, 'gpus': [
            {'select': {'pci_address': '0000:81:00.0'}, 'mig': 'disabled',
             'time_sliced': {'type': 'A100D-20C', 'count': 2}}]}
        path = self.write('sliced.yaml', layout)
        rc, out, err = self.cli('layout', 'apply', '--include-foreign', FORCE,
                                path)
        self.assertEqual(0, rc, out + err)
        after = self.snapshot()
        self.assertEqual('disabled', after['gpus']['0000:81:00.0']['mig'])
        self.assertEqual(2, len([d for d in after['devices']
                                 if d[0] == '0000:81:00.0']))
        self.assertEqual(0, self.cli('layout', 'assert', path)[0])


class TestMigParted(layout_base.LayoutTestCase):

    CONFIG = """version: v1
mig-configs:
  all-disabled:
    - devices: all
      mig-enabled: false
  balanced:
    - devices: [0]
      mig-enabled: true
      mig-devices: {"1g.10gb": 2, "2g.20gb": 1, "3g.40gb": 1}
    - device-filter: ["0x20B510DE"]
      devices: [1]
      mig-enabled: true
      mig-devices: {"3g.40gb": 1, "1g.10gb": 4}
"""

    def test_round_trip(self):
        source = self.write('mig-parted.yaml', self.CONFIG)
        layout = os.path.join(self.tmpdir, 'from-mig-parted.yaml')
        rc, _out, err = self.cli('layout', 'import-mig-parted', source,
                                 '--label', 'balanced', '-o', layout)
        self.assertEqual(0, rc, err)
        rc, out, err = self.cli('layout', 'apply', '--include-foreign', FORCE,
                                layout)
        self.assertEqual(0, rc, out + err)
        rc, out, err = self.cli('layout', 'export', '--mig-parted',
                                '--label', 'balanced')
        self.assertEqual(0, rc, err)
        exported = yaml.safe_load(out)['mig-configs']['balanced']
        self.assertEqual(
            [{'devices': [0], 'mig-enabled': True,
              'mig-devices': {'3g.40gb': 1, '2g.20gb': 1, '1g.10gb': 2}},
             {'devices': [1], 'mig-enabled': True,
              'mig-devices': {'3g.40gb': 1, '1g.10gb': 4}}], exported)

    def test_several_configs_need_a_label(self):
        source = self.write('mig-parted.yaml', self.CONFIG)
        rc, _out, err = self.cli('layout', 'import-mig-parted', source)
        self.assertEqual(1, rc)
        self.assertIn('several configs (all-disabled, balanced); choose '
                      'one with --label', err)


class TestExampleLayouts(layout_base.LayoutTestCase):

    def example(self, name: str) -> str:
        return os.path.join(layout_base.base.REPO, 'etc', 'nova-mig',
                            'layouts', name)

    def test_a100_balanced_applies_and_asserts(self):
        path = self.example('a100-balanced.yaml')
        rc, out, err = self.cli('layout', 'apply', '--include-foreign', FORCE,
                                path)
        self.assertEqual(0, rc, out + err)
        self.assertEqual(0, self.cli('layout', 'assert', path)[0])
        second = self.snapshot()['gpus']['0000:81:00.0']['instances']
        self.assertEqual([('3g.40gb', 0), ('3g.40gb', 4)],
                         [i[:2] for i in second])

    def test_h200_vendor_vfio_plans(self):
        self.use_host('h200-vendor-vfio-uniform.yaml')
        rc, out, err = self.cli('layout', 'plan',
                                self.example('h200-vendor-vfio.yaml'))
        self.assertEqual(0, rc, err)
        # GPU 0 only: GPU 1's 2g.35gb, in use, is not selected.
        self.assertIn('create-vgpu', out)
        self.assertNotIn('refused', out)
        self.assertNotIn('0000:9a:00.0', out)

    def test_mig_parted_example_imports(self):
        rc, out, err = self.cli(
            'layout', 'import-mig-parted', '--label', 'balanced',
            self.example('mig-parted-example.yaml'))
        self.assertEqual(0, rc, err)
        self.assertIn('3g.40gb', out)

    def test_h100_selection_by_device_id_and_index(self):
        self.use_host('h100-sxm5-8x.yaml')
        rc, out, err = self.cli('layout', 'plan', '-f', 'json',
                                self.example('h100-all-1g.yaml'))
        self.assertEqual(0, rc, err)
        created = {(r['GPU'], r['Action']) for r in json.loads(out)}
        # Four more vGPUs on each of GPUs 0-3, none on GPUs 4-7.
        self.assertEqual({('0000:18:00.0', 'create-vgpu'),
                          ('0000:2a:00.0', 'create-vgpu'),
                          ('0000:3a:00.0', 'create-vgpu'),
                          ('0000:5d:00.0', 'create-vgpu')}, created)
