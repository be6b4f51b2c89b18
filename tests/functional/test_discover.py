# SPDX-License-Identifier: Apache-2.0

"""Functional tests: ``nova-mig discover`` on the example simulated hosts."""

import json
import os

import testscenarios

from nova_mig.model import vgpu_types
from tests.functional import base

load_tests = testscenarios.load_tests_apply_scenarios


class TestDiscoverExampleHosts(base.CliTestCase):
    """Every example host, through the CLI, the sysfs reader and libvirt."""

    scenarios = [
        ('a100_mixed', dict(host='a100-mixed.yaml', mode='mdev', gpus=2,
                            hostname='compute-a100-1')),
        ('h100_8x', dict(host='h100-sxm5-8x.yaml', mode='mdev', gpus=8,
                         hostname=None)),
        ('h200_vendor', dict(host='h200-vendor-vfio.yaml',
                             mode='vendor-vfio', gpus=1,
                             hostname='compute-h200-1')),
        ('h200_uniform', dict(host='h200-vendor-vfio-uniform.yaml',
                              mode='vendor-vfio', gpus=2,
                              hostname='compute-h200-2')),
        ('t4_orphans', dict(host='t4-orphans.yaml', mode='mdev', gpus=2,
                            hostname=None)),
    ]

    def discover(self, *args):
        conf = self.write_conf(base.host_file(self.host))
        rc, out, err = self.nova_mig('discover', *args, conf_file=conf)
        self.assertEqual(0, rc, err)
        return out

    def test_json_document(self):
        report = json.loads(self.discover('-f', 'json'))
        self.assertEqual({'version', 'hostname', 'device_mode', 'gpus',
                          'vgpu_parents', 'vgpu_devices', 'domains'},
                         set(report))
        self.assertEqual(self.mode, report['device_mode'])
        self.assertEqual(self.gpus, len(report['gpus']))
        if self.hostname:
            self.assertEqual(self.hostname, report['hostname'])
        gpu_addresses = {g['pci_address'] for g in report['gpus']}
        for gpu in report['gpus']:
            self.assertEqual({'pci_address', 'uuid', 'model', 'mig_mode',
                              'gpu_instances'},
                             {'pci_address', 'uuid', 'model', 'mig_mode',
                              'gpu_instances'} & set(gpu))
            self.assertTrue(gpu['uuid'].startswith('GPU-'))
            # Placements never overlap and stay inside the GPU.
            used = []
            for gi in gpu['gpu_instances']:
                span = range(gi['placement_start'],
                             gi['placement_start'] + gi['placement_size'])
                self.assertFalse(set(span) & set(used), gi)
                used.extend(span)
                self.assertLessEqual(max(span) + 1, gpu['memory_slices'])
        for parent in report['vgpu_parents']:
            self.assertIn(parent['pf_address'], gpu_addresses)
            self.assertEqual(self.mode, parent['mode'])
            for vtype in parent['types']:
                # The profile always comes from the name, never the ID.
                self.assertEqual(
                    vgpu_types.profile_for(vtype['name']), vtype['profile'])
        # Type IDs in one form: what the host's vgpu_parents offer.
        offered = {t['id'] for p in report['vgpu_parents']
                   for t in p['types']}
        for gpu in report['gpus']:
            for gi in gpu['gpu_instances']:
                creatable = gi.get('creatable_vgpu_types') or []
                self.assertLessEqual(set(creatable), offered, gi)
        domains = {d['name']: d for d in report['domains']}
        for device in report['vgpu_devices']:
            self.assertIn(device['gpu'], gpu_addresses)
            # No layout apply ran on this state directory: nova-mig
            # created none of the devices.
            self.assertIs(False, device['owned'])
            if device['domain']:
                held = domains[device['domain']]
                self.assertTrue(device['uuid'] in held['mdevs'] or
                                device['parent'] in held['pci_devices'])

    def test_table_draws_every_gpu(self):
        out = self.discover()
        self.assertEqual(self.gpus, out.count('\nGPU ') + out.startswith(
            'GPU '))
        self.assertIn('device mode: %s' % self.mode, out)

    def test_yaml_and_value_formats(self):
        self.assertIn('device_mode: %s' % self.mode,
                      self.discover('-f', 'yaml'))
        self.assertIn(self.mode, self.discover('-f', 'value', '-c',
                                               'device_mode'))


