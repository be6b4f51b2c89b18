# SPDX-License-Identifier: Apache-2.0

"""Tests of reading the enabled vGPU types from Nova's configuration."""

import json
import os

from nova_mig.novaconf import enabled_types
from tests import base


class TestEnabledTypes(base.TestCase):

    def write(self, name, text):
        path = os.path.join(self.tmpdir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_single_type_enabled_everywhere(self):
        path = self.write('a.conf', '[devices]\nenabled_mdev_types = '
                                    'nvidia-1\n')
        enabled = enabled_types.read_enabled([path])
        self.assertEqual((True, 'the only enabled type'),
                         enabled.enabled('mdev', 'nvidia-1', 'any'))
        ok, note = enabled.enabled('mdev', 'nvidia-2', 'any')
        self.assertFalse(ok)
        self.assertIn('enabled_mdev_types', note)

    def test_later_file_overrides_and_addresses_restrict(self):
        first = self.write('a.conf', '[devices]\nenabled_mdev_types = '
                                     'nvidia-9\n')
        second = self.write('b.conf', (
            '[devices]\nenabled_mdev_types = nvidia-1, nvidia-2\n'
            '[mdev_nvidia-1]\ndevice_addresses = 0000:41:00.4\n'
            '[mdev_nvidia-2]\ndevice_addresses = 0000:41:00.5\n'))
        enabled = enabled_types.read_enabled([first, second,
                                              '/nonexistent/nova.conf'])
        self.assertEqual([first, second], enabled.files_read)
        self.assertFalse(enabled.enabled('mdev', 'nvidia-9', 'x')[0])
        self.assertTrue(enabled.enabled('mdev', 'nvidia-1',
                                        '0000:41:00.4')[0])
        ok, note = enabled.enabled('mdev', 'nvidia-1', '0000:41:00.5')
        self.assertFalse(ok)
        self.assertIn('not on 0000:41:00.5', note)

    def test_deprecated_names(self):
        path = self.write('a.conf', (
            '[devices]\nenabled_vgpu_types = nvidia-1,nvidia-2\n'
            '[vgpu_nvidia-2]\ndevice_addresses = 0000:41:00.5\n'))
        enabled = enabled_types.read_enabled([path])
        self.assertTrue(enabled.enabled('mdev', 'nvidia-2',
                                        '0000:41:00.5')[0])

    def test_nothing_readable_is_unknown(self):
        enabled = enabled_types.read_enabled(['/nonexistent/nova.conf'])
        self.assertIsNone(enabled.enabled('mdev', 'nvidia-1', 'x')[0])

    def test_unparsable_file_skipped(self):
        path = self.write('bad.conf', 'not an ini file [\n')
        enabled = enabled_types.read_enabled([path])
        self.assertEqual([], enabled.files_read)

    def test_vendor_vfio_device_specs_accumulate(self):
        one = self.write('a.conf', '[pci]\ndevice_spec = %s\n' % json.dumps(
            {'address': '0000:41:00.4', 'managed': 'no'}))
        two = self.write('b.conf', '[pci]\ndevice_spec = %s\n' % json.dumps(
            {'address': '0000:42:*'}))
        enabled = enabled_types.read_enabled([one, two])
        self.assertTrue(enabled.enabled('vendor-vfio', '7',
                                        '0000:41:00.4')[0])
        self.assertTrue(enabled.enabled('vendor-vfio', '7',
                                        '0000:42:00.5')[0])
        self.assertFalse(enabled.enabled('vendor-vfio', '7',
                                         '0000:41:00.5')[0])

    def test_vendor_spec_without_address_may_match(self):
        path = self.write('a.conf', '[pci]\ndevice_spec = %s\n' % json.dumps(
            {'vendor_id': '10de', 'product_id': '2335'}))
        ok, note = enabled_types.read_enabled([path]).enabled(
            'vendor-vfio', '7', '0000:41:00.4')
        self.assertTrue(ok)
        self.assertIn('may match', note)

    def test_config_files_adds_snippet_once(self):
        self.flags(nova_config_files=['/etc/nova/nova.conf'],
                   group='reaper')
        self.flags(config_snippet='/etc/nova/nova.conf.d/mig.conf',
                   group='nova')
        self.assertEqual(['/etc/nova/nova.conf',
                          '/etc/nova/nova.conf.d/mig.conf'],
                         enabled_types.config_files(self.conf))
