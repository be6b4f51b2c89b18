"""Tests of the layout file format and GPU selection."""

from nova_mig import exception
from nova_mig.layout import schema
from tests import base as test_base
from tests.unit.layout import fakes

DOC = """
version: 1
description: two GPUs
defaults:
  device_mode: mdev
gpus:
  - select: {model: "*A100*"}
    gpu_instances:
      - 3g.40gb
      - {profile: 1g.10gb, count: 2, vgpu: false}
      - {profile: 2g.20gb, placement: 0, vgpu: {type: A100D-2-20C, vf: 3}}
  - select: {pci_address: "0000:42:00.0"}
    mig: disabled
    time_sliced: {type: A100D-20C, count: 2}
"""


class TestSchema(test_base.TestCase):

    def test_parse(self):
        layout = schema.loads(DOC, 'doc.yaml')
        first, second = layout.gpus
        self.assertEqual('mdev', first.device_mode)
        self.assertTrue(first.mig)
        self.assertEqual(['3g.40gb', '1g.10gb', '1g.10gb', '2g.20gb'],
                         [g.profile for g in first.gpu_instances])
        self.assertIs(False, first.gpu_instances[1].vgpu)
        self.assertEqual(schema.VgpuSpec(type='A100D-2-20C', vf=3),
                         first.gpu_instances[3].vgpu)
        self.assertEqual(0, first.gpu_instances[3].placement)
        self.assertFalse(second.mig)
        self.assertEqual(2, second.time_sliced.count)

    def test_dump_parses_back_the_same(self):
        layout = schema.loads(DOC, 'doc.yaml')
        again = schema.loads(layout.dump(), 'doc.yaml')
        self.assertEqual(layout.as_dict(), again.as_dict())

    def test_most_specific_selector_wins(self):
        layout = schema.loads(DOC)
        gpus = [fakes.gpu(index=0), fakes.gpu(index=1)]
        pairs, errors = schema.select(layout, gpus)
        self.assertEqual([], errors)
        self.assertEqual([layout.gpus[0], layout.gpus[1]],
                         [spec for _gpu, spec in pairs])

    def test_selectors(self):
        card = fakes.gpu(index=0)
        self.assertTrue(schema.Selector(pci_device_ids=(
            card.pci_device_id,)).matches(card))
        self.assertFalse(schema.Selector(pci_device_ids=(1,)).matches(card))
        self.assertTrue(schema.Selector(uuid=card.uuid.lower()).matches(
            card))
        self.assertFalse(schema.Selector(index=1).matches(card))
        self.assertTrue(schema.Selector(model='*a100*').matches(card))

    def test_errors_name_the_key(self):
        for text, expected in [
                ('version: 1\ngpus: [{select: {pci_address: 41:00.0}}]',
                 'gpus[0].select.pci_address: not a PCI address'),
                ('version: 1\ngpus: [{mig: maybe}]',
                 'gpus[0].mig: expected one of enabled, disabled'),
                ('version: 1\ngpus: [{gpu_instances: [{count: 2}]}]',
                 'gpus[0].gpu_instances[0]: a GPU instance needs a '
                 '"profile"'),
                ('version: 1\ngpus: [{mig: disabled, gpu_instances: '
                 '[1g.10gb]}]', 'gpus[0]: GPU instances need "mig: '
                 'enabled"'),
                ('version: 1\ngpus: [{gpu_instances: [{profile: 1g.10gb, '
                 'vgpu: {uuid: nope}}]}]',
                 'gpus[0].gpu_instances[0].vgpu.uuid: not a UUID'),
                ('gpus: [', 'YAML')]:
            error = self.assertRaises(exception.LayoutFileError,
                                      schema.loads, text, 'f.yaml')
            self.assertIn(expected, str(error))
            self.assertTrue(str(error).startswith('Layout file f.yaml: '))
