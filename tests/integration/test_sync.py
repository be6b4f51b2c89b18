# SPDX-License-Identifier: Apache-2.0

"""nova-mig sync and verify against real Placement with Keystone tokens."""

import json
import uuid

import fixtures

from nova_mig.placement import api_client
from tests.integration import base

MIG3G = 'CUSTOM_MIG_3G_40GB'
MIG4G = 'CUSTOM_MIG_4G_40GB'
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'
CC80 = 'CUSTOM_CUDA_COMPUTE_CAPABILITY_V8_0'
MDEV = 'CUSTOM_VGPU_MODE_MDEV'


class SyncTestCase(base.IntegrationTestCase):
    """The a100-mixed host synced into the shared Placement."""

    def setUp(self):
        super().setUp()
        self.vf4 = self.hostname + '_pci_0000_41_00_4'
        self.vf81 = self.hostname + '_pci_0000_81_00_4'

    def sync(self, conf: str, *args: str) -> dict:
        rc, out, err = self.nova_mig('sync', '-f', 'json', *args,
                                     conf_file=conf)
        self.assertEqual(0, rc, out + err)
        return json.loads(out)

    def traits(self, client: api_client.PlacementClient,
               rp: dict) -> set[str]:
        return client.provider_traits(rp['uuid'])[0]

    def test_sync_creates_traits_and_classes_on_gpu_providers(self):
        # Names of this test's own, so they cannot exist beforehand.
        p = 'X%s' % uuid.uuid4().hex[:8].upper()
        conf = self.conf_file(extra=(
            '[naming]\nmig_resource_class = %s_MIG_{profile}\n'
            'profile_trait = %s_MIG_{profile}\nmodel_trait = %s_{model}\n'
            'compute_capability_trait = %s_CC_V{major}_{minor}\n'
            'device_mode_trait = %s_MODE_{mode}\n' % ((p,) * 5)))
        rps = self.seed(conf)
        client = self.admin_client(conf)
        vf4_traits = {'CUSTOM_%s_MIG_3G_40GB' % p,
                      'CUSTOM_%s_NVIDIA_A100_80GB_PCIE' % p,
                      'CUSTOM_%s_CC_V8_0' % p, 'CUSTOM_%s_MODE_MDEV' % p}
        self.assertEqual(set(), client.existing_traits(vf4_traits))
        self.assertEqual(set(), self.traits(client, rps[self.vf4]))

        result = self.sync(conf)

        self.assertEqual(self.hostname, result['hostname'])
        self.assertEqual(rps[self.hostname]['uuid'], result['root_uuid'])
        self.assertEqual([], result['missing'])
        self.assertLessEqual(vf4_traits, set(result['traits_created']))
        self.assertEqual(vf4_traits, client.existing_traits(vf4_traits))
        self.assertEqual(vf4_traits, self.traits(client, rps[self.vf4]))
        vf81 = self.traits(client, rps[self.vf81])
        self.assertIn('CUSTOM_%s_MIG_4G_40GB' % p, vf81)
        self.assertNotIn('CUSTOM_%s_MIG_3G_40GB' % p, vf81)
        # Every GPU provider got its traits, the compute node none.
        for name, exp in self.expected.items():
            self.assertEqual(set(exp.traits),
                             self.traits(client, rps[name]), name)
        root = self.traits(client, rps[self.hostname])
        self.assertEqual(set(), {t for t in root if p in t})
        self.assertIn('COMPUTE_VOLUME_EXTEND', root)
        self.assertIn('CUSTOM_%s_MIG_3G_40GB' % p, client.resource_classes())
        inv, _ = client.inventories(rps[self.vf4]['uuid'])
        self.assertEqual({'CUSTOM_%s_MIG_3G_40GB' % p}, set(inv))

    def test_foreign_traits_kept(self):
        conf = self.conf_file()
        rps = self.seed(conf)
        client = self.admin_client(conf)
        uuid_ = rps[self.vf4]['uuid']
        client.ensure_trait('CUSTOM_RACK_7')
        _, gen = client.provider_traits(uuid_)
        client.set_provider_traits(
            uuid_, {'CUSTOM_RACK_7', 'HW_GPU_API_VULKAN'}, gen)

        result = self.sync(conf)

        self.assertEqual({'CUSTOM_RACK_7', 'HW_GPU_API_VULKAN', MIG3G,
                          MODEL, CC80, MDEV},
                         self.traits(client, rps[self.vf4]))
        change = [c for c in result['providers']
                  if c['name'] == self.vf4][0]
        self.assertEqual(['CUSTOM_RACK_7', 'HW_GPU_API_VULKAN'],
                         change['kept'])
        self.assertEqual('changed', change['status'])

    def test_noop_resync_makes_no_write_and_at_most_three_requests(self):
        conf = self.conf_file()
        self.seed(conf)
        http = self.useFixture(base.HttpLog())
        first = self.sync(conf)
        placement = self.services.placement.root
        sent = http.to(placement)
        self.assertGreater(first['writes'], 0)
        self.assertEqual(first['requests'], len(sent))
        self.assertEqual(first['writes'],
                         len([m for m, _ in sent if m != 'GET']))
        # Every Placement request carried one token, issued by the real
        # Keystone to the nova service user of [placement].
        tokens = set(http.tokens_to(placement))
        self.assertEqual(1, len(tokens), tokens)
        token = tokens.pop()
        self.assertIsNotNone(token)
        admin = self.services.session()
        checked = admin.get(self.services.keystone.url + '/auth/tokens',
                            headers={'X-Subject-Token': token})
        self.assertEqual(200, checked.status_code)
        self.assertEqual('nova', checked.json()['token']['user']['name'])

        del http.sent[:]
        second = self.sync(conf)

        sent = http.to(placement)
        self.assertLessEqual(len(sent), 3, sent)
        self.assertEqual([], [(m, u) for m, u in sent if m != 'GET'])
        self.assertEqual(len(sent), second['requests'])
        self.assertEqual(0, second['writes'])
        self.assertEqual({'unchanged'},
                         {c['status'] for c in second['providers']})

    def test_concurrent_writer_bumping_generation_is_retried(self):
        conf = self.conf_file()
        rps = self.seed(conf)
        other = self.admin_client(conf)
        other.ensure_trait('CUSTOM_LATE')
        target = rps[self.vf4]['uuid']
        real_get = api_client.PlacementClient.provider_traits
        raced = []

        def get_then_race(client, uuid_):
            traits, gen = real_get(client, uuid_)
            if uuid_ == target and not raced:
                # Another writer changes the provider between our GET and
                # our PUT, through its own session and token.
                raced.append(other.set_provider_traits(
                    uuid_, traits | {'CUSTOM_LATE'}, gen))
            return traits, gen

        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.placement.api_client.PlacementClient.provider_traits',
            get_then_race))

        result = self.sync(conf)

        self.assertEqual(1, len(raced))
        self.assertEqual(1, result['conflicts'])
        change = [c for c in result['providers']
                  if c['name'] == self.vf4][0]
        self.assertEqual(2, change['attempts'])
        self.assertEqual('changed', change['status'])
        self.assertEqual({'CUSTOM_LATE', MIG3G, MODEL, CC80, MDEV},
                         other.provider_traits(target)[0])
        # Consistent afterwards: verify agrees and a re-sync writes nothing.
        rc, out, err = self.nova_mig('verify', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual(0, self.sync(conf)['writes'])

    def test_verify_then_sync_then_verify(self):
        conf = self.conf_file()
        self.seed(conf)
        rc, out, err = self.nova_mig('verify', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.sync(conf)
        rc, out, err = self.nova_mig('verify', '-f', 'json', conf_file=conf)
        self.assertEqual(0, rc, out + err)
        self.assertEqual([], json.loads(out)['drift'])
