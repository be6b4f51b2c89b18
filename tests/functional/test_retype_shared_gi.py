# SPDX-License-Identifier: Apache-2.0

"""``nova-mig retype`` across GPU instances several vGPUs share.

Two simulated RTX PRO 6000 Blackwell in vendor-specific VFIO mode, a real
embedded Placement and, as nova-compute's restart command, the simulated
restart that makes Placement follow the Nova configuration nova-mig
writes.  GPU A's GPU instance at placement 0 carries three DC-2-12C
vGPUs (a time-sliced MIG-backed type, up to four per 2g.48gb+gfx
instance): a running guest holds the first, the other two are orphans; its
instance at placement 2 carries one orphan.  GPU B carries two unused
DC-1-24Q vGPUs on 1g.24gb+gfx instances.

Where a newly created vGPU lands is the driver's choice; three per
instance after creating six rests on the simulator's unverified spreading
(doc/source/reference/simulated-host.rst).  The tests on GPU A only
remove vGPUs, so they do not depend on it.
"""

import json
import os

from oslo_config import cfg

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.simulator import nova_compute
from nova_mig.workflows import retype
from tests.functional import base

HOSTNAME = 'compute-rtx6000-shared'
GPU_A, GPU_B = '0000:61:00.0', '0000:62:00.0'
HELD = '0000:61:00.4'
GUEST = 'instance-00000601'
HOST = '''version: 1
hostname: %s
device_mode: vendor-vfio
vgpu_manager: true
gpus:
  - model: RTX-PRO-6000-BSE
    pci_address: "%s"
    mig_mode: enabled
    sriov_vfs: 8
    gpu_instances:
      - {profile: 2g.48gb+gfx, placement: 0}
      - {profile: 2g.48gb+gfx, placement: 2}
  - model: RTX-PRO-6000-BSE
    pci_address: "%s"
    mig_mode: enabled
    sriov_vfs: 8
    gpu_instances:
      - {profile: 1g.24gb+gfx, placement: 0}
      - {profile: 1g.24gb+gfx, placement: 1}
      - {profile: 1g.24gb+gfx, placement: 2}
      - {profile: 1g.24gb+gfx, placement: 3}
vgpus:
  - {type: DC-2-12C, parent: "%s", gpu_instance: 0}
  - {type: DC-2-12C, parent: "0000:61:00.5", gpu_instance: 0}
  - {type: DC-2-12C, parent: "0000:61:00.6", gpu_instance: 0}
  - {type: DC-2-12C, parent: "0000:61:00.7", gpu_instance: 2}
  - {type: DC-1-24Q, parent: "0000:62:00.4"}
  - {type: DC-1-24Q, parent: "0000:62:00.5"}
domains:
  - name: %s
    display_name: notebook-1
    state: running
    pci_hostdevs: ["%s"]
''' % (HOSTNAME, GPU_A, GPU_B, HELD, GUEST, HELD)
HEAD = 'version: 1\ndefaults: {device_mode: vendor-vfio, sriov_vfs: 8}\n' \
    'gpus:\n'
#: GPU B: two 2g.48gb+gfx instances, three DC-2-12C on each.
B_SHARED = '''  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 2g.48gb+gfx, count: 2, vgpus: 3, vgpu: {type: DC-2-12C}}
''' % GPU_B
#: GPU A: four 1g.24gb+gfx instances; destroys the guest's instance.
A_SPLIT = '''  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 1g.24gb+gfx, count: 4, vgpu: {type: DC-1-24Q}}
''' % GPU_A
#: GPU A: both instances kept, one vGPU each: only removals, so where a
#: new vGPU would land (the driver's choice) plays no part.
#: (Nova tracks a PF's VFs as one provider: one profile per GPU.)
A_KEEP = '''  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 2g.48gb+gfx, count: 2, vgpus: 1, vgpu: {type: DC-2-12C}}
''' % GPU_A
#: GPU A: the guest's instance alone, with its one vGPU.
A_ONE = '''  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 2g.48gb+gfx, placement: 0, vgpus: 1,
         vgpu: {type: DC-2-12C}}
''' % GPU_A


