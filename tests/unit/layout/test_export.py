# SPDX-License-Identifier: Apache-2.0

"""Tests of the layout and mig-parted exports of an in-memory host."""

import dataclasses

import yaml

from nova_mig.layout import export
from nova_mig.layout import migparted
from nova_mig.layout import schema
from tests import base as test_base
from tests.unit.layout import fakes


class TestExport(test_base.TestCase):

    def setUp(self):
        super().setUp()
        card = fakes.gpu()
        self.first = dataclasses.replace(card, gpu_instances=(
            fakes.gi(card, 1, '3g.40gb', 4), fakes.gi(card, 2, '1g.10gb', 0),
            fakes.gi(card, 3, '1g.10gb', 1)))
        self.second = dataclasses.replace(fakes.gpu(index=1),
                                          gpu_instances=(
            fakes.gi(card, 1, '1g.10gb', 3), fakes.gi(card, 2, '1g.10gb', 2),
            fakes.gi(card, 3, '3g.40gb', 4)))
        self.report = fakes.report(self.first, self.second)

    def test_layout_is_exact_and_parses_back(self):
        layout = export.export(self.report)
        first = layout.gpus[0]
        self.assertEqual('0000:41:00.0', first.selector.pci_address)
        self.assertEqual([('1g.10gb', 0), ('1g.10gb', 1), ('3g.40gb', 4)],
                         [(g.profile, g.placement)
                          for g in first.gpu_instances])
        self.assertEqual({False}, {g.vgpu for g in first.gpu_instances})
        self.assertEqual('none', first.vgpus)
        self.assertIsNone(first.sriov_vfs)
        again = schema.loads(layout.dump()).gpus
        self.assertEqual([g.gpu_instances for g in layout.gpus],
                         [g.gpu_instances for g in again])
        self.assertEqual([g.selector for g in layout.gpus],
                         [g.selector for g in again])

    def test_mig_parted_groups_alike_gpus(self):
        text = migparted.export_config(self.report, 'x')
        document = yaml.safe_load(text)
        self.assertEqual(
            {'version': 'v1', 'mig-configs': {'x': [
                {'devices': [0, 1], 'mig-enabled': True,
                 'mig-devices': {'3g.40gb': 1, '1g.10gb': 2}}]}},
            document)
        layout = migparted.import_config(text)
        self.assertEqual([0, 1], [g.selector.index for g in layout.gpus])
        self.assertEqual(['3g.40gb', '1g.10gb', '1g.10gb'],
                         [g.profile for g in layout.gpus[1].gpu_instances])
