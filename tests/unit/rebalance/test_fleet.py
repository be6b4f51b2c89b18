# SPDX-License-Identifier: Apache-2.0

"""Discover documents joined with Placement: who is planned, who not."""

import json
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


class HostileDocumentTestCase(base.TestCase):
    """Discover documents are untrusted: a bad one is left out, one line."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        fakes.write(self.dir, fakes.host_doc('ok', fakes.gpu_doc(0)))

    def write(self, name, content: bytes):
        with open(os.path.join(self.dir, name + '.json'), 'wb') as f:
            f.write(content)

    def reasons(self):
        hosts, left = fleet.load_hosts(self.dir, WINDOW)
        self.assertEqual(['ok'], [h.name for h in hosts])
        for item in left:
            self.assertNotIn('\n', item.host + item.reason)
        return {h.host: h.reason.split(': unreadable: ', 1)[1]
                for h in left}

    def doc(self, name='h', **gpu_changes):
        gpu = dict(fakes.gpu_doc(0), **gpu_changes)
        return fakes.host_doc(name, gpu)

    def test_hostile_host_names(self):
        for label, name in (('dotdot', '../../x'), ('absolute', '/tmp/x'),
                            ('newline', 'h\ngpus: []'), ('empty', ''),
                            ('number', 5)):
            self.write(label, json.dumps(fakes.host_doc(name)).encode())
        reasons = self.reasons()
        self.assertEqual(
            "hostname: not a DNS host name (letters, digits, \"-\", \".\" "
            "and \"_\", at most 253 characters): '../../x'",
            reasons['dotdot'])
        self.assertIn("'/tmp/x'", reasons['absolute'])
        self.assertIn("'h\\ngpus: []'", reasons['newline'])
        self.assertIn(': 5', reasons['number'])
        self.assertEqual(5, len(reasons))

    def test_malformed_documents(self):
        placements = self.doc()
        placements['gpus'][0]['profiles'][0]['placements'][0]['start'] = \
            10 ** 15
        wrong = self.doc(profiles='many')
        self.write('deep', b'[' * 100000)
        self.write('infinity', b'{"hostname": "h", "gpus": [], "x": '
                               b'Infinity}')
        self.write('placement', json.dumps(placements).encode())
        self.write('wrongtype', json.dumps(wrong).encode())
        self.write('latin1', b'{"hostname": "h\xe9", "gpus": []}')
        self.write('digits', b'{"hostname": "h", "gpus": [%s]}'
                   % (b'1' * 5000))
        reasons = self.reasons()
        self.assertEqual({
            'deep': 'JSON: nested deeper than 32 levels',
            'infinity': 'JSON: not JSON: Infinity is not a JSON number',
            'placement': 'gpus[0].profiles[0].placements[0].start: expected '
                         'an integer from 0 to 7, found 1000000000000000',
            'wrongtype': "gpus[0].profiles: expected a list of at most 64 "
                         "entries, found 'many'",
            'latin1': 'line 1 column 16: not valid UTF-8 (byte 0xe9)',
            'digits': 'JSON: not JSON: an integer of 5000 digits; at most '
                      '20 are accepted'}, reasons)

    def test_fifo_and_device_are_not_read(self):
        os.mkfifo(os.path.join(self.dir, 'fifo.json'))
        os.symlink('/dev/zero', os.path.join(self.dir, 'zero.json'))
        self.assertEqual(
            {'fifo': 'a FIFO, not a regular file; nova-mig reads only '
                     'regular files',
             'zero': 'a character device, not a regular file; nova-mig '
                     'reads only regular files'}, self.reasons())

    def test_file_name_with_a_line_break_is_shown_on_one_line(self):
        self.write('a\nb', b'{')
        hosts, left = fleet.load_hosts(self.dir, WINDOW)
        [item] = left
        self.assertEqual('a\\nb', item.host)
        self.assertIn('/a\\nb.json: unreadable: line 1 column 2: not JSON',
                      item.reason)
