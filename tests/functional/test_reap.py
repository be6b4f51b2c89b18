# SPDX-License-Identifier: Apache-2.0

"""Functional tests of ``nova-mig reap`` on simulated hosts."""

import errno
import json
import multiprocessing
import os
import time

import fixtures

from nova_mig import lock
from nova_mig import ownership
from nova_mig.reaper import reap_journal
from nova_mig.simulator import backend
from nova_mig.simulator import kernel
from tests.functional import base

ORPHAN_8C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000801'
ORPHAN_4C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000403'
RUNNING_4C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000401'
SHUTOFF_4C = '7e0a1c9d-4b2e-4f3a-8c5d-000000000402'
GPU0 = '0000:3b:00.0'
NEW_4C = '7e0a1c9d-4b2e-4f3a-8c5d-00000000aaaa'
#: T4-4C in the simulator's catalog.
T4_4C = 'nvidia-234'
APPLY = ('reap', '--apply', '--skip-placement-check',
         '--force-with-enabled-service')


def _hold_lock(state_dir, seconds, ready, done):
    from oslo_config import cfg

    import nova_mig.conf
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf([], project='nova-mig')
    conf.set_override('state_dir', state_dir, group='host')
    with lock.host_lock(conf):
        ready.set()
        time.sleep(seconds)
        # Still holding the lock: whoever gets it next sees this set.
        done.set()


