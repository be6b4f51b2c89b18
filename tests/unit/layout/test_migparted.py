"""Tests of the mig-parted conversion."""

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
                ('version: v2', None, 'expected "version: v1"'),
                ('version: v1\nmig-configs: {a: [{devices: all}]}', None,
                 '"mig-enabled" must be true or false'),
                ('version: v1\nmig-configs: {a: [{mig-enabled: false, '
                 'mig-devices: {1g.10gb: 1}}]}', None,
                 '"mig-devices" needs "mig-enabled: true"')]:
            error = self.assertRaises(exception.MigPartedError,
                                      migparted.import_config, text, label,
                                      'mp.yaml')
            self.assertIn(expected, str(error))
