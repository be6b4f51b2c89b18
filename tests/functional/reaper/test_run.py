# SPDX-License-Identifier: Apache-2.0

"""Tests of a reaper run: apply, faults and journal recovery."""

import errno
import os

import fixtures

from nova_mig import exception
from nova_mig import ownership
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from nova_mig.reaper import reap_journal
from nova_mig.reaper import reaper_run
from tests.functional.reaper import base
from tests.unit.reaper import fakes

EVERYTHING = decide.Policy(grace_period=600, include_foreign=True,
                           all_unassigned=True)


class FailingWriter:
    """The backend's writer, failing for one device's ``remove``."""

    def __init__(self, real, device, code=errno.EIO):
        self.real, self.device, self.code = real, device, code

    def remove_mdev(self, uuid):
        if uuid == self.device:
            raise OSError(self.code, os.strerror(self.code), uuid)
        self.real.remove_mdev(uuid)


class TestRun(base.ReaperTestCase):

    def setUp(self):
        super().setUp()
        self.own_all()
        self.hold_open(4242, os.path.join(self.dev, 'vfio',
                                          str(self.group_of(fakes.A5))))
        self.journal = reap_journal.Journal(self.conf.host.state_dir)

    def reaper(self, policy=EVERYTHING, gatherer=None, **kw):
        gatherer = gatherer or evidence.Gatherer(
            self.conf, self.backend, placement=fakes.FakePlacement(),
            clock=self.clock)
        return reaper_run.Reaper(self.conf, self.backend, policy,
                                 gatherer=gatherer, **kw)

    @staticmethod
    def results(result):
        return {o.decision.facts.key: o.result for o in result.outcomes}

    def test_dry_run_changes_nothing(self):
        result = self.reaper().run()
        self.assertEqual(reaper_run.WOULD_REMOVE,
                         self.results(result)[fakes.B1])
        self.assertTrue(self.mdev_exists(fakes.B1))
        self.assertEqual([], self.journal.entries())

    def test_apply_removes_only_the_orphans(self):
        result = self.reaper().run(apply=True)
        self.assertFalse(result.failed)
        self.assertEqual(sorted([fakes.B1, fakes.C1, fakes.D1]),
                         sorted(result.removed()))
        for key in (fakes.A1, fakes.A2, fakes.A3, fakes.A4, fakes.A5,
                    fakes.B2):
            self.assertTrue(self.mdev_exists(key), key)
        for key in result.removed():
            self.assertFalse(self.mdev_exists(key), key)
        events = [(e['event'], e['device']) for e in self.journal.entries()]
        self.assertEqual(6, len(events))
        self.assertEqual(('intent', fakes.B1), events[0])
        self.assertEqual(('done', fakes.B1), events[1])
        self.assertFalse(ownership.OwnershipRecord(
            self.conf.host.state_dir).owns(fakes.B1))

    def test_guard_refusal_removes_nothing(self):
        def guard(report):
            raise exception.ComputeServiceEnabled(host=report.hostname,
                                                  state='enabled')
        self.assertRaises(exception.ComputeServiceEnabled,
                          self.reaper().run, apply=True, guard=guard)
        self.assertTrue(self.mdev_exists(fakes.B1))
        self.assertEqual([], self.journal.entries())

    def test_libvirt_unreachable_mid_run_removes_nothing(self):
        real = evidence.Gatherer(self.conf, self.backend,
                                 placement=fakes.FakePlacement(),
                                 clock=self.clock)

        class Vanishing:
            def gather(inner):
                host = real.gather()
                # libvirt goes away once the facts are gathered.
                self.backend.libvirt_uri = (
                    lambda: 'test:///%s/gone.xml' % self.tmpdir)
                return host

            def recheck(inner, f):
                return real.recheck(f)

            def referencing_now(inner, f):
                return real.referencing_now(f)

        result = self.reaper(gatherer=Vanishing()).run(apply=True)
        self.assertEqual([], result.removed())
        self.assertEqual(reaper_run.NOT_RUN, self.results(result)[fakes.B1])
        self.assertTrue(any('libvirt unreachable' in n
                            for n in result.notes))
        for key in (fakes.B1, fakes.C1, fakes.D1):
            self.assertTrue(self.mdev_exists(key))
        # The intent journaled before the last check is closed: nothing
        # is left for the next run to finish.
        self.assertEqual([('intent', fakes.B1), ('abandoned', fakes.B1)],
                         [(e['event'], e['device'])
                          for e in self.journal.entries()])
        self.assertEqual([], self.journal.pending())

    def test_failed_write_is_journaled_and_others_continue(self):
        real = self.backend.sysfs_writer()
        self.backend.sysfs_writer = lambda: FailingWriter(real, fakes.B1)
        result = self.reaper().run(apply=True)
        self.assertTrue(result.failed)
        self.assertEqual(reaper_run.FAILED, self.results(result)[fakes.B1])
        self.assertIn('errno EIO', [o for o in result.outcomes
                                    if o.result == reaper_run.FAILED][
                                        0].detail)
        self.assertTrue(self.mdev_exists(fakes.B1))
        self.assertEqual(sorted([fakes.C1, fakes.D1]),
                         sorted(result.removed()))
        failed = [e for e in self.journal.entries()
                  if e['event'] == reap_journal.FAILED]
        self.assertEqual([fakes.B1], [e['device'] for e in failed])
        self.assertEqual([], self.journal.pending())
        self.assertTrue(ownership.OwnershipRecord(
            self.conf.host.state_dir).owns(fakes.B1))

    def test_apply_compacts_a_long_journal_and_a_dry_run_does_not(self):
        for n in range(30):
            op = self.journal.intent('c%d' % n, 'mdev', fakes.GPU1,
                                     'nvidia-235', [])
            self.journal.done(op, 'c%d' % n, [])
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.reaper.reap_journal.COMPACT_BYTES', 1000))
        self.reaper().run(apply=False)
        self.assertFalse(os.path.exists(self.journal.path + '.1'))
        self.assertEqual(60, len(self.journal.entries()))
        result = self.reaper().run(apply=True)
        self.assertFalse(result.failed)
        self.assertTrue(os.path.exists(self.journal.path + '.1'))
        # Only this run's removals are left, each an intent and a "done".
        removed = [o.decision.facts.key for o in result.outcomes
                   if o.result == reaper_run.REMOVED]
        self.assertIn(fakes.B1, removed)
        self.assertEqual(
            [(event, key) for key in removed
             for event in (reap_journal.INTENT, reap_journal.DONE)],
            [(e['event'], e['device']) for e in self.journal.entries()])

    def test_crash_after_sysfs_remove_is_finished(self):
        op = self.journal.intent(fakes.B1, 'mdev', fakes.GPU1, 'nvidia-235',
                                 [])
        self.backend.sysfs_writer().write(os.path.join(
            self.backend.sysfs_root(), 'bus/mdev/devices', fakes.B1,
            'remove'), '1')
        # The crashed run never wrote "done".
        result = self.reaper(policy=decide.Policy(grace_period=600)).run(
            apply=True)
        self.assertEqual([], self.journal.pending())
        done = [e for e in self.journal.entries() if e['id'] == op and
                e['event'] == reap_journal.DONE]
        self.assertEqual(1, len(done))
        self.assertIn('recovered: device already gone', done[0]['steps'])
        self.assertFalse(result.failed)

    def test_crash_before_sysfs_remove_is_resumed(self):
        op = self.journal.intent(fakes.B1, 'mdev', fakes.GPU1, 'nvidia-235',
                                 [])
        result = self.reaper().run(apply=True)
        self.assertEqual([fakes.B1], result.recovered)
        self.assertFalse(self.mdev_exists(fakes.B1))
        closing = [e for e in self.journal.entries() if e['id'] == op and
                   e['event'] != reap_journal.INTENT]
        self.assertEqual([reap_journal.DONE], [e['event'] for e in closing])
        self.assertEqual([], self.journal.pending())

    def test_interrupted_removal_of_a_device_now_in_use_is_abandoned(self):
        op = self.journal.intent(fakes.A1, 'mdev', fakes.GPU0, 'nvidia-225',
                                 [])
        self.reaper().run(apply=True)
        closing = [e for e in self.journal.entries() if e['id'] == op and
                   e['event'] != reap_journal.INTENT]
        self.assertEqual([reap_journal.ABANDONED],
                         [e['event'] for e in closing])
        self.assertIn('instance-00000001', closing[0]['reason'])
        self.assertTrue(self.mdev_exists(fakes.A1))

    def test_dry_run_mentions_interrupted_removals(self):
        self.journal.intent(fakes.B1, 'mdev', fakes.GPU1, 'nvidia-235', [])
        result = self.reaper().run()
        self.assertTrue(any('interrupted' in n for n in result.notes))
        self.assertEqual(1, len(self.journal.pending()))

    def test_device_claimed_after_gathering_is_kept(self):
        real = evidence.Gatherer(self.conf, self.backend,
                                 placement=fakes.FakePlacement(),
                                 clock=self.clock)

        class Claiming:
            def gather(inner):
                host = real.gather()
                with self.backend.host.transaction() as state:
                    state.domains.append({
                        'name': 'instance-new', 'uuid':
                        '0d000000-0000-4000-8000-00000000000a',
                        'state': 'running', 'nova': True,
                        'display_name': 'new', 'mdevs': [fakes.C1],
                        'pci_hostdevs': []})
                return host

            def recheck(inner, f):
                return real.recheck(f)

            def referencing_now(inner, f):
                return real.referencing_now(f)

        result = self.reaper(gatherer=Claiming()).run(apply=True)
        self.assertEqual(reaper_run.IN_USE, self.results(result)[fakes.C1])
        self.assertTrue(result.failed)
        self.assertTrue(self.mdev_exists(fakes.C1))
        # Journaled before the last check, the intent is abandoned.
        self.assertEqual(['intent', 'abandoned'],
                         [e['event'] for e in self.journal.entries()
                          if e['device'] == fakes.C1])
        self.assertNotIn(fakes.C1, [p['device']
                                    for p in self.journal.pending()])

    def test_only_restricts_to_queued_devices(self):
        result = self.reaper(only={fakes.B1}).run(apply=True)
        self.assertEqual([fakes.B1], result.removed())
        self.assertEqual(1, len(result.outcomes))
        self.assertTrue(self.mdev_exists(fakes.C1))
