# SPDX-License-Identifier: Apache-2.0

"""Tests of the layout file format: its schema and the entries built."""

import jsonschema

from nova_mig.documents import layout_file
from nova_mig import exception
from nova_mig.layout import schema
from nova_mig.layout import spec
from tests import base as test_base

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
UUID = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01'


def _one(gpu: str) -> str:
    return 'version: 1\ngpus: [%s]' % gpu


class TestParse(test_base.TestCase):

    def test_parse(self):
        layout = schema.loads(DOC, 'doc.yaml')
        first, second = layout.gpus
        self.assertEqual('doc.yaml', layout.source)
        self.assertEqual('two GPUs', layout.description)
        self.assertEqual('mdev', first.device_mode)
        self.assertEqual('mdev', second.device_mode)
        self.assertEqual('gpus[1]', second.where)
        self.assertTrue(first.mig)
        self.assertEqual(['3g.40gb', '1g.10gb', '1g.10gb', '2g.20gb'],
                         [g.profile for g in first.gpu_instances])
        self.assertIs(False, first.gpu_instances[1].vgpu)
        self.assertIsNone(first.gpu_instances[0].vgpu)
        self.assertEqual(spec.VgpuSpec(type='A100D-2-20C', vf=3),
                         first.gpu_instances[3].vgpu)
        self.assertEqual(0, first.gpu_instances[3].placement)
        self.assertEqual('all', first.sriov_vfs)
        self.assertEqual('all', first.vgpus)
        self.assertFalse(second.mig)
        self.assertEqual(spec.TimeSlicedSpec('A100D-20C', 2),
                         second.time_sliced)
        self.assertEqual('0000:42:00.0', second.selector.pci_address)

    def test_dump_parses_back_the_same(self):
        layout = schema.loads(DOC, 'doc.yaml')
        again = schema.loads(layout.dump(), 'doc.yaml')
        self.assertEqual(layout.as_dict(), again.as_dict())

    def test_gpu_instance_without_compute_instance(self):
        layout = schema.loads(_one(
            '{gpu_instances: [{profile: 1g.10gb, compute_instance: false, '
            'vgpu: false}, 1g.10gb]}'))
        first, second = layout.gpus[0].gpu_instances
        self.assertFalse(first.compute_instance)
        self.assertTrue(second.compute_instance)
        self.assertEqual({'profile': '1g.10gb', 'vgpu': False,
                          'compute_instance': False}, first.as_dict())
        self.assertEqual({'profile': '1g.10gb'}, second.as_dict())
        again = schema.loads(layout.dump())
        self.assertEqual(layout.as_dict(), again.as_dict())
        error = self.assertRaises(
            exception.LayoutFileError, schema.loads, _one(
                '{gpu_instances: [{profile: 1g.10gb, compute_instance: 0}]}'),
            'f.yaml')
        self.assertEqual('f.yaml: gpus[0].gpu_instances[0].compute_instance: '
                         'expected true or false, found 0', str(error))

    def test_shorthands(self):
        layout = schema.loads(_one('{select: all, mig: true, sriov_vfs: 4}, '
                                   '{mig: false, sriov_vfs: null}'))
        first, second = layout.gpus
        self.assertTrue(first.selector.all)
        self.assertTrue(first.mig)
        self.assertEqual(4, first.sriov_vfs)
        self.assertTrue(second.selector.all)
        self.assertIs(False, second.mig)
        self.assertIsNone(second.sriov_vfs)
        self.assertIsNone(second.gpu_instances)

    def test_time_sliced_counts_its_devices(self):
        (gpu,) = schema.loads(_one(
            '{time_sliced: {type: T4-4C, devices: [{vf: 1}, {vf: 2}]}}')).gpus
        self.assertEqual(2, gpu.time_sliced.count)
        self.assertIs(False, gpu.mig)

    def test_uuids_normalised(self):
        (gpu,) = schema.loads(_one(
            '{select: {uuid: %s}, gpu_instances: [{profile: 7g.80gb, '
            'vgpu: {uuid: "%s"}}]}' % (UUID.upper(),
                                       UUID.replace('-', '')))).gpus
        self.assertEqual('gpu-' + UUID, gpu.selector.uuid)
        self.assertEqual(UUID, gpu.gpu_instances[0].vgpu.uuid)

    def test_device_ids(self):
        (gpu,) = schema.loads(_one(
            '{select: {pci_device_id: ["0x20B510DE", 0x20B710DE]}}')).gpus
        self.assertEqual((0x20B510DE, 0x20B710DE),
                         gpu.selector.pci_device_ids)

    def test_schema_is_valid(self):
        jsonschema.Draft202012Validator.check_schema(layout_file.SCHEMA)


