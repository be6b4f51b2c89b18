# SPDX-License-Identifier: Apache-2.0

"""Invalid layouts: each refused with a precise message, nothing changed."""

from tests.functional import layout_base

GPU0 = 'GPU 0000:41:00.0 (NVIDIA A100 80GB PCIe)'


def _one(gpu: dict, select=None) -> dict:
    entry = {'select': select or {'pci_address': '0000:41:00.0'}}
    entry.update(gpu)
    return {'version': 1, 'gpus': [entry]}


#: (name, layout, expected message part)
CASES = [
    ('unknown_profile', _one({'gpu_instances': ['9g.99gb']}),
     GPU0 + ': profile 9g.99gb: not offered by this GPU; it offers '
     '1g.10gb, 1g.10gb+me, 1g.20gb'),
    ('too_many_instances', _one({'gpu_instances': [
        {'profile': '1g.20gb', 'count': 5}]}),
     GPU0 + ': profile 1g.20gb: 5 instances wanted, the card allows 4'),
    ('two_media_extensions', _one({'gpu_instances': [
        '1g.10gb+me', '1g.10gb+me']}),
     GPU0 + ': profile 1g.10gb+me: 2 instances wanted, the card allows 1'),
    ('compute_slices', _one({'gpu_instances': [
        '4g.40gb', '3g.40gb', '1g.10gb']}),
     GPU0 + ': profile 4g.40gb + 3g.40gb + 1g.10gb: needs 8 compute '
     'slices, the card has 7'),
    ('impossible_placement', _one({'gpu_instances': [
        {'profile': '3g.40gb', 'placement': 2}]}),
     GPU0 + ': profile 3g.40gb: placement 2 is not possible; possible '
     'placements: 0:4, 4:4'),
    ('overlapping_placements', _one({'gpu_instances': [
        {'profile': '2g.20gb', 'placement': 0},
        {'profile': '1g.10gb', 'placement': 1}]}),
     GPU0 + ': profile 1g.10gb: placement 1:1 overlaps 2g.20gb at 0:2'),
    ('does_not_fit', _one({'gpu_instances': [
        '3g.40gb', '3g.40gb', '1g.10gb']}),
     GPU0 + ': profile 1g.10gb: no free placement left beside the other '
     'GPU instances'),
    ('type_of_other_profile', _one({'gpu_instances': [
        {'profile': '1g.10gb', 'vgpu': {'type': 'A100D-3-40C'}}]}),
     GPU0 + ': profile 1g.10gb: vGPU type A100D-3-40C is not backed by '
     'this profile'),
    ('type_not_offered', _one({'gpu_instances': [
        {'profile': '1g.10gb', 'vgpu': {'type': 'H100XM-1-10C'}}]}),
     GPU0 + ': profile 1g.10gb: vGPU type H100XM-1-10C is not offered on '
     'this GPU'),
    ('no_such_gpu', _one({'gpu_instances': ['1g.10gb']},
                         {'pci_address': '0000:99:00.0'}),
     'gpus[0]: no GPU of this host matches pci_address=0000:99:00.0'),
    ('too_many_vfs', _one({'sriov_vfs': 64}),
     GPU0 + ': sriov_vfs: 64 VFs asked, the GPU offers 20'),
    ('wrong_device_mode', _one({'device_mode': 'vendor-vfio',
                                'gpu_instances': ['7g.80gb']}),
     GPU0 + ': device_mode: vendor-vfio asked but the host runs mdev'),
    ('vf_taken_twice', _one({'gpu_instances': [
        {'profile': '3g.40gb', 'vgpu': {'vf': 3}},
        {'profile': '3g.40gb', 'vgpu': {'vf': 3}}]}),
     GPU0 + ': vGPU on VF 3: the VF is taken twice'),
    ('time_sliced_on_mig_type', _one({'mig': 'disabled', 'time_sliced': {
        'type': 'A100D-1-10C', 'count': 1}}),
     GPU0 + ': vGPU type A100D-1-10C: not a time-sliced vGPU type'),
    ('ambiguous_selectors', {'version': 1, 'gpus': [
        {'select': {'index': 0}, 'gpu_instances': ['7g.80gb']},
        {'select': {'index': 0}, 'gpu_instances': ['4g.40gb']}]},
     GPU0 + ': selected by gpus[0] and gpus[1] alike'),
    ('duplicate_uuid', {'version': 1, 'gpus': [
        {'select': {'index': i}, 'gpu_instances': [
            {'profile': '7g.80gb', 'vgpu': {
                'uuid': '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e99'}}]}
        for i in (0, 1)]},
     'vGPU UUID 5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e99 is used twice'),
    ('unknown_key', _one({'gpu_instance': ['1g.10gb']}),
     'gpus[0]: unknown key(s) gpu_instance'),
    ('bad_version', {'version': 2, 'gpus': []},
     'version: unsupported version 2; this nova-mig reads version 1'),
    ('count_and_placement', _one({'gpu_instances': [
        {'profile': '1g.10gb', 'count': 2, 'placement': 0}]}),
     'gpus[0].gpu_instances[0]: "count" and "placement" exclude each '
     'other'),
    ('uuid_on_other_gpu', _one({'gpu_instances': [
        {'profile': '4g.40gb', 'vgpu': {
            'uuid': '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01'}}, '3g.40gb']},
        {'pci_address': '0000:81:00.0'}),
     'vGPU UUID 5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e01 already exists on GPU '
     '0000:41:00.0; UUIDs are unique across the host'),
]


