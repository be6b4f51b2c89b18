# SPDX-License-Identifier: Apache-2.0

"""Tests of the layout plan: the actions turning a GPU into its layout."""

import dataclasses

from nova_mig import exception
from nova_mig.layout import layout_plan
from nova_mig.layout import schema
from nova_mig.layout import step_types
from tests import base as test_base
from tests.unit.layout import fakes


def _layout(gpu_instances: str, extra: str = '') -> str:
    return ('version: 1\ngpus: [{select: {index: 0}, vgpus: none, '
            'gpu_instances: %s%s}]' % (gpu_instances, extra))


class TestPlan(test_base.TestCase):

    def setUp(self):
        super().setUp()
        card = fakes.gpu()
        self.card = dataclasses.replace(card, gpu_instances=(
            fakes.gi(card, 1, '3g.40gb', 4), fakes.gi(card, 2, '1g.10gb', 0)))

    def make(self, text: str, card=None) -> layout_plan.Plan:
        return layout_plan.plan(fakes.report(card or self.card),
                                schema.loads(text, 'l.yaml'), self.tmpdir)

    def describe(self, the_plan: layout_plan.Plan) -> list[tuple[str, str]]:
        return [(a.kind, a.describe()) for a in the_plan.steps]

    def test_keeps_what_matches_and_replaces_the_rest(self):
        the_plan = self.make(_layout('[3g.40gb, 2g.20gb, 2g.20gb]'))
        self.assertEqual([step_types.DestroyComputeInstance,
                          step_types.DestroyGpuInstance,
                          step_types.CreateGpuInstance,
                          step_types.CreateComputeInstance,
                          step_types.CreateGpuInstance,
                          step_types.CreateComputeInstance],
                         [type(s) for s in the_plan.steps])
        self.assertEqual([
            ('destroy-ci', 'destroy compute instance 0 of GPU instance 2 '
             '(1g.10gb at 0:1)'),
            ('destroy-gi', 'destroy GPU instance 2 (1g.10gb at 0:1)'),
            ('create-gi', 'create GPU instance 2g.20gb at 0:2'),
            ('create-ci', 'create compute instance on 2g.20gb at 0:2'),
            ('create-gi', 'create GPU instance 2g.20gb at 2:2'),
            ('create-ci', 'create compute instance on 2g.20gb at 2:2')],
            self.describe(the_plan))
        self.assertEqual('the layout wants 2g.20gb there',
                         the_plan.steps[0].reason)
        self.assertFalse(the_plan.empty)
        self.assertEqual((), the_plan.untouched)

    def test_a_plan_cannot_change(self):
        the_plan = self.make(_layout('[3g.40gb, 2g.20gb, 2g.20gb]'))
        (gplan,) = the_plan.gpus
        for obj, name, value in ((the_plan, 'gpus', ()),
                                 (gplan, 'refused', 'no'),
                                 (gplan, 'steps', ()),
                                 (gplan.steps[0], 'gi_id', 5)):
            self.assertRaises(dataclasses.FrozenInstanceError, setattr, obj,
                              name, value)
        self.assertIsInstance(gplan.steps, tuple)
        refused = gplan.refuse('in use', ['domain d'])
        self.assertEqual(('domain d',), refused.blockers)
        self.assertIsNone(gplan.refused)

    def test_matching_host_is_empty(self):
        the_plan = self.make(_layout('[{profile: 1g.10gb, placement: 0}, '
                                     '3g.40gb]'))
        self.assertTrue(the_plan.empty)
        self.assertEqual((), the_plan.steps)

    def test_larger_profiles_created_first(self):
        card = fakes.gpu()
        the_plan = self.make(_layout('[1g.10gb, 4g.40gb]'), card)
        self.assertEqual(
            ['create GPU instance 4g.40gb at 0:4',
             'create compute instance on 4g.40gb at 0:4',
             'create GPU instance 1g.10gb at 4:1',
             'create compute instance on 1g.10gb at 4:1'],
            [d for _k, d in self.describe(the_plan)])

    def test_processes_refuse_the_gpu(self):
        busy = dataclasses.replace(self.card.gpu_instances[1],
                                   processes=(4242,))
        card = dataclasses.replace(self.card, gpu_instances=(
            self.card.gpu_instances[0], busy))
        the_plan = self.make(_layout('[3g.40gb]'), card)
        (gplan,) = the_plan.refused
        self.assertEqual(('processes 4242 on GPU instance 2',),
                         gplan.blockers)
        self.assertEqual('0000:41:00.0', gplan.address)
        self.assertEqual(layout_plan.REFUSED, gplan.refused)

    def test_disabling_mig_destroys_every_instance(self):
        the_plan = self.make('version: 1\ngpus: [{select: {index: 0}, '
                             'mig: disabled}]')
        self.assertEqual(['destroy-ci', 'destroy-gi', 'destroy-ci',
                          'destroy-gi', 'set-mig-mode'],
                         [k for k, _d in self.describe(the_plan)])
        self.assertEqual('disable MIG mode',
                         the_plan.steps[-1].describe())

    def test_a_vgpu_needs_a_vgpu_manager(self):
        error = self.assertRaises(
            exception.LayoutValidationFailed, self.make,
            _layout('[7g.80gb]').replace('vgpus: none, ', ''))
        self.assertIn('GPU 0000:41:00.0 (NVIDIA A100 80GB PCIe): profile '
                      '7g.80gb at 0: a vGPU device is wanted but the host '
                      'has no vGPU manager', str(error))
