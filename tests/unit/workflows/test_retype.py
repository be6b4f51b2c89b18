# SPDX-License-Identifier: Apache-2.0

"""Tests of the retype engine: state, resume, failures."""

import json
import os

from nova_mig import exception
from nova_mig.workflows import retype
from tests.unit.workflows import fakes


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


class TestEngine(fakes.RetypeTestCase):

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

    def test_state_of_the_wrong_shape_is_refused_with_the_fix(self):
        path = os.path.join(self.conf.host.state_dir, retype.STATE_FILE)
        for document in ([], {'layout': 'l.yaml'},
                         {'layout': 'l.yaml', 'layout_sha256': 'x',
                          'completed': 'a'},
                         {'layout': 'l.yaml', 'layout_sha256': 'x',
                          'completed': [1]}):
            with open(path, 'w') as f:
                json.dump(document, f)
            e = self.assertRaises(exception.RetypeStateError,
                                  retype.load_state,
                                  self.conf.host.state_dir)
            self.assertIn('--restart', str(e))
        layout = os.path.join(self.conf.host.state_dir, 'l.yaml')
        with open(layout, 'w') as f:
            f.write('version: 1\n')
        state = retype.start(self.conf, retype.Options(layout_path=layout),
                             restart=True)
        self.assertEqual([], state['completed'])

    def test_state_file_is_json(self):
        retype.run_steps(self.ctx(), [Recording('a', [])])
        with open(os.path.join(self.conf.host.state_dir,
                               retype.STATE_FILE)) as f:
            self.assertEqual(['a'], json.load(f)['completed'])
