# SPDX-License-Identifier: Apache-2.0

"""Functional tests of ``nova-mig retype`` on the simulated T4 host."""

import configparser
import json
import os

from nova_mig.host import discovery
from nova_mig.simulator import backend
from nova_mig.workflows import retype
from nova_mig.workflows import retype_steps
from tests.functional import base
from tests.functional.reaper import base as reaper_base
from tests.unit.reaper import fakes as reaper_fakes

ORPHAN_8C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000801'
GPU0 = '0000:3b:00.0'
GPU1 = '0000:d8:00.0'
FLAGS = ('--skip-service-steps', '--skip-placement-check',
         '--include-foreign')
LAYOUT = '''version: 1
gpus:
  - select: {pci_address: "%s"}
    time_sliced: {type: T4-4C, count: 2}
'''


class TestRetype(base.CliTestCase):

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.tmpdir, 'state')
        self.snippet = os.path.join(self.tmpdir, 'nova.conf.d', 'mig.conf')
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-235\n')
        self.extra = (
            '[reaper]\ngrace_period = 0\nnova_config_files = %s\n'
            'proc_root = %s\n'
            '[nova]\nconfig_snippet = %s\nprovider_config_file = %s\n'
            'time_sliced_type = T4-4C\n'
            % (nova_conf, self.tmpdir, self.snippet,
               os.path.join(self.tmpdir, 'provider', 'nova-mig.yaml')))
        self.flags(host_file=base.host_file('t4-orphans.yaml'),
                   work_dir=os.path.join(self.state, 'simulator'),
                   group='simulator')
        self.backend = backend.SimulatedBackend(self.conf)

    def layout(self, gpu=GPU0):
        path = os.path.join(self.tmpdir, 'layout.yaml')
        with open(path, 'w') as f:
            f.write(LAYOUT % gpu)
        return path

    def retype(self, *args, retype_conf='restart_command = true\n'):
        conf = self.write_conf(base.host_file('t4-orphans.yaml'),
                               extra=self.extra + '[retype]\n' +
                               retype_conf)
        return self.nova_mig('retype', *args, conf_file=conf)

    def devices(self, gpu):
        report = self.backend.host.load()
        return sorted(v['uuid'] for v in report.vgpus
                      if v['parent'] == gpu)

    def test_whole_workflow(self):
        rc, out, err = self.retype(self.layout(), *FLAGS, '-f', 'json')
        self.assertEqual(0, rc, err)
        rows = json.loads(out)
        self.assertEqual([s.name for s in retype_steps.all_steps()],
                         [r['step'] for r in rows])
        self.assertEqual({'done'}, {r['status'] for r in rows})
        self.assertIn('removed %s' % ORPHAN_8C, rows[2]['detail'])
        devices = self.devices(GPU0)
        self.assertEqual(2, len(devices))
        self.assertNotIn(ORPHAN_8C, devices)
        parser = configparser.ConfigParser()
        parser.read(self.snippet)
        self.assertEqual('nvidia-234',
                         parser['devices']['enabled_mdev_types'])
        self.assertIsNone(retype.load_state(self.state))

    def test_dry_run_changes_nothing(self):
        rc, out, err = self.retype(self.layout(), *FLAGS, '--dry-run',
                                   '-f', 'json')
        self.assertEqual(0, rc, err)
        rows = {r['step']: r for r in json.loads(out)}
        self.assertEqual('would remove %s' % ORPHAN_8C,
                         rows['reap']['detail'])
        self.assertEqual([ORPHAN_8C], self.devices(GPU0))
        self.assertFalse(os.path.exists(self.snippet))
        self.assertIsNone(retype.load_state(self.state))

    def test_in_use_gpu_stops_and_lists_the_guests(self):
        rc, out, err = self.retype(self.layout(GPU1), *FLAGS)
        self.assertEqual(1, rc)
        self.assertIn('retype stopped at step check-in-use', err)
        self.assertIn('instance-0000000a (', err)
        self.assertIn('instance-0000000b (', err)
        self.assertIn('Resume with: nova-mig retype', err)
        state = retype.load_state(self.state)
        self.assertEqual(['disable-service'], state['completed'])
        self.assertEqual('check-in-use', state['failed']['step'])
        self.assertEqual(4, len(self.devices(GPU0) + self.devices(GPU1)))

    def test_failed_restart_then_resume(self):
        layout = self.layout()
        rc, out, err = self.retype(layout, *FLAGS,
                                   retype_conf='restart_command = false\n')
        self.assertEqual(1, rc)
        self.assertIn('stopped at step restart-nova-compute', err)
        self.assertIn('nova-compute still runs with the old', err)
        rc, out, err = self.retype(layout, *FLAGS, '-f', 'json')
        self.assertEqual(0, rc, err)
        rows = {r['step']: r for r in json.loads(out)}
        self.assertEqual('done in an earlier run',
                         rows['apply-layout']['detail'])
        self.assertEqual('ran "true"',
                         rows['restart-nova-compute']['detail'])

    def test_restart_left_to_the_operator(self):
        layout = self.layout()
        rc, out, err = self.retype(
            layout, *FLAGS, '-f', 'json',
            retype_conf='allow_restart = false\n')
        self.assertEqual(2, rc, err)
        rows = {r['step']: r for r in json.loads(out)}
        self.assertEqual('waiting for operator',
                         rows['restart-nova-compute']['status'])
        self.assertIn('systemctl restart nova-compute',
                      rows['restart-nova-compute']['detail'])
        self.assertEqual('pending', rows['enable-service']['status'])
        rc, out, err = self.retype(layout, *FLAGS, '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertIsNone(retype.load_state(self.state))


class TestUsersOf(reaper_base.ReaperTestCase):
    """The guests the check-in-use step names, on the reaper's host."""

    def test_users_of_lists_every_domain_state(self):
        report = discovery.discover(self.backend)
        users = retype_steps.users_of(report, [reaper_fakes.GPU0])
        # instance-00000002 holds two devices.
        self.assertEqual(4, len(users))
        self.assertTrue(any(u.startswith('instance-00000002 (%s'
                                         % reaper_fakes.A2) for u in users))
        self.assertEqual([], retype_steps.users_of(report,
                                                   [reaper_fakes.GPU1]))