class TestInvalidLayouts(layout_base.LayoutTestCase):

    def _refused(self, document, expected: str) -> None:
        path = self.write('invalid.yaml', document)
        state = self.state()
        for command in ('plan', 'apply', 'assert'):
            rc, out, err = self.cli('layout', command, path)
            self.assertEqual(1, rc, '%s: %s%s' % (command, out, err))
            self.assertIn(expected, err)
        self.assertEqual(state, self.state())

    def test_every_error_of_a_layout_is_listed(self):
        document = {'version': 1, 'gpus': [
            {'select': {'index': 0}, 'gpu_instances': ['9g.99gb']},
            {'select': {'index': 1}, 'sriov_vfs': 99}]}
        path = self.write('invalid.yaml', document)
        rc, _out, err = self.cli('layout', 'apply', path)
        self.assertEqual(1, rc)
        self.assertIn('cannot be applied to host compute-a100-1; nothing '
                      'was changed', err)
        self.assertIn('profile 9g.99gb', err)
        self.assertIn('99 VFs asked', err)

    def test_no_vgpu_manager(self):
        host = self.write('bare.yaml', {
            'version': 1, 'hostname': 'bare', 'device_mode': 'mdev',
            'vgpu_manager': False, 'gpus': [
                {'model': 'A100-PCIE-80GB', 'pci_address': '0000:41:00.0',
                 'mig_mode': 'enabled'}]})
        self.use_host(host)
        self._refused(_one({'gpu_instances': ['7g.80gb']}),
                      GPU0 + ': profile 7g.80gb at 0: a vGPU device is '
                      'wanted but the host has no vGPU manager')
        path = self.write('bare-layout.yaml', _one(
            {'vgpus': 'none', 'gpu_instances': ['7g.80gb']}))
        self.assertEqual(0, self.cli('layout', 'apply', path)[0])

    def test_not_mig_capable(self):
        self.use_host('t4-orphans.yaml')
        self._refused(_one({'gpu_instances': ['1g.10gb']},
                           {'model': '*T4*'}),
                      'GPU 0000:3b:00.0 (Tesla T4): mig: the GPU is not MIG '
                      'capable')

    def test_time_sliced_count_above_type_limit(self):
        self.use_host('t4-orphans.yaml')
        self._refused(_one({'time_sliced': {'type': 'T4-16Q', 'count': 2}},
                           {'index': 1}),
                      'GPU 0000:d8:00.0 (Tesla T4): vGPU type T4-16Q: 2 '
                      'devices wanted, the type allows 1 per GPU')


def _make(name, document, expected):
    def test(self):
        self._refused(document, expected)
    test.__name__ = 'test_' + name
    return test


for _name, _document, _expected in CASES:
    setattr(TestInvalidLayouts, 'test_' + _name,
            _make(_name, _document, _expected))
