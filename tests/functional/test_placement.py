# SPDX-License-Identifier: Apache-2.0

"""nova-mig sync and verify against a real Placement (openstack-placement).

Placement runs in-process: the embedded server (wsgiref on 127.0.0.1,
SQLite under the test's state directory, noauth2). HTTP requests are
counted with a response hook on the client's requests session.
"""

import json
import os
import socket
import time
import urllib.request

import fixtures

from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.placement import sync
from nova_mig.placement import verify
from nova_mig.simulator import embedded_placement
from tests import base as test_base
from tests.functional import base

HOST = 'compute-a100-1'
VF4 = HOST + '_pci_0000_41_00_4'
VF81 = HOST + '_pci_0000_81_00_4'
MIG3G = 'CUSTOM_MIG_3G_40GB'
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'


def counted(client: api_client.PlacementClient) -> list:
    """Record (method, url) of every HTTP response the client receives."""
    seen = []
    client.adapter.session.session.hooks['response'].append(
        lambda resp, *a, **kw: seen.append((resp.request.method, resp.url)))
    return seen


class PlacementTestCase(base.CliTestCase):
    """A simulated a100-mixed host and a real embedded Placement."""

    def setUp(self):
        super().setUp()
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=base.host_file('a100-mixed.yaml'),
                   group='simulator')
        self.flags(hypervisor_hostname=HOST, group='nova')
        self.config = type_plan.build(
            self.conf, discovery.discover(gpu.load_backend(self.conf)))
        self.server = embedded_placement.EmbeddedPlacement(self.tmpdir)
        self.server.start()
        self.addCleanup(self.server.stop)
        self.admin = self.server.client()
        self.expected = host_offer.providers(self.config, HOST)
        embedded_placement.seed(self.admin, HOST, self.expected)
        self.rps = {p['name']: p for p in self.admin.providers()}

    def traits(self, name):
        return self.admin.provider_traits(self.rps[name]['uuid'])[0]

    def sync(self, client=None, **kw) -> sync.SyncResult:
        return sync.sync(self.conf, self.config,
                         client or self.server.client(),
                         sleep=lambda s: None, **kw)

    def test_traits_and_classes_land_on_the_right_providers(self):
        result = self.sync()
        self.assertEqual([], result.missing)
        self.assertEqual({MIG3G, MODEL, 'CUSTOM_VGPU_MODE_MDEV',
                          'CUSTOM_CUDA_COMPUTE_CAPABILITY_V8_0'},
                         self.traits(VF4))
        self.assertIn('CUSTOM_MIG_4G_40GB', self.traits(VF81))
        self.assertNotIn(MIG3G, self.traits(VF81))
        self.assertNotIn(MODEL, self.traits(HOST))
        self.assertIn('COMPUTE_VOLUME_EXTEND', self.traits(HOST))
        self.assertLessEqual({MIG3G, 'CUSTOM_MIG_1G_10GB'},
                             self.admin.resource_classes())
        inv, _ = self.admin.inventories(self.rps[VF4]['uuid'])
        self.assertEqual(1, inv[MIG3G]['total'])

    def test_foreign_traits_kept(self):
        uuid = self.rps[VF4]['uuid']
        self.admin.ensure_trait('CUSTOM_RACK_7')
        _, gen = self.admin.provider_traits(uuid)
        self.admin.set_provider_traits(
            uuid, {'CUSTOM_RACK_7', 'HW_GPU_API_VULKAN'}, gen)
        result = self.sync()
        self.assertLessEqual({'CUSTOM_RACK_7', 'HW_GPU_API_VULKAN', MIG3G},
                             self.traits(VF4))
        change = [p for p in result.providers if p.name == VF4][0]
        self.assertEqual(['CUSTOM_RACK_7', 'HW_GPU_API_VULKAN'], change.kept)

    def test_noop_resync_makes_no_write_and_at_most_three_requests(self):
        first = self.server.client()
        first_seen = counted(first)
        self.sync(first)
        self.assertGreater(len([m for m, _ in first_seen if m == 'PUT']), 5)
        client = self.server.client()
        seen = counted(client)
        result = self.sync(client)
        self.assertLessEqual(len(seen), 3, seen)
        self.assertEqual([], [m for m, _ in seen if m != 'GET'])
        self.assertEqual(len(seen), result.requests)
        self.assertEqual(0, result.writes)

    def test_generation_bumped_by_nova_still_no_write(self):
        self.sync()
        for name in (VF4, VF81):
            uuid = self.rps[name]['uuid']
            inv, gen = self.admin.inventories(uuid)
            inv = {rc: dict(v, reserved=0) for rc, v in inv.items()}
            for v in inv.values():
                v.pop('resource_provider_generation', None)
            self.admin.set_inventories(uuid, inv, gen)
        client = self.server.client()
        seen = counted(client)
        result = self.sync(client)
        self.assertEqual(0, result.writes)
        self.assertEqual([], [m for m, _ in seen if m != 'GET'])

    def test_concurrent_writer_between_get_and_put_is_retried(self):
        client = self.server.client()
        other = self.server.client()
        other.ensure_trait('CUSTOM_LATE')
        real_get = client.provider_traits
        target = self.rps[VF4]['uuid']
        bumped = []

        def get_then_race(uuid):
            traits, gen = real_get(uuid)
            if uuid == target and not bumped:
                bumped.append(other.set_provider_traits(
                    uuid, traits | {'CUSTOM_LATE'}, gen))
            return traits, gen

        client.provider_traits = get_then_race
        result = self.sync(client)
        self.assertEqual(1, result.conflicts)
        change = [p for p in result.providers if p.name == VF4][0]
        self.assertEqual(2, change.attempts)
        self.assertEqual('changed', change.status)
        self.assertLessEqual({'CUSTOM_LATE', MIG3G}, self.traits(VF4))

    def test_verify_matches_after_sync(self):
        self.sync()
        result = verify.verify(self.conf, self.config, self.server.client())
        self.assertTrue(result.ok, result.drift)
        self.assertEqual(len(self.expected), len(result.checked))