class TestDiscoverDetails(base.CliTestCase):

    def report(self, host):
        conf = self.write_conf(base.host_file(host))
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def test_a100_mixed_in_use_and_idle(self):
        report = self.report('a100-mixed.yaml')
        in_use = {(g['pci_address'], gi['profile']): gi['in_use']
                  for g in report['gpus'] for gi in g['gpu_instances']
                  if gi['vgpu_device']}
        # The running and the shut-off guest both hold their GPU instance.
        self.assertTrue(in_use[('0000:41:00.0', '3g.40gb')])
        self.assertTrue(in_use[('0000:41:00.0', '1g.10gb')])
        # A vGPU device no guest references leaves its GI idle.
        self.assertFalse(in_use[('0000:81:00.0', '4g.40gb')])
        states = {d['domain']: d['domain_state']
                  for d in report['vgpu_devices'] if d['domain']}
        self.assertEqual({'running', 'shutoff'}, set(states.values()))

    def test_t4_orphans_are_visible(self):
        report = self.report('t4-orphans.yaml')
        orphans = [d for d in report['vgpu_devices'] if not d['domain']]
        used = [d for d in report['vgpu_devices'] if d['domain']]
        self.assertTrue(orphans)
        self.assertTrue(used)
        # Some orphans are of another type than every device in use: they
        # block the type Nova now wants on their GPU.
        used_types = {d['type'] for d in used}
        self.assertTrue([d for d in orphans if d['type'] not in used_types])
        for device in report['vgpu_devices']:
            self.assertIsNone(device['profile'])    # time-sliced

    def test_vendor_vfio_devices_are_vfs(self):
        report = self.report('h200-vendor-vfio-uniform.yaml')
        self.assertEqual(3, len(report['vgpu_devices']))
        for device in report['vgpu_devices']:
            self.assertIsNone(device['uuid'])
            self.assertIn(device['profile'], ('1g.18gb', '2g.35gb'))
        held = {d['parent']: d['domain'] for d in report['vgpu_devices']}
        self.assertEqual('instance-00000201', held['0000:1b:00.4'])
        self.assertIsNone(held['0000:1b:00.5'])

    def test_vendor_vfio_vgpus_sit_on_their_gpu_instances(self):
        # Issue 12 finding 10: the VF's nvidia/gpu_instance_id links each
        # vGPU to its GPU instance, so the running guest's GI is in use.
        report = self.report('h200-vendor-vfio.yaml')
        by_parent = {d['parent']: d for d in report['vgpu_devices']}
        instances = {gi['id']: gi for gi in report['gpus'][0][
            'gpu_instances']}
        running = by_parent['0000:1b:00.4']
        self.assertIsNotNone(running['gpu_instance_id'])
        gi = instances[running['gpu_instance_id']]
        self.assertEqual('1g.18gb', gi['profile'])
        self.assertEqual('0000:1b:00.4', gi['vgpu_device'])
        self.assertTrue(gi['in_use'])
        shut_off = instances[by_parent['0000:1b:00.6']['gpu_instance_id']]
        self.assertEqual('2g.35gb', shut_off['profile'])
        self.assertTrue(shut_off['in_use'])     # a defined guest holds it
        idle = instances[by_parent['0000:1b:00.5']['gpu_instance_id']]
        self.assertEqual('0000:1b:00.5', idle['vgpu_device'])
        self.assertFalse(idle['in_use'])
        free = [g for g in instances.values() if not g['vgpu_device']]
        self.assertEqual(3, len(free))
        parents = {p['address']: p for p in report['vgpu_parents']}
        self.assertEqual(2, parents['0000:1b:00.4']['gpu_instance_id'])
        self.assertIsNone(parents['0000:1b:00.7']['gpu_instance_id'])

    def test_vendor_vfio_slice_map_draws_used_instances(self):
        conf = self.write_conf(base.host_file('h200-vendor-vfio.yaml'))
        rc, out, err = self.nova_mig('discover', conf_file=conf)
        self.assertEqual(0, rc, err)
        self.assertIn('#' * 11, out)


