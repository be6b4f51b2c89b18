# SPDX-License-Identifier: Apache-2.0

"""Tests for joining GPU, sysfs and libvirt facts into a host report."""

import json
import os

import libvirt

from nova_mig.cli import slicemap
from nova_mig.host import discovery
from nova_mig.model import gpu_records
from tests import base
from tests.unit.host import fakes

P = gpu_records.Placement
UUID_USED = '5d3c2b1a-0000-4000-8000-000000000001'
UUID_IDLE = '5d3c2b1a-0000-4000-8000-000000000002'

PROFILES = (
    gpu_records.GpuInstanceProfile(19, '1g.10gb', 1, 9856, 7, 14,
                                   tuple(P(i, 1) for i in range(7))),
    gpu_records.GpuInstanceProfile(20, '1g.10gb+me', 1, 9856, 1, 14,
                                   tuple(P(i, 1) for i in range(7))),
    gpu_records.GpuInstanceProfile(14, '2g.20gb', 2, 19968, 3, 28,
                                   (P(0, 2), P(2, 2), P(4, 2))),
    gpu_records.GpuInstanceProfile(9, '3g.40gb', 3, 40192, 2, 42,
                                   (P(0, 4), P(4, 4))),
    gpu_records.GpuInstanceProfile(0, '7g.80gb', 7, 80896, 1, 98, (P(0, 8),)),
)


