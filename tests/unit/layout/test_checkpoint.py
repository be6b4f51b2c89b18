# SPDX-License-Identifier: Apache-2.0

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

    def test_wrong_shape_names_the_key(self):
        where = checkpoint.path(self.tmpdir)
        with open(where, 'w') as f:
            f.write('{"version": 1, "layout": {"version": 1, "gpus": '
                    '[{"gpu_instances": [{"profile": "1g.10gb", '
                    '"count": 1000000000}]}]}}')
        error = self.assertRaises(exception.CheckpointError,
                                  checkpoint.load, self.tmpdir)
        self.assertEqual(
            '%s: layout.gpus[0].gpu_instances[0].count: expected an integer '
            'from 1 to 7, found 1000000000; this layout checkpoint is '
            'refused. Run "nova-mig layout apply" with the host\'s layout '
            'file to write a new one' % where, str(error))

    def test_merge_keeps_failed_gpus(self):
        new = _layout('7g.80gb')
        old = _layout('4g.40gb')
        merged = checkpoint.merge(new, old, {'0000:41:00.0'})
        self.assertEqual('4g.40gb', merged.gpus[0].gpu_instances[0].profile)
        merged = checkpoint.merge(new, old, set())
        self.assertEqual('7g.80gb', merged.gpus[0].gpu_instances[0].profile)
