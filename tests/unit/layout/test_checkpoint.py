"""Tests of the layout checkpoint."""

import os

from nova_mig import exception
from nova_mig.layout import checkpoint
from nova_mig.layout import spec
from tests import base as test_base


def _layout(profile: str, address: str = '0000:41:00.0') -> spec.Layout:
    return spec.Layout(gpus=(spec.GpuSpec(
        selector=spec.Selector(pci_address=address), where='gpus[0]',
        gpu_instances=(spec.GiSpec(profile, 0, False),), mig=True),))


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
