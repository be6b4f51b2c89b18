"""Tests of the layout checkpoint and the backends' MIG mode change."""

import os

from nova_mig import exception
from nova_mig.gpu import base
from nova_mig.layout import checkpoint
from nova_mig.layout import schema
from nova_mig.simulator import backend as simulated
from tests import base as test_base
from tests.functional import base as functional_base


def _layout(profile: str, address: str = '0000:41:00.0') -> schema.Layout:
    return schema.Layout(gpus=(schema.GpuSpec(
        selector=schema.Selector(pci_address=address), where='gpus[0]',
        gpu_instances=(schema.GiSpec(profile, 0, False),), mig=True),))


class TestCheckpoint(test_base.TestCase):

    def test_save_load(self):
        self.assertIsNone(checkpoint.load(self.tmpdir))
        path = checkpoint.save(self.tmpdir, _layout('7g.80gb'), 'h')
        self.assertEqual(checkpoint.path(self.tmpdir), path)
        self.assertEqual(_layout('7g.80gb').as_dict(),
                         checkpoint.load(self.tmpdir).as_dict())
        self.assertEqual([], [n for n in os.listdir(self.tmpdir)
                              if n.startswith('.checkpoint-')])

    def test_corrupt(self):
        with open(checkpoint.path(self.tmpdir), 'w') as f:
            f.write('{"version": 7}')
        error = self.assertRaises(exception.CheckpointError,
                                  checkpoint.load, self.tmpdir)
        self.assertIn('unknown format or version', str(error))

    def test_merge_keeps_failed_gpus(self):
        new = _layout('7g.80gb')
        old = _layout('4g.40gb')
        merged = checkpoint.merge(new, old, {'0000:41:00.0'})
        self.assertEqual('4g.40gb', merged.gpus[0].gpu_instances[0].profile)
        merged = checkpoint.merge(new, old, set())
        self.assertEqual('7g.80gb', merged.gpus[0].gpu_instances[0].profile)


class TestMigMode(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=functional_base.host_file('a100-mixed.yaml'),
                   group='simulator')
        self.backend = simulated.SimulatedBackend(self.conf)
        self.gpu = self.backend.list_gpus()[1]

    def test_refused_while_instances_exist(self):
        error = self.assertRaises(exception.GpuOperationRefused,
                                  self.backend.set_mig_mode, self.gpu.uuid,
                                  False)
        self.assertEqual('IN_USE', error.code)
        self.assertTrue(self.backend.list_gpus()[1].mig_enabled)

    def test_disable_then_enable(self):
        with self.backend.host.transaction() as state:
            state.data['vgpus'] = []
            state.gpu_by_uuid(self.gpu.uuid)['gpu_instances'] = []
        self.assertEqual((0, 0), self.backend.set_mig_mode(self.gpu.uuid,
                                                           False))
        self.assertFalse(self.backend.list_gpus()[1].mig_enabled)
        self.assertEqual((1, 1), self.backend.set_mig_mode(self.gpu.uuid,
                                                           True))

    def test_default_backend_cannot(self):
        error = self.assertRaises(
            exception.GpuOperationRefused,
            base.GpuBackend.set_mig_mode, self.backend, 'GPU-x', True)
        self.assertEqual('NOT_SUPPORTED', error.code)
