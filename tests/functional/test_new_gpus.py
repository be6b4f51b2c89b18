# SPDX-License-Identifier: Apache-2.0

"""Example hosts of newer GPUs end to end: discover, plan, nova-config, sync.

RTX PRO 6000 Blackwell Server Edition (vendor-specific VFIO, MIG-backed
types only on "+gfx" GPU instances) and HGX B200 (mdev).
"""

import configparser
import json
import os

from tests.functional import base

LAYOUTS = os.path.join(base.REPO, 'etc', 'nova-mig', 'layouts')


class NewGpuTestCase(base.CliTestCase):

    host = ''
    layout = ''

    def setUp(self):
        super().setUp()
        self.hostname = os.path.splitext(self.host)[0]
        self.conf = self.write_conf(
            base.host_file(self.host),
            '[nova]\nhypervisor_hostname = %s\n' % self.hostname)

    def run_ok(self, *args):
        rc, out, err = self.nova_mig(*args, conf_file=self.conf)
        self.assertEqual(0, rc, err)
        return out

    def report(self):
        return json.loads(self.run_ok('discover', '-f', 'json'))

    def plan(self):
        return json.loads(self.run_ok(
            'layout', 'plan', '-f', 'json',
            os.path.join(LAYOUTS, self.layout)))

    def nova_config(self):
        snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        provider = os.path.join(self.tmpdir, 'provider', 'nova-mig.yaml')
        self.run_ok('nova-config', '--output', snippet,
                    '--provider-config', provider)
        parser = configparser.RawConfigParser(strict=False)
        with open(snippet) as f:
            text = f.read()
        parser.read_string(text)
        return parser, text

    def sync(self):
        first = json.loads(self.run_ok('sync', '-f', 'json'))
        second = json.loads(self.run_ok('sync', '-f', 'json'))
        self.assertEqual(0, second['writes'])
        return first


class TestRtxPro6000(NewGpuTestCase):

    host = 'rtx-pro-6000-vendor-vfio.yaml'
    layout = 'rtx-pro-6000.yaml'

    def test_discover_maps_types_to_gfx_profiles_by_the_driver(self):
        report = self.report()
        self.assertEqual('vendor-vfio', report['device_mode'])
        devices = {d['parent']: d for d in report['vgpu_devices']}
        # The name says 1g.24gb, the driver says 1g.24gb+gfx.
        self.assertEqual('1g.24gb+gfx', devices['0000:61:00.4']['profile'])
        self.assertEqual('2g.48gb+gfx', devices['0000:62:00.4']['profile'])
        gpu0 = report['gpus'][0]
        self.assertEqual('NVIDIA RTX PRO 6000 Blackwell Server Edition',
                         gpu0['model'])
        self.assertEqual(4, gpu0['memory_slices'])
        self.assertEqual({'total': 48, 'enabled': 8}, gpu0['sriov_vfs'])
        self.assertIn('1g.24gb-me', {p['name'] for p in gpu0['profiles']})
        used = [gi for gi in gpu0['gpu_instances'] if gi['in_use']]
        self.assertEqual(['0000:61:00.4'], [gi['vgpu_device']
                                            for gi in used])

    def test_layout_plan_only_adds_vgpus(self):
        actions = {(r['GPU'], r['Action'], r['Status']) for r in self.plan()}
        self.assertEqual({('0000:61:00.0', 'create-vgpu', 'planned'),
                          ('0000:62:00.0', 'create-vgpu', 'planned')},
                         actions)

    def test_nova_config_classes_name_the_gfx_profile(self):
        _parser, text = self.nova_config()
        self.assertIn('"resource_class": "CUSTOM_MIG_1G_24GB_GFX"', text)
        self.assertIn('"resource_class": "CUSTOM_MIG_2G_48GB_GFX"', text)
        self.assertNotIn('CUSTOM_MIG_1G_24GB"', text)
        self.assertIn('"product_id": "2bb5"', text)

    def test_sync(self):
        result = self.sync()
        self.assertIn('CUSTOM_MIG_1G_24GB_GFX', result['traits_created'])
        self.assertEqual(
            {'%s_0000:61:00.0' % self.hostname,
             '%s_0000:62:00.0' % self.hostname},
            {p['name'] for p in result['providers']})


class TestB200(NewGpuTestCase):

    host = 'b200-hgx.yaml'
    layout = 'b200-balanced.yaml'

    def test_discover(self):
        report = self.report()
        self.assertEqual('mdev', report['device_mode'])
        gpu0, gpu1 = report['gpus']
        self.assertEqual('0x290110DE', gpu0['pci_device_id'])
        self.assertEqual(['2g.45gb', '1g.23gb', '1g.23gb', '3g.90gb'],
                         [gi['profile'] for gi in gpu0['gpu_instances']])
        self.assertEqual([], gpu1['gpu_instances'])
        profiles = {d['type_name'].split()[-1]: d['profile']
                    for d in report['vgpu_devices']}
        self.assertEqual({'B200X-3-90C': '3g.90gb',
                          'B200X-1-23C': '1g.23gb'}, profiles)

    def test_layout_plan_fills_both_gpus(self):
        rows = self.plan()
        self.assertEqual({'planned'}, {r['Status'] for r in rows})
        created = [r for r in rows if r['GPU'] == '0000:43:00.0' and
                   r['Action'] == 'create-gi']
        self.assertEqual(4, len(created))
        vgpus = [r for r in rows if r['Action'] == 'create-vgpu']
        self.assertEqual(6, len(vgpus))

    def test_nova_config(self):
        parser, _text = self.nova_config()
        classes = {parser.get(s, 'mdev_class') for s in parser.sections()
                   if s.startswith('mdev_')}
        self.assertEqual({'CUSTOM_MIG_1G_23GB', 'CUSTOM_MIG_2G_45GB',
                          'CUSTOM_MIG_3G_90GB'}, classes)

    def test_sync(self):
        result = self.sync()
        self.assertIn('CUSTOM_GPU_NVIDIA_B200', result['traits_created'])
        self.assertIn('CUSTOM_MIG_3G_90GB', result['traits_created'])