class TestReap(base.CliTestCase):

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.tmpdir, 'state')
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            # The operator switched every T4 to T4-4C.
            f.write('[devices]\nenabled_mdev_types = %s\n' % T4_4C)
        self.conf_file = self.write_conf(
            base.host_file('t4-orphans.yaml'),
            extra='[reaper]\ngrace_period = 60\nnova_config_files = %s\n'
                  'proc_root = %s\n[nova]\nconfig_snippet = %s\n'
                  % (nova_conf, self.make_proc(),
                     os.path.join(self.tmpdir, 'absent.conf')))
        record = ownership.OwnershipRecord(self.state)
        for key in (ORPHAN_8C, ORPHAN_4C, RUNNING_4C, SHUTOFF_4C):
            record.add(key, created_at='2020-01-01T00:00:00+00:00')
        self.flags(host_file=base.host_file('t4-orphans.yaml'),
                   group='simulator')
        self.flags(work_dir=os.path.join(self.state, 'simulator'),
                   group='simulator')
        self.backend = backend.SimulatedBackend(self.conf)

    def make_proc(self):
        proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(os.path.join(proc, '1', 'fd'))
        return proc

    def reap(self, *args):
        return self.nova_mig(*args, conf_file=self.conf_file)

    def rows(self, out):
        return {row['device']: row for row in json.loads(out)}

    def mdev_exists(self, uuid):
        return os.path.exists(os.path.join(
            self.backend.sysfs_root(), 'bus/mdev/devices', uuid))

    def create_4c(self, uuid=NEW_4C):
        path = os.path.join(self.backend.sysfs_root(), 'class', 'mdev_bus',
                            GPU0, 'mdev_supported_types', T4_4C, 'create')
        self.backend.sysfs_writer().write(path, uuid)

    def test_dry_run_is_the_default(self):
        rc, out, err = self.reap('reap', '-f', 'json',
                                 '--skip-placement-check')
        self.assertEqual(0, rc, err)
        rows = self.rows(out)
        self.assertEqual(4, len(rows))
        self.assertEqual('remove', rows[ORPHAN_8C]['decision'])
        self.assertEqual('would remove', rows[ORPHAN_8C]['result'])
        self.assertEqual('nvidia-235 (GRID T4-8C)', rows[ORPHAN_8C]['type'])
        self.assertEqual(GPU0, rows[ORPHAN_8C]['parent'])
        self.assertEqual('keep', rows[RUNNING_4C]['decision'])
        self.assertIn('used by domain instance-0000000b (shutoff)',
                      rows[SHUTOFF_4C]['reasons'])
        self.assertIn('type %s still enabled in Nova (the only enabled '
                      'type)' % T4_4C, rows[ORPHAN_4C]['reasons'])
        self.assertTrue(self.mdev_exists(ORPHAN_8C))

    def test_type_change_story(self):
        # The leftover T4-8C blocks T4-4C on its GPU: NoValidHost in Nova.
        e = self.assertRaises(OSError, self.create_4c)
        self.assertEqual(errno.ENOSPC, e.errno)

        rc, out, err = self.reap(*APPLY, '-f', 'json')
        self.assertEqual(0, rc, err)
        rows = self.rows(out)
        self.assertEqual('removed: sysfs remove', rows[ORPHAN_8C]['result'])
        self.assertEqual('kept', rows[ORPHAN_4C]['result'])
        self.assertFalse(self.mdev_exists(ORPHAN_8C))
        for uuid in (ORPHAN_4C, RUNNING_4C, SHUTOFF_4C):
            self.assertTrue(self.mdev_exists(uuid))

        self.create_4c()
        self.assertTrue(self.mdev_exists(NEW_4C))

    def test_all_unassigned_takes_the_current_type_orphan(self):
        rc, out, err = self.reap(*APPLY, '--all-unassigned', '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertFalse(self.mdev_exists(ORPHAN_4C))
        self.assertTrue(self.mdev_exists(SHUTOFF_4C))

    def test_enabled_service_refused_without_force(self):
        rc, out, err = self.reap('reap', '--apply', '--skip-placement-check')
        self.assertEqual(1, rc)
        # With [placement_sync]embedded the embedded cloud knows the
        # service, enabled until disabled there: the refusal names it,
        # never "cannot check" (which would mean no Compute API was asked).
        self.assertIn('nova-mig: error: The nova-compute service of host '
                      'compute-t4-1 is enabled in the Compute API; refusing '
                      'to remove devices while the scheduler may place '
                      'instances here.', err)
        self.assertNotIn('cannot check', err)
        self.assertTrue(self.mdev_exists(ORPHAN_8C))

    def test_failed_remove_write_exits_1(self):
        real = kernel.SysfsWriter.write

        def write(writer, path, value):
            if ORPHAN_8C in path:
                raise OSError(errno.EIO, 'Input/output error', path)
            return real(writer, path, value)
        self.useFixture(fixtures.MockPatchObject(kernel.SysfsWriter,
                                                 'write', write))
        rc, out, err = self.reap(*APPLY, '-f', 'json')
        self.assertEqual(1, rc)
        row = self.rows(out)[ORPHAN_8C]
        self.assertTrue(row['result'].startswith('failed: Writing'), row)
        self.assertIn('EIO', row['result'])
        events = [(e['event'], e['device'])
                  for e in reap_journal.Journal(self.state).entries()]
        self.assertEqual([('intent', ORPHAN_8C), ('failed', ORPHAN_8C)],
                         events)
        self.assertTrue(self.mdev_exists(ORPHAN_8C))

    def test_interrupted_run_is_finished(self):
        j = reap_journal.Journal(self.state)
        op = j.intent(ORPHAN_8C, 'mdev', GPU0, 'nvidia-235', [])
        rc, out, err = self.reap('reap')
        self.assertIn('interrupted earlier', err)
        rc, out, err = self.reap(*APPLY)
        self.assertEqual(0, rc, err)
        self.assertFalse(self.mdev_exists(ORPHAN_8C))
        self.assertEqual([], j.pending())
        entries = [e for e in j.entries() if e['id'] == op]
        self.assertEqual(['intent', 'intent', 'done'],
                         [e['event'] for e in entries])
        self.assertTrue(entries[1]['resumed'])

    def _locked(self, seconds):
        # Spawned, not forked: a fork of this threaded process can inherit
        # a lock another thread held and hang; a daemon, so that the test
        # process never waits for it at exit.
        ctx = multiprocessing.get_context('spawn')
        ready, done = ctx.Event(), ctx.Event()
        proc = ctx.Process(target=_hold_lock,
                           args=(self.state, seconds, ready, done),
                           daemon=True)
        proc.start()
        self.addCleanup(proc.kill)
        self.addCleanup(proc.join, 30)
        self.assertTrue(ready.wait(60))
        return done

    def test_second_run_exits_on_the_lock(self):
        self._locked(20)
        start = time.monotonic()
        rc, out, err = self.reap(*APPLY, '--no-wait')
        self.assertEqual(1, rc)
        self.assertIn('Another nova-mig run holds the host lock', err)
        self.assertLess(time.monotonic() - start, 15)
        self.assertTrue(self.mdev_exists(ORPHAN_8C))

    def test_second_run_waits_for_the_lock(self):
        done = self._locked(2)
        rc, out, err = self.reap(*APPLY)
        self.assertEqual(0, rc, err)
        # The reap ran once the holder was through with the lock.
        self.assertTrue(done.is_set())
        self.assertFalse(self.mdev_exists(ORPHAN_8C))

    def test_queued_devices_only(self):
        from nova_mig.reaper import queue
        with open(os.path.join(self.state, queue.FILE_NAME), 'w') as f:
            f.write(json.dumps({'domain': 'gone', 'mdevs': [ORPHAN_4C],
                                'pci': []}) + '\n')
        rc, out, err = self.reap(*APPLY, '--queued', '--all-unassigned',
                                 '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual([ORPHAN_4C], list(self.rows(out)))
        self.assertFalse(self.mdev_exists(ORPHAN_4C))
        # Not queued: left alone although removable.
        self.assertTrue(self.mdev_exists(ORPHAN_8C))
        self.assertEqual(set(), queue.Queue(self.state).peek())