class TestDiscoverErrors(base.CliTestCase):
    """Bad input: one clear line, non-zero exit, no traceback."""

    def assertOneLineError(self, rc, err, *fragments):
        self.assertNotEqual(0, rc)
        lines = [line for line in err.splitlines() if line.strip()]
        self.assertEqual(1, len(lines), err)
        self.assertTrue(lines[0].startswith('nova-mig: error: '), err)
        self.assertNotIn('Traceback', err)
        for fragment in fragments:
            self.assertIn(fragment, lines[0])

    def write_host(self, text):
        path = os.path.join(self.tmpdir, 'host.yaml')
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_missing_host_file(self):
        missing = os.path.join(self.tmpdir, 'nope.yaml')
        rc, out, err = self.nova_mig('discover',
                                     conf_file=self.write_conf(missing))
        self.assertOneLineError(rc, err, missing)

    def test_malformed_host_file(self):
        host = self.write_host('version: 1\ngpus: [\n')
        rc, out, err = self.nova_mig('discover',
                                     conf_file=self.write_conf(host))
        self.assertOneLineError(rc, err, host)

    def test_unknown_gpu_model(self):
        host = self.write_host(
            'version: 1\nhostname: h\ndevice_mode: mdev\ngpus:\n'
            '  - model: RTX-9999\n    pci_address: "0000:41:00.0"\n')
        rc, out, err = self.nova_mig('discover',
                                     conf_file=self.write_conf(host))
        self.assertOneLineError(rc, err, host, 'RTX-9999', 'A100')

    def test_host_file_schema_error(self):
        # The schema's error: file, key path and reason on one line.
        host = self.write_host(
            'version: 1\nhostname: h\ngpus:\n'
            '  - model: A100-PCIE-80GB\n    pci_address: "0000:41:00.0"\n'
            '    sriov_vfs: -1\n')
        rc, out, err = self.nova_mig('discover',
                                     conf_file=self.write_conf(host))
        self.assertOneLineError(rc, err, host + ': gpus[0].sriov_vfs: '
                                'expected an integer >= 0, found -1')

    def test_unreadable_sysfs(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, err = self.nova_mig('discover', conf_file=conf)
        self.assertEqual(0, rc, err)
        sysroot = os.path.join(self.tmpdir, 'state', 'simulator', 'sys')
        victim = os.path.join(sysroot, 'bus', 'pci', 'devices',
                              '0000:41:00.0', 'sriov_totalvfs')
        with open(victim, 'w') as f:
            f.write('garbage\n')
        rc, out, err = self.nova_mig('discover', conf_file=conf)
        self.assertOneLineError(rc, err, 'sriov_totalvfs', "'garbage'")

    def test_libvirt_unreachable(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, err = self.nova_mig('discover', conf_file=conf)
        self.assertEqual(0, rc, err)
        os.unlink(os.path.join(self.tmpdir, 'state', 'simulator',
                               'libvirt.xml'))
        rc, out, err = self.nova_mig('discover', conf_file=conf)
        self.assertOneLineError(rc, err, 'libvirt', 'libvirt.xml')

    def test_nvml_missing(self):
        # The real NVML backend on a machine without the NVIDIA driver.
        path = os.path.join(self.tmpdir, 'nvml.conf')
        with open(path, 'w') as f:
            f.write('[gpu]\nbackend = nvml\n')
        rc, out, err = self.nova_mig('discover', conf_file=path)
        self.assertOneLineError(rc, err, 'NVML', 'simulated')

    def test_debug_shows_traceback(self):
        path = os.path.join(self.tmpdir, 'nvml.conf')
        with open(path, 'w') as f:
            f.write('[gpu]\nbackend = nvml\n')
        rc, out, err = self.nova_mig('--debug', 'discover', conf_file=path)
        self.assertNotEqual(0, rc)
        self.assertIn('Traceback', err)

    def test_unknown_backend(self):
        path = os.path.join(self.tmpdir, 'x.conf')
        with open(path, 'w') as f:
            f.write('[gpu]\nbackend = quantum\n')
        rc, out, err = self.nova_mig('discover', conf_file=path)
        self.assertOneLineError(rc, err, "'quantum'", 'nvml', 'simulated')

    def test_malformed_config_file(self):
        path = os.path.join(self.tmpdir, 'bad.conf')
        with open(path, 'w') as f:
            f.write('[gpu\nbackend = nvml\n')
        rc, out, err = self.nova_mig('discover', conf_file=path)
        self.assertOneLineError(rc, err, path)
