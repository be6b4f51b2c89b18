# SPDX-License-Identifier: Apache-2.0

"""Layout plans with several vGPUs sharing one GPU instance (``vgpus: N``).

On the RTX PRO 6000 Blackwell (simulator catalog) time-sliced MIG-backed
types put up to the type's per-instance maximum on one GPU instance.
"""

import dataclasses
import json

from nova_mig import exception
from nova_mig.layout import current
from nova_mig.layout import export
from nova_mig.layout import layout_plan
from nova_mig.layout import schema
from nova_mig.layout import step_types
from nova_mig.model import constants
from nova_mig.model import host_records
from tests import base as test_base
from tests.unit.layout import fakes

PF = '0000:41:00.0'
VFS = tuple('0000:41:00.%d' % n for n in range(4, 8))


def _layout(gi: str) -> str:
    return ('version: 1\ngpus: [{select: {index: 0}, sriov_vfs: null, '
            'gpu_instances: [%s]}]' % gi)


class TestSharedInstance(test_base.TestCase):

    def setUp(self):
        super().setUp()
        self.card = fakes.gpu('RTX-PRO-6000-BSE')

    def report(self, card=None, parents=()):
        report = fakes.report(card or self.card)
        report.device_mode = constants.MODE_VENDOR_VFIO
        report.sriov = {PF: host_records.SriovPf(PF, 4, 4, VFS)}
        report.parents = list(parents)
        return report

    def make(self, text, **kwargs):
        return layout_plan.plan(self.report(**kwargs), schema.loads(text,
                                                                    'l.yaml'),
                                self.tmpdir)

    def test_two_vgpus_on_one_instance_take_two_vfs(self):
        the_plan = self.make(_layout(
            '{profile: 1g.24gb+gfx, vgpus: 2, vgpu: {type: DC-1-8Q}}'))
        vgpus = [a for a in the_plan.steps
                 if isinstance(a, step_types.CreateVgpu)]
        self.assertEqual([('DC-1-8Q', 0, '1g.24gb+gfx'),
                          ('DC-1-8Q', 1, '1g.24gb+gfx')],
                         [(a.type_name, a.vf, a.profile) for a in vgpus])
        self.assertEqual({0}, {a.placement.start for a in vgpus})

    def test_more_than_the_driver_allows_per_instance(self):
        error = self.assertRaises(
            exception.LayoutValidationFailed, self.make, _layout(
                '{profile: 1g.24gb+gfx, vgpus: 4, vgpu: {type: DC-1-8Q}}'))
        self.assertIn('4 vGPUs of DC-1-8Q wanted, the driver allows 3 per '
                      'GPU instance', str(error))

    def test_schema_bounds_and_conflicts(self):
        for gi, why in (
                ('{profile: 1g.24gb+gfx, vgpus: 0}', 'vgpus'),
                ('{profile: 1g.24gb+gfx, vgpus: 2, vgpu: false}',
                 'exclude each other'),
                ('{profile: 1g.24gb+gfx, vgpus: 2, vgpu: {vf: 1}}',
                 'needs vgpus 1')):
            error = self.assertRaises(exception.NovaMigException,
                                      schema.loads, _layout(gi), 'l.yaml')
            self.assertIn(why, str(error))

    def test_round_trip_through_the_document(self):
        text = _layout('{profile: 1g.24gb+gfx, placement: 0, vgpus: 2, '
                       'vgpu: {type: DC-1-8Q}}')
        layout = schema.loads(text, 'l.yaml')
        (gi,) = layout.gpus[0].gpu_instances
        self.assertEqual(2, gi.vgpus)
        again = schema.loads(layout.dump(), 'l.yaml')
        self.assertEqual(layout.gpus[0].gpu_instances,
                         again.gpus[0].gpu_instances)

    def test_kept_instance_adds_only_the_missing_vgpu(self):
        card = dataclasses.replace(self.card, gpu_instances=(
            fakes.gi(self.card, 1, '1g.24gb+gfx', 0),))
        parents = [host_records.VgpuParent(VFS[0], PF,
                                           constants.MODE_VENDOR_VFIO, (),
                                           current_type=2402)]
        the_plan = self.make(_layout(
            '{profile: 1g.24gb+gfx, placement: 0, vgpus: 2, '
            'vgpu: {type: DC-1-8Q}}'), card=card, parents=parents)
        self.assertEqual([(step_types.SetVgpuType, 1)],
                         [(type(a), a.vf) for a in the_plan.steps])
        # And the export says what the instance carries.
        spec = export.gpu_spec(self.report(card, parents), card)
        (gi,) = spec.gpu_instances
        self.assertEqual((1, 'DC-1-8Q'), (gi.vgpus, gi.vgpu.type))

    def test_export_of_a_shared_instance(self):
        card = dataclasses.replace(self.card, gpu_instances=(
            fakes.gi(self.card, 1, '1g.24gb+gfx', 0),))
        parents = [host_records.VgpuParent(vf, PF, constants.MODE_VENDOR_VFIO,
                                           (), current_type=2402)
                   for vf in VFS[:2]]
        spec = export.gpu_spec(self.report(card, parents), card)
        (gi,) = spec.gpu_instances
        self.assertEqual((2, 'DC-1-8Q'), (gi.vgpus, gi.vgpu.type))
        # Applying the export again changes nothing.
        text = json.dumps({'version': 1, 'gpus': [spec.as_dict()]})
        the_plan = layout_plan.plan(self.report(card, parents),
                                    schema.loads(text, 'l.yaml'), self.tmpdir)
        self.assertTrue(the_plan.empty, the_plan.steps)


