# SPDX-License-Identifier: Apache-2.0

"""Several vGPUs on one GPU instance, end to end on a simulated host.

The RTX PRO 6000 Blackwell example host (vendor-specific VFIO): its
DC-2-12C is a time-sliced MIG-backed type, up to 4 per 2g.48gb+gfx GPU
instance.  A layout asks ``vgpus: 3`` per instance; discover, nova-config
and sync follow, and going back to one vGPU keeps the one a guest holds.
"""

import json
import os

from tests.functional import base

GPU1 = '0000:62:00.0'
LAYOUT = '''version: 1
defaults: {device_mode: vendor-vfio, sriov_vfs: 8}
gpus:
  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 2g.48gb+gfx, count: 2, vgpus: %%d,
         vgpu: {type: DC-2-12C}}
''' % GPU1


class TestSharedGpuInstance(base.CliTestCase):

    def setUp(self):
        super().setUp()
        self.hostname = 'compute-rtx6000-1'
        self.conf = self.write_conf(
            base.host_file('rtx-pro-6000-vendor-vfio.yaml'),
            '[nova]\nhypervisor_hostname = %s\n' % self.hostname)

    def run_ok(self, *args):
        rc, out, err = self.nova_mig(*args, conf_file=self.conf)
        self.assertEqual(0, rc, out + err)
        return out

    def apply(self, vgpus):
        path = os.path.join(self.tmpdir, 'layout-%d.yaml' % vgpus)
        with open(path, 'w') as f:
            f.write(LAYOUT % vgpus)
        self.run_ok('layout', 'apply', path)

    def gpu1_instances(self):
        report = json.loads(self.run_ok('discover', '-f', 'json'))
        (gpu,) = [g for g in report['gpus'] if g['pci_address'] == GPU1]
        types = {t['id']: t for p in report['vgpu_parents']
                 if p['pf_address'] == GPU1 for t in p['types']}
        return gpu['gpu_instances'], types

    def test_three_per_instance_then_back_to_one(self):
        self.apply(3)
        instances, types = self.gpu1_instances()
        self.assertEqual([3, 3], [len(gi['vgpu_devices'])
                                  for gi in instances])
        # The VF a shut-off guest holds stayed on its instance.
        self.assertIn('0000:62:00.4', instances[0]['vgpu_devices'])
        self.assertEqual({'driver'}, {t['mapping'] for t in types.values()})

        snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        self.run_ok('nova-config', '--output', snippet, '--provider-config',
                    os.path.join(self.tmpdir, 'provider', 'nova-mig.yaml'))
        with open(snippet) as f:
            specs = [json.loads(line.split(' = ', 1)[1]) for line in f
                     if line.startswith('device_spec = ')]
        gpu1 = [s for s in specs if s['address'].startswith('0000:62:')]
        self.assertEqual(6, len(gpu1))
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX'},
                         {s['resource_class'] for s in gpu1})

        result = json.loads(self.run_ok('sync', '-f', 'json'))
        (provider,) = [p for p in result['providers']
                       if p['name'] == '%s_%s' % (self.hostname, GPU1)]
        self.assertEqual('CUSTOM_MIG_2G_48GB_GFX', provider['resource_class'])
        # Placement totals: one vGPU per VF, three per GPU instance.
        verify = json.loads(self.run_ok('verify', '-f', 'json'))
        (checked,) = [c for c in verify['checked']
                      if c['provider'] == provider['name']]
        self.assertEqual({'CUSTOM_MIG_2G_48GB_GFX': 6}, checked['expected'])
        self.assertTrue(verify['ok'], verify)

        self.apply(1)
        instances, _types = self.gpu1_instances()
        self.assertEqual([['0000:62:00.4'], 1],
                         [instances[0]['vgpu_devices'],
                          len(instances[1]['vgpu_devices'])])