class TestDiscovery(base.TestCase):

    def setUp(self):
        super().setUp()
        tree = fakes.Tree(os.path.join(self.tmpdir, 'sys'))
        tree.pci('0000:41:00.0', total_vfs=20)
        vfs = ['0000:41:00.4', '0000:41:00.5', '0000:41:00.6']
        for vf in vfs:
            tree.pci(vf, pf='0000:41:00.0')
            free = 1 if vf == vfs[2] else 0
            tree.mdev_parent(vf, {
                'nvidia-700': ('NVIDIA A100D-3-40C', 0),
                'nvidia-701': ('NVIDIA A100D-1-10C', free),
                'nvidia-702': ('NVIDIA A100D-1-10CME', 0),
                'nvidia-710': ('NVIDIA A100D-20C', 0)})
        tree.mdev(vfs[0], 'nvidia-700', UUID_USED, 10)
        tree.mdev(vfs[1], 'nvidia-701', UUID_IDLE, 11)
        self.useFixture(fakes.FakeLibvirt(fakes.FakeConnection([
            fakes.FakeDomain('instance-00000001', fakes.domain_xml(
                'instance-00000001', fakes.MDEV % UUID_USED),
                state=libvirt.VIR_DOMAIN_SHUTOFF)])))
        gpu = gpu_records.Gpu(
            index=0, pci_address='0000:41:00.0',
            uuid='GPU-11111111-2222-3333-4444-555555555555',
            name='NVIDIA A100 80GB PCIe', pci_device_id=0x20B510DE,
            memory_total_mb=81920, compute_capability=(8, 0),
            mig_current=1, mig_pending=1, profiles=PROFILES,
            gpu_instances=(
                gpu_records.GpuInstance(1, 9, '3g.40gb', P(0, 4)),
                gpu_records.GpuInstance(7, 19, '1g.10gb', P(4, 1)),
                gpu_records.GpuInstance(8, 19, '1g.10gb', P(5, 1),
                                        processes=(4242,)),
            ),
            vgpu_types=(), active_vgpus=(
                gpu_records.ActiveVgpu(UUID_USED, 700, 1),
                gpu_records.ActiveVgpu(UUID_IDLE, 701, 7)))
        self.backend = fakes.FakeBackend(self.conf, [gpu], tree.root)

    def test_report(self):
        report = discovery.discover(self.backend).as_dict()
        # The document is plain JSON.
        report = json.loads(json.dumps(report))
        self.assertEqual('compute-1', report['hostname'])
        self.assertEqual('mdev', report['device_mode'])
        gpu, = report['gpus']
        self.assertEqual('enabled', gpu['mig_mode'])
        self.assertEqual(8, gpu['memory_slices'])
        self.assertEqual({'total': 20, 'enabled': 3}, gpu['sriov_vfs'])
        gis = {gi['id']: gi for gi in gpu['gpu_instances']}
        # The GI with a vGPU referenced by a (shut off) domain is in use.
        self.assertTrue(gis[1]['in_use'])
        self.assertEqual(UUID_USED, gis[1]['vgpu_device'])
        # An idle vGPU device alone does not make its GI in use...
        self.assertFalse(gis[7]['in_use'])
        self.assertEqual(UUID_IDLE, gis[7]['vgpu_device'])
        # ...processes do.
        self.assertTrue(gis[8]['in_use'])
        self.assertEqual((4, 1), (gis[7]['placement_start'],
                                  gis[7]['placement_size']))
        devices = {d['uuid']: d for d in report['vgpu_devices']}
        self.assertEqual('instance-00000001', devices[UUID_USED]['domain'])
        self.assertEqual('shutoff', devices[UUID_USED]['domain_state'])
        self.assertEqual('3g.40gb', devices[UUID_USED]['profile'])
        self.assertEqual('0000:41:00.0', devices[UUID_USED]['gpu'])
        self.assertIsNone(devices[UUID_IDLE]['domain'])
        self.assertEqual('1g.10gb', devices[UUID_IDLE]['profile'])
        parent = report['vgpu_parents'][0]
        self.assertEqual('0000:41:00.0', parent['pf_address'])
        profiles = {t['id']: t['profile'] for t in parent['types']}
        self.assertEqual({'nvidia-700': '3g.40gb', 'nvidia-701': '1g.10gb',
                          'nvidia-702': '1g.10gb+me', 'nvidia-710': None},
                         profiles)

    def test_slice_map(self):
        report = discovery.discover(self.backend).as_dict()
        text = slicemap.render(report)
        labels, fills = [
            line.strip().strip('|').split('|')
            for line in text.splitlines() if line.startswith(slicemap.PAD +
                                                             '|')]
        # 3g.40gb over 4 slices in use, two 1g GIs, then 2 free slices.
        self.assertEqual(['3g.40gb GI1', '1g.10gb GI7', '1g.10gb GI8', 'free'],
                         [label.strip() for label in labels])
        self.assertEqual([slicemap.CELL * n - 1 for n in (4, 1, 1, 2)],
                         [len(label) for label in labels])
        self.assertEqual([slicemap.FILL_IN_USE, slicemap.FILL_IDLE_VGPU,
                          slicemap.FILL_IN_USE, slicemap.FILL_FREE],
                         [set(fill).pop() for fill in fills])
        self.assertIn('instance-00000001 (shutoff)', text)
        self.assertIn('MIG enabled', text)
        self.assertIn('VFs 3/20', text)

    def test_creatable_types_bounded_by_free_gpu_instances(self):
        report = discovery.discover(self.backend).as_dict()
        # Make every VF offer a 1g.10gb vGPU: only one GPU instance of that
        # profile (GI 8) carries no vGPU, so one is creatable, not three.
        for parent in report['vgpu_parents']:
            for vtype in parent['types']:
                if vtype['id'] == 'nvidia-701':
                    vtype['available_instances'] = 1
        text = slicemap.render(report)
        rows = [line for line in text.splitlines() if 'nvidia-701' in line
                and 'creatable' not in line and '0000:41:00.0 |' in line]
        self.assertEqual(1, len(rows), text)
        cells = [c.strip() for c in rows[0].strip('|').split('|')]
        self.assertEqual(['0000:41:00.0', 'nvidia-701', 'NVIDIA A100D-1-10C',
                          '1g.10gb', 'name', '3', '1'], cells)
        self.assertNotIn('nvidia-700 ', text.split('creatable now')[1])