class TestDriverChoosesTheInstance(test_base.TestCase):
    """Which of two equal GPU instances a new vGPU lands on is the driver's.

    Two 1g.24gb+gfx instances (ID 1 at slice 0, ID 2 at slice 1); the VFs'
    ``nvidia/gpu_instance_id`` says where each DC-1-8Q vGPU sits.
    """

    def setUp(self):
        super().setUp()
        card = fakes.gpu('RTX-PRO-6000-BSE')
        self.card = dataclasses.replace(card, gpu_instances=(
            fakes.gi(card, 1, '1g.24gb+gfx', 0),
            fakes.gi(card, 2, '1g.24gb+gfx', 1)))

    def report(self, gi_ids):
        report = fakes.report(self.card)
        report.device_mode = constants.MODE_VENDOR_VFIO
        report.sriov = {PF: host_records.SriovPf(PF, 4, 4, VFS)}
        # A VF with no GPU instance ID carries no vGPU.
        report.parents = [
            host_records.VgpuParent(vf, PF, constants.MODE_VENDOR_VFIO, (),
                                    current_type=2402 if gi_id else 0,
                                    gpu_instance_id=gi_id)
            for vf, gi_id in zip(VFS, gi_ids)]
        return report

    def make(self, gi_ids, first, second):
        text = _layout(
            '{profile: 1g.24gb+gfx, placement: 0, vgpus: %d, '
            'vgpu: {type: DC-1-8Q}}, {profile: 1g.24gb+gfx, placement: 1, '
            'vgpus: %d, vgpu: {type: DC-1-8Q}}' % (first, second))
        return layout_plan.plan(self.report(gi_ids), schema.loads(text,
                                                                  'l.yaml'),
                                self.tmpdir)

    def test_devices_sit_where_the_vf_says(self):
        devices = current.devices(self.report((2, 2, 1, 1)), self.card)
        self.assertEqual({VFS[0]: 1, VFS[1]: 1, VFS[2]: 0, VFS[3]: 0},
                         {d.parent: d.gi_start for d in devices})

    def test_same_count_on_other_instance_is_left_alone(self):
        # The layout asks 3 + 1; the driver put them 2 + 2.
        the_plan = self.make((2, 2, 1, 1), 3, 1)
        self.assertTrue(the_plan.empty, the_plan.steps)

    def test_surplus_is_still_removed(self):
        the_plan = self.make((1, 1, 2, 2), 1, 1)
        self.assertEqual(
            [(step_types.ClearVgpuType, 1), (step_types.ClearVgpuType, 3)],
            sorted(((type(a), a.vf) for a in the_plan.steps),
                   key=lambda item: item[1]))

    def test_missing_is_still_created(self):
        the_plan = self.make((1, 2, None, None), 2, 2)
        self.assertEqual(2, len([a for a in the_plan.steps
                                 if isinstance(a, step_types.CreateVgpu)]))
        self.assertFalse([a for a in the_plan.steps
                          if isinstance(a, step_types.RemoveVgpu)])
