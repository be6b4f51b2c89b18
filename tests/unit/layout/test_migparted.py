# SPDX-License-Identifier: Apache-2.0

"""Tests of the mig-parted conversion."""

import jsonschema

from nova_mig import exception
from nova_mig.layout import migparted
from tests import base as test_base

CONFIG = """
version: v1
mig-configs:
  all-1g:
    - devices: all
      mig-enabled: true
      mig-devices: {"1g.10gb": 7}
  mixed:
    - devices: [0, 1]
      device-filter: "0x20B510DE"
      mig-enabled: true
      mig-devices: {"3g.40gb": 1, "2g.20gb": 2}
    - devices: [2]
      mig-enabled: false
"""


class TestImport(test_base.TestCase):

    def test_schema_is_valid(self):
        jsonschema.Draft202012Validator.check_schema(migparted.ENTRY_SCHEMA)

    def test_devices_all(self):
        layout = migparted.import_config(CONFIG, 'all-1g')
        (gpu,) = layout.gpus
        self.assertTrue(gpu.selector.all)
        self.assertEqual(['1g.10gb'] * 7,
                         [g.profile for g in gpu.gpu_instances])
        self.assertEqual(0, gpu.selector.rank)

    def test_indexes_and_filter(self):
        layout = migparted.import_config(CONFIG, 'mixed')
        self.assertEqual([0, 1, 2], [g.selector.index for g in layout.gpus])
        self.assertEqual((0x20B510DE,), layout.gpus[0].selector.pci_device_ids)
        self.assertEqual(['3g.40gb', '2g.20gb', '2g.20gb'],
                         [g.profile for g in layout.gpus[1].gpu_instances])
        self.assertFalse(layout.gpus[2].mig)
        self.assertEqual([], layout.gpus[2].gpu_instances or [])

    def test_errors(self):
        for text, label, expected in [
                (CONFIG, 'nope', "no config 'nope'; the file has all-1g, "
                 "mixed"),
                ('version: v1\nmig-configs: {a: [{devices: all}]}', None,
                 'a[0]: "mig-enabled" must be true or false'),
                ('version: v2', None, 'expected "version: v1"'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: false, '
                 'mig-devices: {1g.10gb: 1}}]}', None,
                 'a[0]: "mig-devices" needs "mig-enabled: true"'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'mig-devices: {1g.10gb: -1}}]}', None,
                 'a[0]: count of 1g.10gb must be an integer from 0 to 7 (no '
                 'GPU holds more GPU instances)'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'mig-devices: {1g.10gb: 1000000000}}]}', None,
                 'a[0]: count of 1g.10gb must be an integer from 0 to 7 (no '
                 'GPU holds more GPU instances)'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'mig-devices: {1g.10gb: 4, 2g.20gb: 4}}]}', None,
                 'a[0].mig-devices: 8 GPU instances asked; no GPU holds '
                 'more than 7'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'mig-devices: [1g.10gb]}]}', None,
                 'a[0]: "mig-devices" must map profiles to counts'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'devices: first}]}', None,
                 'a[0]: "devices" must be "all" or a list of GPU indexes'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'device-filter: [H100]}]}', None,
                 "a[0]: device-filter 'H100' is not a PCI device ID"),
                ('version: v1\nmig-configs: {a: [{mig-enabled: true, '
                 'gpus: all}]}', None,
                 'a[0]: unknown key(s) gpus; allowed: device-filter, '
                 'devices, mig-devices, mig-enabled'),
                ('version: v1\nmig-configs: {a: [all]}', None,
                 "a[0]: expected a mapping, found 'all'"),
                ('version: v1\nmig-configs: {a: [], b: []}', None,
                 'several configs (a, b); choose one with --label'),
                ('version: v1\nmig-configs: {a: []}', None,
                 "config 'a' must be a non-empty list")]:
            error = self.assertRaises(exception.MigPartedError,
                                      migparted.import_config, text, label,
                                      'mp.yaml')
            self.assertEqual('mp.yaml: ' + expected,
                             str(error))
