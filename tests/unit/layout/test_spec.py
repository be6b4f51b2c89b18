# SPDX-License-Identifier: Apache-2.0

"""Tests of the layout entries: GPU selection and dumping."""

from nova_mig.layout import schema
from nova_mig.layout import spec
from tests import base as test_base
from tests.unit.layout import fakes

DOC = """
version: 1
gpus:
  - select: {model: "*A100*"}
    gpu_instances: [7g.80gb]
  - select: {pci_address: "0000:42:00.0"}
    gpu_instances: [3g.40gb]
"""


class TestSelect(test_base.TestCase):

    def test_most_specific_selector_wins(self):
        layout = schema.loads(DOC)
        gpus = [fakes.gpu(index=0), fakes.gpu(index=1)]
        pairs, errors = spec.select(layout, gpus)
        self.assertEqual([], errors)
        self.assertEqual(list(zip(gpus, layout.gpus)), pairs)

    def test_exact_selector_matching_nothing(self):
        layout = schema.loads(DOC.replace('42:00.0', '99:00.0'))
        pairs, errors = spec.select(layout, [fakes.gpu(index=0)])
        self.assertEqual(['gpus[1]: no GPU of this host matches '
                          'pci_address=0000:99:00.0'], errors)
        self.assertEqual(1, len(pairs))

    def test_same_rank_is_ambiguous(self):
        layout = schema.loads(DOC.replace('{pci_address: "0000:42:00.0"}',
                                          '{model: "*80GB*"}'))
        pairs, errors = spec.select(layout, [fakes.gpu(index=0)])
        self.assertEqual([], pairs)
        self.assertIn('selected by gpus[0] and gpus[1] alike', errors[0])

    def test_selectors(self):
        card = fakes.gpu(index=0)
        self.assertTrue(spec.Selector(pci_device_ids=(
            card.pci_device_id,)).matches(card))
        self.assertFalse(spec.Selector(pci_device_ids=(1,)).matches(card))
        self.assertTrue(spec.Selector(uuid=card.uuid.lower()).matches(
            card))
        self.assertFalse(spec.Selector(index=1).matches(card))
        self.assertTrue(spec.Selector(model='*a100*').matches(card))
        self.assertFalse(spec.Selector(model='*h100*').matches(card))

    def test_rank(self):
        self.assertEqual(
            [3, 3, 2, 1, 1, 0],
            [spec.Selector(pci_address='0000:41:00.0').rank,
             spec.Selector(uuid='gpu-x').rank, spec.Selector(index=0).rank,
             spec.Selector(model='*').rank,
             spec.Selector(pci_device_ids=(1,)).rank,
             spec.Selector(all=True).rank])


class TestDeviceId(test_base.TestCase):

    def test_text_and_number(self):
        self.assertEqual(0x20B510DE, spec.device_id('0x20B510DE'))
        self.assertEqual(0x20B510DE, spec.device_id('20b510de'))
        # YAML reads an unquoted 0x20B510DE as a number already.
        self.assertEqual(0x20B510DE, spec.device_id(0x20B510DE))
        self.assertRaises(ValueError, spec.device_id, 'H100')
