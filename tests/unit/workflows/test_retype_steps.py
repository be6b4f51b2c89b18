# SPDX-License-Identifier: Apache-2.0

"""Tests of the steps of nova-mig retype, over fakes."""

import os
from unittest import mock

from nova_mig import fileutils
from nova_mig.layout import layout_plan
from nova_mig.layout import records
from nova_mig.novaconf import type_plan
from nova_mig.workflows import retype
from nova_mig.workflows import retype_steps
from tests.unit.novaconf import fakes as novaconf_fakes
from tests.unit.workflows import fakes


class TestSteps(fakes.RetypeTestCase):

    def test_service_disabled_then_enabled(self):
        service = fakes.FakeService(fakes.HOSTNAME)
        conn = fakes.conn(service)
        ctx = self.ctx()
        ctx.connect = lambda conf: conn
        self.assertIn('disabled nova-compute',
                      retype_steps.DisableService().run(ctx))
        self.assertEqual(('disabled', self.conf.retype.disabled_reason),
                         (service.status, service.disabled_reason))
        self.assertIn('enabled', retype_steps.EnableService().run(ctx))
        self.assertEqual('enabled', service.status)

    def test_service_disabled_by_someone_else_stays_disabled(self):
        service = fakes.FakeService(fakes.HOSTNAME, 'disabled', 'repair')
        ctx = self.ctx()
        ctx.connect = lambda conf: fakes.conn(service)
        retype_steps.DisableService().run(ctx)
        self.assertIn('left disabled', retype_steps.EnableService().run(ctx))
        self.assertEqual(('disabled', 'repair'),
                         (service.status, service.disabled_reason))

    def test_killed_after_disabling_enables_at_the_end(self):
        # The first run disables the service and is killed before it
        # records the step: the re-run must not take the service for one
        # an operator disabled.
        service = fakes.FakeService(fakes.HOSTNAME)
        ctx = self.ctx()
        ctx.connect = lambda conf: fakes.conn(service)
        retype_steps.DisableService().run(ctx)
        recorded = retype.load_state(self.conf.host.state_dir)
        self.assertTrue(recorded['service_disabling'])
        again = self.ctx()
        again.state = recorded
        again.connect = lambda conf: fakes.conn(service)
        self.assertIn('by the interrupted run',
                      retype_steps.DisableService().run(again))
        self.assertNotIn('service_was_disabled', again.state)
        self.assertIn('enabled nova-compute',
                      retype_steps.EnableService().run(again))
        self.assertEqual('enabled', service.status)

    def test_disabled_with_another_reason_is_not_ours(self):
        service = fakes.FakeService(fakes.HOSTNAME, 'disabled', 'repair')
        ctx = self.ctx()
        ctx.state['service_disabling'] = True
        ctx.connect = lambda conf: fakes.conn(service)
        self.assertIn('already disabled',
                      retype_steps.DisableService().run(ctx))
        self.assertIn('left disabled', retype_steps.EnableService().run(ctx))

    def test_restart_not_allowed_waits_for_operator(self):
        self.flags(allow_restart=False, group='retype')
        e = self.assertRaises(retype.WaitForOperator,
                              retype_steps.RestartNovaCompute().run,
                              self.ctx())
        self.assertIn('run "systemctl restart nova-compute"', str(e))
        self.assertIn('resume with: nova-mig retype', str(e))

    def test_restart_command_failure_stops(self):
        ctx = self.ctx()
        ctx.runner = mock.Mock(return_value=3)
        e = self.assertRaises(retype.StepStopped,
                              retype_steps.RestartNovaCompute().run, ctx)
        self.assertIn('exited with 3', e.reason)
        ctx.runner.assert_called_once_with(
            ['systemctl', 'restart', 'nova-compute'])

    def waiting_ctx(self):
        ctx = self.ctx()
        ctx.placement = lambda conf: mock.sentinel.client
        ctx.nova_config = lambda: (None, mock.sentinel.config)
        ctx.clock = fakes.Clock()
        ctx.sleep = ctx.clock.sleep
        return ctx

    def test_wait_placement_times_out_with_the_drift(self):
        self.flags(placement_timeout=1, poll_interval=0.25, group='retype')
        ctx = self.waiting_ctx()
        drift = mock.Mock(provider='rp1', kind='wrong total')
        result = mock.Mock(ok=False, drift=[drift], checked=[])
        with mock.patch('nova_mig.placement.verify.verify',
                        return_value=result) as verify:
            e = self.assertRaises(retype.StepStopped,
                                  retype_steps.WaitPlacement().run, ctx)
        self.assertIn('Placement still differs after 1s: rp1 wrong total',
                      e.reason)
        # Polled at 0, 0.25, 0.5, 0.75 and 1 second.
        self.assertEqual(5, verify.call_count)
        self.assertEqual([0.25] * 4, ctx.clock.sleeps)
        verify.assert_called_with(self.conf, mock.sentinel.config,
                                  mock.sentinel.client)

    def test_wait_placement_returns_once_ok(self):
        ctx = self.waiting_ctx()
        results = [mock.Mock(ok=False, drift=[]),
                   mock.Mock(ok=True, checked=[1, 2])]
        self.flags(poll_interval=3, group='retype')
        with mock.patch('nova_mig.placement.verify.verify',
                        side_effect=results):
            self.assertIn('2 provider(s)',
                          retype_steps.WaitPlacement().run(ctx))
        self.assertEqual([3], ctx.clock.sleeps)

    def test_wait_placement_unconfigured(self):
        e = self.assertRaises(retype.StepStopped,
                              retype_steps.WaitPlacement().run, self.ctx())
        self.assertIn('--skip-placement-check', e.reason)