class TestRetypeSharedGpuInstance(base.CliTestCase):

    def setUp(self):
        super().setUp()
        host = os.path.join(self.tmpdir, 'host.yaml')
        with open(host, 'w') as f:
            f.write(HOST)
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[DEFAULT]\n')
        self.conf_path = self.write_cloud_conf(host, HOSTNAME, extra=(
            '[reaper]\ngrace_period = 0\nnova_config_files = %s\n'
            'proc_root = %s\n' % (nova_conf, self.tmpdir)))
        rc, out, err = self.nova_mig('nova-config', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        nova_compute.restart(self.load())
        self.before_a = self.vgpus_per_gi(GPU_A)

    def load(self):
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', self.conf_path], project='nova-mig')
        return conf

    def layout(self, *gpus):
        path = os.path.join(self.tmpdir, 'layout.yaml')
        with open(path, 'w') as f:
            f.write(HEAD + ''.join(gpus))
        return path

    def retype(self, layout, *args):
        return self.nova_mig('retype', layout, '--skip-service-steps',
                             '--include-foreign', '-f', 'json', *args,
                             conf_file=self.conf_path)

    def vgpus_per_gi(self, address):
        """(profile, placement start) -> sorted VFs carrying a vGPU."""
        report = discovery.discover(gpu.load_backend(self.load()))
        the_gpu = report.gpu_by_address(address)
        result = {(gi.profile_name, gi.placement.start): []
                  for gi in the_gpu.gpu_instances}
        starts = {gi.id: (gi.profile_name, gi.placement.start)
                  for gi in the_gpu.gpu_instances}
        for dev in report.vgpu_devices():
            if dev['gpu'] == address:
                result[starts[dev['gpu_instance_id']]].append(dev['parent'])
        return {k: sorted(v) for k, v in result.items()}

    def inventory(self, address):
        client = self.server.client()
        (rp,) = [p for p in client.providers()
                 if p['name'] == '%s_%s' % (HOSTNAME, address)]
        inventories, _ = client.inventories(rp['uuid'])
        return {rc: inv['total'] for rc, inv in inventories.items()}

    def test_setup(self):
        # What the tests stand on: three vGPUs share A's instance at 0.
        # Nova is offered the four VFs that carry a vGPU (each counted on
        # the GPU instance its nvidia/gpu_instance_id names), not four
        # more for an instance wrongly seen as empty.
        self.assertEqual(
            {('2g.48gb+gfx', 0): [HELD, '0000:61:00.5', '0000:61:00.6'],
             ('2g.48gb+gfx', 2): ['0000:61:00.7']}, self.before_a)
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX': 4},
                         self.inventory(GPU_A))

    def test_guest_on_a_shared_instance_stops_the_retype(self):
        rc, out, err = self.retype(self.layout(A_SPLIT, B_SHARED))
        self.assertEqual(1, rc, out + err)
        self.assertIn('retype stopped at step check-in-use', err)
        self.assertIn('%s (%s on %s)' % (GUEST, HELD, GPU_A), err)
        state = retype.load_state(os.path.join(self.tmpdir, 'state'))
        self.assertEqual('check-in-use', state['failed']['step'])
        # Nothing was reaped or destroyed: not the guest's instance, not
        # its siblings, not the other GPU.
        self.assertEqual(self.before_a, self.vgpus_per_gi(GPU_A))
        self.assertEqual(4, len(self.vgpus_per_gi(GPU_B)))

    def test_completed_retype_leaves_three_per_instance(self):
        rc, out, err = self.retype(self.layout(B_SHARED))
        self.assertEqual(0, rc, out + err)
        rows = {r['step']: r for r in json.loads(out)}
        self.assertEqual({'done'}, {r['status'] for r in rows.values()})
        self.assertEqual('removed 0000:62:00.4, 0000:62:00.5',
                         rows['reap']['detail'])
        after = self.vgpus_per_gi(GPU_B)
        self.assertEqual([('2g.48gb+gfx', 0), ('2g.48gb+gfx', 2)],
                         sorted(after))
        self.assertEqual([3, 3], [len(v) for _, v in sorted(after.items())])
        # Nova's configuration: one device_spec per vGPU of GPU B.
        with open(self.snippet) as f:
            specs = [json.loads(line.split(' = ', 1)[1]) for line in f
                     if line.startswith('device_spec = ')]
        self.assertEqual(6, len([s for s in specs
                                 if s['address'].startswith('0000:62:')]))
        # Placement: one inventory unit per vGPU, three per instance.
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX': 6},
                         self.inventory(GPU_B))
        # GPU A, with its guest, was not part of the change.
        self.assertEqual(self.before_a, self.vgpus_per_gi(GPU_A))
        self.assertIsNone(retype.load_state(
            os.path.join(self.tmpdir, 'state')))

    def test_per_gpu_defers_the_gpu_of_the_guest(self):
        rc, out, err = self.retype(self.layout(A_SPLIT, B_SHARED),
                                   '--per-gpu')
        self.assertEqual(1, rc, out + err)
        self.assertIn('%s refused' % GPU_A, err)
        self.assertIn('domain %s (vGPU %s)' % (GUEST, HELD), err)
        self.assertIn('%s changed' % GPU_B, err)
        self.assertEqual(self.before_a, self.vgpus_per_gi(GPU_A))
        self.assertEqual([3, 3], [len(v) for v in
                                  self.vgpus_per_gi(GPU_B).values()])

    def test_per_gpu_keeps_the_guest_instance_and_drops_its_orphans(self):
        rc, out, err = self.retype(self.layout(A_KEEP), '--per-gpu')
        self.assertEqual(0, rc, out + err)
        (row,) = json.loads(out)
        self.assertIn('%s changed' % GPU_A, row['detail'])
        after = self.vgpus_per_gi(GPU_A)
        # The guest's instance stayed, with the guest's vGPU alone on it;
        # its two orphans went; the other instance kept its one.
        self.assertEqual({('2g.48gb+gfx', 0): [HELD],
                          ('2g.48gb+gfx', 2): ['0000:61:00.7']}, after)
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX': 2},
                         self.inventory(GPU_A))

    def test_per_gpu_destroys_only_the_instance_no_guest_uses(self):
        rc, out, err = self.retype(self.layout(A_ONE), '--per-gpu')
        self.assertEqual(0, rc, out + err)
        self.assertEqual({('2g.48gb+gfx', 0): [HELD]},
                         self.vgpus_per_gi(GPU_A))
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX': 1},
                         self.inventory(GPU_A))
