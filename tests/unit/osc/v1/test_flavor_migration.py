# SPDX-License-Identifier: Apache-2.0

"""``openstack mig flavor create --live-migratable`` over a fake cloud."""

from osc_lib import exceptions as osc_exc

from nova_mig.model import constants
from nova_mig.osc.v1 import flavor
from tests.unit.osc import base as osc_base

RC = osc_base.RC
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'
PCI = constants.PCI_PROVIDER_TRAIT
LIVE = constants.PCI_LIVE_MIGRATABLE_TRAIT


class LiveMigratableFlavorTestCase(osc_base.CommandTestCase):

    def setUp(self):
        super().setUp()
        self.placement.traits |= {RC, MODEL, PCI, LIVE}

    def create(self, *args):
        return self.run_cmd(flavor.CreateFlavor, '--profile', '1g.10gb',
                            '--live-migratable', *args)

    def test_mdev_flavor_pins_the_gpu_model(self):
        self.gpu('cn1', traits=(MODEL,))
        row = self.create('--model-trait', MODEL)
        self.assertEqual('required', row['properties']['trait:%s' % MODEL])
        self.assertNotIn('trait:%s' % LIVE, row['properties'])

    def test_without_a_model_trait_nothing_is_created(self):
        self.gpu('cn1')
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['--profile', '1g.10gb', '--live-migratable'])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('--model-trait', str(e))
        self.assertEqual([], self.compute.calls)

    def test_vendor_vfio_flavor_requires_live_migratable_devices(self):
        self.gpu('cn1', traits=(MODEL, PCI, LIVE))
        row = self.create('--model-trait', MODEL)
        self.assertEqual('required', row['properties']['trait:%s' % LIVE])

    def test_vendor_vfio_hosts_not_live_migratable(self):
        self.gpu('cn1', traits=(MODEL, PCI))
        cmd = flavor.CreateFlavor(self.app, None)
        args = cmd.get_parser('x').parse_args(
            ['--profile', '1g.10gb', '--live-migratable', '--model-trait',
             MODEL])
        e = self.assertRaises(osc_exc.CommandError, cmd.take_action, args)
        self.assertIn('[nova]live_migratable', str(e))
        self.assertIn('only from 2026.2 (34.0.0)', str(e))
        self.assertIn('pci_passthrough:alias', str(e))
        self.assertEqual([], self.compute.calls)
