"""Discover documents joined with Placement: who is planned, who not."""

import os
import time
import types

import fixtures

from nova_mig import exception
from nova_mig.rebalance import fleet
from tests import base
from tests.unit.rebalance import fakes

WINDOW = 3600


def _row(host, profile, capacity, used):
    return types.SimpleNamespace(host=host, profile=profile,
                                 capacity=capacity, used=used)


class LoadHostsTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.now = time.time()

    def test_reads_fresh_documents(self):
        fakes.write(self.dir, fakes.host_doc(
            'cn1', fakes.gpu_doc(0, instances=(('3g.40gb', 0, 4, True),
                                               ('3g.40gb', 4, 4, False))),
            fakes.gpu_doc(1, mig='disabled')))
        hosts, left = fleet.load_hosts(self.dir, WINDOW, self.now)
        self.assertEqual([], left)
        [host] = hosts
        self.assertEqual('cn1', host.name)
        [gpu] = host.gpus
        self.assertEqual((fleet.geometry.Slot(0, 4, '3g.40gb'),), gpu.fixed)
        self.assertEqual((fleet.geometry.Slot(4, 4, '3g.40gb'),), gpu.free)
        self.assertEqual(16, gpu.sriov_vfs)

    def test_unused_device_nova_mig_did_not_create_is_not_free(self):
        # As "layout apply" sees it: it refuses to remove such a device.
        gpu = fakes.gpu_doc(0, instances=(('2g.20gb', 0, 2, False),
                                          ('2g.20gb', 2, 2, False),
                                          ('1g.10gb', 4, 1, False),
                                          ('1g.10gb', 5, 1, True)))
        devices = tuple(
            {'uuid': 'u%d' % gi, 'gpu': '0000:41:00.0',
             'gpu_instance_id': gi, 'type_name': 'NVIDIA A100D-2-20C',
             'owned': owned}
            for gi, owned in ((1, False), (2, True), (3, None), (4, False)))
        host = fleet.host_state(fakes.host_doc('cn1', gpu, devices=devices),
                                'cn1.json', 0)
        [state] = host.gpus
        slot = fleet.geometry.Slot
        self.assertEqual((slot(0, 2, '2g.20gb'), slot(5, 1, '1g.10gb')),
                         state.fixed)
        # Owned, or a document from before "owned" was reported: free.
        self.assertEqual((slot(2, 2, '2g.20gb'), slot(4, 1, '1g.10gb')),
                         state.free)
        self.assertEqual('u1', state.devices[0]['uuid'])
        # What "rebalance apply --include-foreign" would do: free it; one
        # in use stays fixed, whoever made its device.
        fleet.release_foreign([host])
        self.assertEqual((slot(5, 1, '1g.10gb'),), state.fixed)
        self.assertEqual((slot(0, 2, '2g.20gb'), slot(2, 2, '2g.20gb'),
                          slot(4, 1, '1g.10gb')), state.free)

    def test_stale_unreadable_and_old_documents_are_left_out(self):
        fakes.write(self.dir, fakes.host_doc('old', fakes.gpu_doc(0)),
                    mtime=self.now - 2 * WINDOW)
        fakes.write(self.dir, fakes.host_doc('ok', fakes.gpu_doc(0)))
        with open(os.path.join(self.dir, 'broken.json'), 'w') as f:
            f.write('{"hostname": ')
        doc = fakes.host_doc('noprof', fakes.gpu_doc(0))
        del doc['gpus'][0]['profiles']
        fakes.write(self.dir, doc)
        hosts, left = fleet.load_hosts(self.dir, WINDOW, self.now)
        self.assertEqual(['ok'], [h.name for h in hosts])
        reasons = {h.host: h.reason for h in left}
        self.assertEqual({'old', 'broken', 'noprof'}, set(reasons))
        self.assertIn('stale: 7200 s old', reasons['old'])
        self.assertIn('unreadable', reasons['broken'])
        self.assertIn('no profile table', reasons['noprof'])

    def test_missing_or_empty_directory_is_one_line(self):
        e = self.assertRaises(exception.RebalanceInputError,
                              fleet.load_hosts, self.dir, WINDOW)
        self.assertIn('no discover document', str(e))
        missing = os.path.join(self.dir, 'nope')
        e = self.assertRaises(exception.RebalanceInputError,
                              fleet.load_hosts, missing, WINDOW)
        self.assertTrue(str(e).startswith(missing + ': --hosts: '))


class JoinPlacementTestCase(base.TestCase):

    def hosts(self):
        gpu = fakes.gpu_doc(0, instances=(('3g.40gb', 0, 4, True),
                                          ('3g.40gb', 4, 4, False)))
        doc = fakes.host_doc('cn1', gpu)
        return [fleet.host_state(doc, 'cn1.json', 0)]

    def test_agreeing_host_is_kept(self):
        kept, left = fleet.join_placement(
            self.hosts(), [_row('cn1', '3g.40gb', 2, 1)])
        self.assertEqual(['cn1'], [h.name for h in kept])
        self.assertEqual([], left)

    def test_more_used_in_placement_is_left_out(self):
        kept, left = fleet.join_placement(
            self.hosts(), [_row('cn1', '3g.40gb', 2, 2)])
        self.assertEqual([], kept)
        self.assertIn('Placement counts 2 used 3g.40gb', left[0].reason)

    def test_more_offered_in_placement_is_left_out(self):
        kept, left = fleet.join_placement(
            self.hosts(), [_row('cn1', '1g.10gb', 1, 0)])
        self.assertEqual([], kept)
        self.assertIn('offers 1 1g.10gb', left[0].reason)

    def test_placement_host_without_document(self):
        kept, left = fleet.join_placement(
            self.hosts(), [_row('cn1.example.org', '3g.40gb', 2, 1),
                           _row('cn9', '3g.40gb', 2, 0)])
        self.assertEqual(['cn1'], [h.name for h in kept])
        self.assertEqual([fleet.LeftOut(
            'cn9', 'no discover document: the host has GPU providers in '
            'Placement')], left)