class PlacementCliTestCase(base.CliTestCase):
    """The commands end to end, each run starting its embedded Placement."""

    def conf_file(self, host='a100-mixed.yaml', extra=''):
        return self.write_conf(
            base.host_file(host) if '/' not in host else host,
            '[nova]\nhypervisor_hostname = %s\n%s' % (HOST, extra))

    def test_sync_then_noop_sync_json(self):
        conf = self.conf_file()
        rc, out, err = self.nova_mig('sync', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, err)
        first = json.loads(out)
        self.assertEqual(HOST, first['hostname'])
        self.assertIn(MIG3G, first['traits_created'])
        rc, out, err = self.nova_mig('sync', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, err)
        second = json.loads(out)
        self.assertEqual(0, second['writes'])
        self.assertLessEqual(second['requests'], 3)
        self.assertEqual({'unchanged'},
                         {p['status'] for p in second['providers']})
        # Nothing outside the state directory: the database is in it.
        dbs = [os.path.join(d, f) for d, _, files in os.walk(self.tmpdir)
               for f in files if f.endswith('.db')]
        self.assertEqual(1, len(dbs), dbs)
        self.assertTrue(dbs[0].endswith('/placement/placement.db'))

    def test_dry_run_table(self):
        rc, out, err = self.nova_mig('sync', '--dry-run',
                                     conf_file=self.conf_file())
        self.assertEqual(0, rc, err)
        self.assertIn('would create traits: ', out)
        self.assertIn(VF4 + ' [CUSTOM_MIG_3G_40GB] would change', out)

    def test_verify_reports_old_class_after_type_change(self):
        conf = self.conf_file()
        self.assertEqual(0, self.nova_mig('sync', conf_file=conf)[0])
        rc, out, err = self.nova_mig('verify', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        # The orphan 4g.40gb vGPU on 0000:81:00.4 is recreated as 3g.40gb.
        with open(base.host_file('a100-mixed.yaml')) as f:
            text = f.read().replace('type: A100D-4-40C', 'type: A100D-3-40C')
        changed = os.path.join(self.tmpdir, 'a100-changed.yaml')
        with open(changed, 'w') as f:
            f.write(text)
        conf = self.conf_file(changed)
        rc, out, err = self.nova_mig('verify', '-f', 'json', conf_file=conf)
        self.assertEqual(1, rc, out + err)
        drift = {d['provider']: d for d in json.loads(out)['drift']}
        self.assertEqual(verify.STALE_CLASS, drift[VF81]['kind'])
        self.assertEqual('CUSTOM_MIG_4G_40GB: 1', drift[VF81]['actual'])
        self.assertEqual('CUSTOM_MIG_3G_40GB: 1', drift[VF81]['expected'])

    def test_unreachable_placement(self):
        url = test_base.closed_port_url()
        conf = self.conf_file(extra='[placement]\nauth_type = none\n'
                                    'endpoint_override = %s\n' % url)
        rc, out, err = self.nova_mig('sync', conf_file=conf)
        self.assertEqual(1, rc)
        self.assertIn('nova-mig: error: Placement at %s is unreachable'
                      % url, err)
        self.assertIn('[placement]endpoint_override', err)
        self.assertNotIn('Traceback', err)

    def test_placement_returning_500(self):
        url = self.useFixture(test_base.FailingPlacement()).url
        conf = self.conf_file(
            extra='[placement]\nauth_type = none\nendpoint_override = '
                  '%s\n' % url)
        for command in ('sync', 'verify'):
            rc, out, err = self.nova_mig(command, conf_file=conf)
            self.assertEqual(1, rc)
            self.assertIn('failed with HTTP 500: Internal Server Error: '
                          'The database is on fire.', err)
            self.assertNotIn('Traceback', err)


class SilentClientTestCase(test_base.TestCase):
    """A client that connects and says nothing holds the server briefly."""

    def test_a_silent_connection_is_dropped_and_others_are_served(self):
        self.useFixture(fixtures.MockPatchObject(
            embedded_placement._QuietHandler, 'timeout', 0.5))
        server = embedded_placement.EmbeddedPlacement(self.tmpdir)
        url = server.start()
        self.addCleanup(server.stop)
        port = int(url.rsplit(':', 1)[1])
        silent = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.addCleanup(silent.close)
        # One serving thread: the next request waits for the silent
        # connection to be dropped, then is answered.
        start = time.monotonic()
        with urllib.request.urlopen(url + '/', timeout=20) as response:
            self.assertEqual(200, response.status)
        self.assertLess(time.monotonic() - start, 15)
        # The server closed the silent connection.
        self.assertEqual(b'', silent.recv(1))

    def test_stop_is_bounded_while_a_request_is_being_served(self):
        self.useFixture(fixtures.MockPatchObject(
            embedded_placement, 'STOP_TIMEOUT', 0.5))
        server = embedded_placement.EmbeddedPlacement(self.tmpdir)
        url = server.start()
        port = int(url.rsplit(':', 1)[1])
        # Half a request: the serving thread waits for the rest.
        slow = socket.create_connection(('127.0.0.1', port), timeout=5)
        self.addCleanup(slow.close)
        slow.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n')
        time.sleep(0.3)
        start = time.monotonic()
        e = self.assertRaises(RuntimeError, server.stop)
        self.assertLess(time.monotonic() - start, 10)
        self.assertIn('did not stop within 0.5 s: a request was still '
                      'being served', str(e))
        slow.close()
        # The engine was given back: another one starts and answers.
        again = embedded_placement.EmbeddedPlacement(
            os.path.join(self.tmpdir, 'again'))
        url = again.start()
        self.addCleanup(again.stop)
        with urllib.request.urlopen(url + '/', timeout=20) as response:
            self.assertEqual(200, response.status)
