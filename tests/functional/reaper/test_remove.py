# SPDX-License-Identifier: Apache-2.0

"""Removing devices of a simulated host: its kernel refuses busy ones."""

import os

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.model import constants
from nova_mig.reaper import decide
from nova_mig.reaper import removal
from nova_mig.simulator import backend as simulated
from tests.functional.reaper import base
from tests.unit.reaper import fakes


class TestRemoveMdev(base.ReaperTestCase):

    def setUp(self):
        super().setUp()
        self.remover = removal.Remover(self.conf, self.backend)

    def test_removes_and_deletes_mdevctl_definition(self):
        definition = os.path.join(self.conf.reaper.mdevctl_root, fakes.GPU1,
                                  fakes.B1)
        os.makedirs(os.path.dirname(definition))
        with open(definition, 'w') as f:
            f.write('{"mdev_type": "nvidia-235", "start": "auto"}')
        steps = self.remover.remove(fakes.mdev(fakes.B1, fakes.GPU1))
        # The test driver cannot undefine: the mdevctl file is deleted.
        self.assertEqual(['sysfs remove', 'mdevctl definition deleted'],
                         steps)
        self.assertFalse(self.mdev_exists(fakes.B1))
        self.assertFalse(os.path.exists(definition))
        self.assertTrue(self.mdev_exists(fakes.B2))
        # Idempotent: a second run finds nothing left to do.
        self.assertEqual(['sysfs: already gone'],
                         self.remover.remove(fakes.mdev(fakes.B1, fakes.GPU1)))

    def test_in_use_device_trips_the_simulated_kernel(self):
        e = self.assertRaises(exception.SysfsWriteError, self.remover.remove,
                              fakes.mdev(fakes.A1, fakes.GPU0))
        self.assertIn('EBUSY', str(e))
        self.assertTrue(self.mdev_exists(fakes.A1))


class TestRemoveVendorVfio(base.ReaperTestCase):

    host_file = base.VENDOR_VFIO

    def test_writes_zero_to_current_type(self):
        backend = simulated.SimulatedBackend(self.conf)
        remover = removal.Remover(self.conf, backend)
        path = os.path.join(backend.sysfs_root(), sysfs.PCI_DEVICES,
                            '0000:1b:00.5', 'nvidia', 'current_vgpu_type')
        self.assertNotEqual('0', open(path).read().strip())
        facts = decide.DeviceFacts(key='0000:1b:00.5',
                                   kind=constants.MODE_VENDOR_VFIO,
                                   parent='0000:1b:00.5', type_id='x')
        self.assertEqual(['current_vgpu_type = 0'], remover.remove(facts))
        path = os.path.join(backend.sysfs_root(), sysfs.PCI_DEVICES,
                            '0000:1b:00.5', 'nvidia', 'current_vgpu_type')
        self.assertEqual('0', open(path).read().strip())
        self.assertEqual(['current_vgpu_type: already 0'],
                         remover.remove(facts))