class TestErrors(test_base.TestCase):

    def assertError(self, text: str, expected: str) -> None:
        error = self.assertRaises(exception.LayoutFileError, schema.loads,
                                  text, 'f.yaml')
        self.assertEqual('f.yaml: ' + expected, str(error))

    def test_form(self):
        for text, expected in [
                ('[]', 'top level: expected a mapping, found []'),
                ('version: 1\ngpus: []\nextra: 1\nmore: 2',
                 'top level: unknown key(s) extra, more; allowed: defaults, '
                 'description, gpus, version'),
                ('gpus: [{}]', 'version: unsupported version None; this '
                 'nova-mig reads version 1'),
                ('version: 2\ngpus: []', 'version: unsupported version 2; '
                 'this nova-mig reads version 1'),
                ('version: 1', 'gpus: expected a non-empty list of GPUs'),
                ('version: 1\ngpus: []',
                 'gpus: expected a non-empty list of GPUs'),
                (_one('[]'), 'gpus[0]: expected a mapping, found []'),
                (_one('{select: {pci_address: 41:00.0}}'),
                 'gpus[0].select.pci_address: not a PCI address '
                 "(0000:41:00.0): '41:00.0'"),
                (_one('{select: {uuid: GPU-nope}}'),
                 "gpus[0].select.uuid: not a GPU UUID (GPU-...): 'GPU-nope'"),
                (_one('{select: {pci_device_id: [0x10DE, H100]}}'),
                 'gpus[0].select.pci_device_id[1]: not a hexadecimal PCI '
                 "device ID (0x20B510DE): 'H100'"),
                (_one('{select: some}'),
                 "gpus[0].select: expected \"all\" or a mapping, found "
                 "'some'"),
                (_one('{mig: maybe}'), 'gpus[0].mig: expected one of '
                 "enabled, disabled, found 'maybe'"),
                (_one('{device_mode: mdevs}'), 'gpus[0].device_mode: '
                 "expected one of auto, mdev, vendor-vfio, found 'mdevs'"),
                (_one('{sriov_vfs: some}'), 'gpus[0].sriov_vfs: expected '
                 "\"all\", null or an integer from 0 to 256, found 'some'"),
                (_one('{sriov_vfs: -1}'), 'gpus[0].sriov_vfs: expected '
                 '"all", null or an integer from 0 to 256, found -1'),
                (_one('{gpu_instances: [{count: 2}]}'),
                 'gpus[0].gpu_instances[0].profile: expected a MIG profile '
                 'name (1g.10gb), found None'),
                (_one('{gpu_instances: [7g.80gb, ""]}'),
                 'gpus[0].gpu_instances[1]: expected a profile name or a '
                 "mapping, found ''"),
                (_one('{gpu_instances: [{profile: 1g.10gb, count: 0}]}'),
                 'gpus[0].gpu_instances[0].count: expected an integer from 1 '
                 'to 7, found 0'),
                (_one('{gpu_instances: [{profile: 1g.10gb, count: 30000000}'
                      ']}'),
                 'gpus[0].gpu_instances[0].count: expected an integer from 1 '
                 'to 7, found 30000000'),
                (_one('{gpu_instances: [{profile: 1g.10gb, count: 4}, '
                      '{profile: 1g.10gb, count: 4}]}'),
                 'gpus[0].gpu_instances: 8 GPU instances asked; no GPU holds '
                 'more than 7'),
                ('version: 1\ngpus: ' + '[' * 40 + ']' * 40,
                 'line 2 column 38: nested deeper than 32 levels'),
                (b'version: 1\ngpus: [\xff]',
                 'line 2 column 8: not valid UTF-8 (byte 0xff)'),
                (_one('{gpu_instances: [{profile: 1g.10gb, vgpu: {vf: '
                      'true}}]}'),
                 'gpus[0].gpu_instances[0].vgpu.vf: expected an integer '
                 'from 0 to 255, found True'),
                (_one('{gpu_instances: [{profile: 1g.10gb, vgpu: yes}]}'),
                 'gpus[0].gpu_instances[0].vgpu: ok'),
                (_one('{gpu_instances: [{profile: 1g.10gb, vgpu: 3}]}'),
                 'gpus[0].gpu_instances[0].vgpu: expected true, false or a '
                 'mapping, found 3'),
                (_one('{gpu_instances: [{profile: 1g.10gb, vgpu: {uuid: '
                      'nope}}]}'),
                 "gpus[0].gpu_instances[0].vgpu.uuid: not a UUID: 'nope'"),
                (_one('{time_sliced: {count: 1}}'),
                 'gpus[0].time_sliced.type: expected a time-sliced vGPU '
                 'type name (T4-4C), found None'),
                (_one('{gpu_instance: [1g.10gb]}'),
                 'gpus[0]: unknown key(s) gpu_instance; allowed: comment, '
                 'device_mode, gpu_instances, mig, select, sriov_vfs, '
                 'time_sliced, vgpus'),
                ('version: 1\ndefaults: {mig: maybe}\ngpus: [{}]',
                 "defaults.mig: expected one of enabled, disabled, found "
                 "'maybe'"),
                ('version: 1\ndefaults: {select: all}\ngpus: [{}]',
                 'defaults: unknown key(s) select; allowed: comment, '
                 'device_mode, mig, sriov_vfs, vgpus'),
                ('gpus: [', 'YAML')]:
            if expected.endswith(': ok'):
                schema.loads(text)
                continue
            if expected == 'YAML':
                error = self.assertRaises(exception.LayoutFileError,
                                          schema.loads, text, 'f.yaml')
                self.assertEqual(
                    'f.yaml: line 2 column 1: not valid YAML: did not find '
                    'expected node content', str(error))
                continue
            self.assertError(text, expected)

    def test_nearest_the_top_first(self):
        self.assertError(_one('{mig: maybe, extra: 1}'),
                         'gpus[0]: unknown key(s) extra; allowed: comment, '
                         'device_mode, gpu_instances, mig, select, '
                         'sriov_vfs, time_sliced, vgpus')
        self.assertError('version: 3\nmore: 1\ngpus: []',
                         'top level: unknown key(s) more; allowed: defaults, '
                         'description, gpus, version')
        self.assertError('version: 3\ngpus: []',
                         'version: unsupported version 3; this nova-mig '
                         'reads version 1')

    def test_rules_beyond_the_schema(self):
        for text, expected in [
                (_one('{gpu_instances: [{profile: 1g.10gb, count: 2, '
                      'placement: 0}]}'),
                 'gpus[0].gpu_instances[0]: "count" and "placement" exclude '
                 'each other'),
                (_one('{gpu_instances: [{profile: 1g.10gb, count: 2, '
                      'vgpu: {vf: 1}}]}'),
                 'gpus[0].gpu_instances[0]: a vGPU "uuid" or "vf" needs '
                 'count 1'),
                (_one('{mig: disabled, gpu_instances: [1g.10gb]}'),
                 'gpus[0]: GPU instances need "mig: enabled"'),
                ('version: 1\ndefaults: {mig: disabled}\n'
                 'gpus: [{gpu_instances: [1g.10gb]}]',
                 'gpus[0]: GPU instances need "mig: enabled"'),
                (_one('{mig: enabled, time_sliced: {type: T4-4C}}'),
                 'gpus[0]: "time_sliced" vGPUs need "mig: disabled"'),
                (_one('{time_sliced: {type: T4-4C, count: 1, devices: '
                      '[{vf: 1}, {vf: 2}]}}'),
                 'gpus[0].time_sliced: count 1 is below the 2 devices '
                 'listed')]:
            self.assertError(text, expected)

    def test_unreadable_file(self):
        error = self.assertRaises(exception.LayoutFileError, schema.load,
                                  self.tmpdir + '/missing.yaml')
        self.assertIn('missing.yaml: file: No such file or directory',
                      str(error))