class TestApplyLayoutStep(fakes.RetypeTestCase):

    def _run(self, include_foreign, key='include_foreign', **kw):
        result = mock.Mock(ok=True, gpus=[])
        ctx = self.ctx(include_foreign=include_foreign, **kw)
        layout = mock.sentinel.layout
        ctx._planned = mock.sentinel.planned
        with mock.patch('nova_mig.layout.layout_apply.apply',
                        return_value=result) as apply, \
                mock.patch.object(ctx, 'layout', return_value=layout):
            retype_steps.ApplyLayout().run(ctx)
        self.assertIs(layout, apply.call_args.args[2])
        # The Nova configuration is planned again for the new layout.
        self.assertIsNone(ctx._planned)
        return apply.call_args.kwargs[key]

    def test_skip_handle_check_reaches_the_layout_and_the_reaper(self):
        self.assertFalse(self._run(False, 'skip_handle_check'))
        self.assertTrue(self._run(False, 'skip_handle_check',
                                  skip_handle_check=True))
        ctx = self.ctx(skip_handle_check=True)
        ctx.state['gpus'] = ['0000:41:00.0']
        ctx.report = lambda: mock.Mock(vgpu_devices=lambda: [])
        reaper = retype_steps.Reap()._reaper(ctx)
        self.assertTrue(reaper.policy.skip_handle_check)
        self.assertIn(' --skip-handle-check', retype.resume_command(
            ctx.options))
        with mock.patch.object(ctx, 'layout'):
            drain = retype_steps.PerGpuDrain()._drain(ctx)
        self.assertTrue(drain.skip_handle_check)

    def test_a_failed_apply_stops_with_each_gpu_of_the_records(self):
        result = records.ApplyResult(layout_plan.Plan('h', 'l', (), ()), (
            records.GpuResult('0000:41:00.0', records.Status.UNCHANGED),
            records.GpuResult('0000:42:00.0', records.Status.IN_USE,
                              error='vGPU u is in use')))
        ctx = self.ctx()
        with mock.patch('nova_mig.layout.layout_apply.apply',
                        return_value=result), \
                mock.patch.object(ctx, 'layout'):
            e = self.assertRaises(retype.StepStopped,
                                  retype_steps.ApplyLayout().run, ctx)
        self.assertEqual('0000:41:00.0 unchanged ; 0000:42:00.0 in use '
                         'vGPU u is in use', e.reason)

    def test_include_foreign_reaches_the_layout(self):
        # The reap step and the layout step remove the same devices: a
        # foreign device the reaper keeps must not be removed by apply.
        self.assertFalse(self._run(False))
        self.assertTrue(self._run(True))


class TestNovaConfigStep(fakes.RetypeTestCase):

    def test_writes_through_the_one_nova_config_path(self):
        snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        self.flags(config_snippet=snippet,
                   provider_config_file=os.path.join(self.tmpdir, 'p.yaml'),
                   group='nova')
        report, _ = novaconf_fakes.mixed_report()
        ctx = self.ctx()
        ctx.nova_config = lambda: (report, type_plan.build(self.conf, report))
        step = retype_steps.NovaConfig()
        self.assertEqual('rewrite %s' % snippet, step.preview(ctx))
        self.assertFalse(os.path.exists(snippet))
        self.assertEqual('wrote %s: yes' % snippet, step.run(ctx))
        self.assertIn('[devices]', fileutils.read_text(snippet))
        self.assertEqual('wrote %s: no (unchanged)' % snippet, step.run(ctx))
