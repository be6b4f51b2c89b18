"""Tests of the retype engine (state, resume, failures) and its steps."""

import json
import os
import types
from unittest import mock

from nova_mig import exception
from nova_mig.workflows import retype
from nova_mig.workflows import retype_steps
from tests import base
from tests.unit.workflows import fakes

HOSTNAME = 'cn1'


class Recording(retype.Step):

    def __init__(self, name, log, fail=None):
        self.name, self.log, self.fail = name, log, fail

    def run(self, ctx):
        self.log.append(self.name)
        if self.fail:
            raise self.fail
        return 'ran ' + self.name

    def preview(self, ctx):
        return 'would run ' + self.name


class RetypeTestCase(base.TestCase):
    """A layout file and the context of a run over a fake backend."""

    def setUp(self):
        super().setUp()
        self.backend = mock.Mock()
        self.layout = os.path.join(self.tmpdir, 'layout.yaml')
        with open(self.layout, 'w') as f:
            f.write('version: 1\ngpus: []\n')
        self.options = retype.Options(layout_path=self.layout)

    def ctx(self, **kw):
        options = retype.Options(layout_path=self.layout, **kw)
        ctx = retype.Context(conf=self.conf, backend=self.backend,
                             options=options,
                             state=retype.start(self.conf, options),
                             say=lambda line: None)
        ctx.report = lambda: types.SimpleNamespace(hostname=HOSTNAME)
        return ctx

    def state(self):
        return retype.load_state(self.conf.host.state_dir)


class TestEngine(RetypeTestCase):

    def test_failure_records_state_and_resume_skips_done_steps(self):
        log = []
        steps = [Recording('one', log),
                 Recording('two', log, retype.StepStopped(
                     'guests use it', 'nova-compute is disabled.')),
                 Recording('three', log)]
        e = self.assertRaises(exception.RetypeStepFailed, retype.run_steps,
                              self.ctx(), steps)
        self.assertIn('retype stopped at step two: guests use it', str(e))
        self.assertIn('nova-compute is disabled.', str(e))
        self.assertIn('Resume with: nova-mig retype %s' % self.layout,
                      str(e))
        self.assertEqual(['one', 'two'], log)
        self.assertEqual(['one'], self.state()['completed'])
        self.assertEqual('two', self.state()['failed']['step'])

        steps[1].fail = None
        rows = retype.run_steps(self.ctx(), steps)
        self.assertEqual(['one', 'two', 'two', 'three'], log)
        self.assertEqual(('one', retype.DONE, 'done in an earlier run'),
                         rows[0])
        self.assertEqual(['one', 'two', 'three'], self.state()['completed'])
        self.assertNotIn('failed', self.state())

    def test_nova_mig_errors_stop_with_the_step_state(self):
        step = Recording('x', [], exception.SysfsError(path='p', reason='r'))
        step.state_on_failure = 'Nothing was changed.'
        e = self.assertRaises(exception.RetypeStepFailed, retype.run_steps,
                              self.ctx(), [step])
        self.assertIn('Cannot read p: r', str(e))
        self.assertIn('Nothing was changed.', str(e))

    def test_waiting_for_operator(self):
        log = []
        steps = [Recording('restart', log,
                           retype.WaitForOperator('run it')),
                 Recording('after', log)]
        rows = retype.run_steps(self.ctx(), steps)
        self.assertEqual([('restart', retype.WAITING, 'run it'),
                          ('after', retype.PENDING, '')], rows)
        self.assertEqual(['restart'], self.state()['completed'])
        rows = retype.run_steps(self.ctx(), steps)
        self.assertEqual(['restart', 'after'], log)

    def test_dry_run_writes_no_state(self):
        log = []
        rows = retype.run_steps(self.ctx(dry_run=True),
                                [Recording('one', log)])
        self.assertEqual([('one', retype.WOULD, 'would run one')], rows)
        self.assertEqual([], log)
        self.assertIsNone(self.state())

    def test_other_layout_refused_unless_restart(self):
        retype.save_state(self.conf.host.state_dir, {
            'layout': '/old.yaml', 'layout_sha256': 'x',
            'completed': ['disable-service']})
        e = self.assertRaises(exception.RetypeStateError, retype.start,
                              self.conf, self.options)
        self.assertIn('--restart', str(e))
        state = retype.start(self.conf, self.options, restart=True)
        self.assertEqual([], state['completed'])

    def test_resume_command_keeps_flags(self):
        options = retype.Options(layout_path='/l y.yaml',
                                 skip_placement_check=True)
        self.assertEqual("nova-mig retype '/l y.yaml' --skip-placement-"
                         "check", retype.resume_command(options))

    def test_corrupt_state(self):
        with open(os.path.join(self.conf.host.state_dir,
                               retype.STATE_FILE), 'w') as f:
            f.write('{')
        self.assertRaises(exception.RetypeStateError, retype.load_state,
                          self.conf.host.state_dir)


class TestSteps(RetypeTestCase):

    def test_service_disabled_then_enabled(self):
        service = fakes.FakeService(HOSTNAME)
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
        service = fakes.FakeService(HOSTNAME, 'disabled', 'repair')
        ctx = self.ctx()
        ctx.connect = lambda conf: fakes.conn(service)
        retype_steps.DisableService().run(ctx)
        self.assertIn('left disabled', retype_steps.EnableService().run(ctx))
        self.assertEqual(('disabled', 'repair'),
                         (service.status, service.disabled_reason))

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

    def test_state_file_is_json(self):
        retype.run_steps(self.ctx(), [Recording('a', [])])
        with open(os.path.join(self.conf.host.state_dir,
                               retype.STATE_FILE)) as f:
            self.assertEqual(['a'], json.load(f)['completed'])


class TestApplyLayoutStep(RetypeTestCase):

    def _run(self, include_foreign):
        result = mock.Mock(ok=True, gpus=[])
        ctx = self.ctx(include_foreign=include_foreign)
        layout = mock.sentinel.layout
        ctx._planned = mock.sentinel.planned
        with mock.patch('nova_mig.layout.apply.apply',
                        return_value=result) as apply, \
                mock.patch.object(ctx, 'layout', return_value=layout):
            retype_steps.ApplyLayout().run(ctx)
        self.assertIs(layout, apply.call_args.args[2])
        # The Nova configuration is planned again for the new layout.
        self.assertIsNone(ctx._planned)
        return apply.call_args.kwargs['include_foreign']

    def test_include_foreign_reaches_the_layout(self):
        # The reap step and the layout step remove the same devices: a
        # foreign device the reaper keeps must not be removed by apply.
        self.assertFalse(self._run(False))
        self.assertTrue(self._run(True))
