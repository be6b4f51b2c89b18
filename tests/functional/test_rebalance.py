# SPDX-License-Identifier: Apache-2.0

"""``nova-mig rebalance apply``: the per-GPU drain on a simulated host.

The a100-mixed host, a real embedded Placement, and as nova-compute's
restart command the simulated restart (``nova_mig.simulator.nova_compute``)
that makes Placement follow the Nova configuration nova-mig writes.
"""

import json
import os
import uuid

from oslo_config import cfg

import nova_mig.conf
from nova_mig.documents import layout_file
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.layout import schema
from nova_mig import ownership
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import geometry
from nova_mig.simulator import nova_compute
from nova_mig.workflows import drain
from tests.functional import base

HOST = 'compute-a100-1'
GPU81 = '0000:81:00.0'
GPU41 = '0000:41:00.0'
FULL = '''version: 1
gpus:
  - select: {pci_address: "%s"}
    mig: enabled
    sriov_vfs: 16
    gpu_instances:
      - {profile: 7g.80gb, placement: 0}
''' % GPU81
BUSY = '''version: 1
gpus:
  - select: {pci_address: "%s"}
    mig: enabled
    gpu_instances:
      - {profile: 7g.80gb, placement: 0}
''' % GPU41


class RebalanceHostTestCase(base.CliTestCase):
    """The simulated host registered in an embedded Placement."""

    def setUp(self):
        super().setUp()
        self.conf_path = self.write_cloud_conf(
            base.host_file('a100-mixed.yaml'), HOST)
        rc, out, err = self.nova_mig('nova-config', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        nova_compute.restart(self.load())

    def load(self):
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', self.conf_path], project='nova-mig')
        return conf

    def layout(self, text):
        path = os.path.join(self.tmpdir, 'layout.yaml')
        with open(path, 'w') as stream:
            stream.write(text)
        return path

    def providers(self):
        return sorted(p['name'] for p in self.server.client().providers())

    def geometry(self, address):
        report = discovery.discover(gpu.load_backend(self.load()))
        gpu_ = report.gpu_by_address(address)
        return sorted((g.profile_name, g.placement.start)
                      for g in gpu_.gpu_instances)


class RebalanceApplyTestCase(RebalanceHostTestCase):

    def test_dry_run_changes_nothing(self):
        before = self.providers()
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(FULL), '-f', 'json',
                                     '--include-foreign',
                                     conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual((GPU81, 'would change'),
                         (row['GPU'], row['Status']))
        self.assertIn('destroy GPU instance', row['Detail'])
        self.assertIn('drain: withhold 0000:81:00.4', err)
        self.assertEqual(before, self.providers())
        self.assertEqual([('3g.40gb', 4), ('4g.40gb', 0)],
                         self.geometry(GPU81))

    def test_apply_changes_one_gpu_and_placement_follows(self):
        untouched = [p for p in self.providers() if '_41_' in p]
        # GPU 81 carries an unused vGPU device nova-mig did not create:
        # its provider is drained first, so removing it is safe.
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(FULL), '--yes', '-f',
                                     'json', '--include-foreign',
                                     conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        self.assertEqual([{'GPU': GPU81, 'Status': 'changed'}],
                         [{k: r[k] for k in ('GPU', 'Status')}
                          for r in json.loads(out)])
        self.assertIn('drain: Placement shows the configuration', err)
        self.assertIn('restore: Placement shows the configuration', err)
        self.assertEqual([('7g.80gb', 0)], self.geometry(GPU81))
        names = self.providers()
        self.assertLessEqual(set(untouched), set(names))
        rp = [p for p in self.server.client().providers()
              if '_81_' in p['name']]
        self.assertEqual(1, len(rp))
        inventory, _ = self.server.client().inventories(rp[0]['uuid'])
        self.assertEqual({'CUSTOM_MIG_7G_80GB'}, set(inventory))

    def test_retype_per_gpu_runs_the_drain(self):
        rc, out, err = self.nova_mig('retype', self.layout(FULL),
                                     '--per-gpu', '--include-foreign', '-f',
                                     'json', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual(('per-gpu-drain', 'done'),
                         (row['step'], row['status']))
        self.assertIn('%s changed' % GPU81, row['detail'])
        self.assertEqual([('7g.80gb', 0)], self.geometry(GPU81))

    def test_foreign_device_refuses_without_include_foreign(self):
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(FULL), '-f', 'json',
                                     conf_file=self.conf_path)
        # A dry run: the refusal is reported, nothing changed, exit
        # status 3 (REFUSED), as "layout plan" and "layout apply
        # --dry-run".
        self.assertEqual(3, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual('refused', row['Status'])
        self.assertIn('not created by nova-mig', row['Detail'])
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(FULL), '--yes', '-f',
                                     'json', conf_file=self.conf_path)
        self.assertEqual(1, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual('refused', row['Status'])

    def test_in_use_gpu_is_refused_and_left_as_it_is(self):
        before = self.geometry(GPU41)
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(BUSY), '--yes', '-f',
                                     'json', conf_file=self.conf_path)
        self.assertEqual(1, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual('refused', row['Status'])
        self.assertEqual(before, self.geometry(GPU41))


class DiscoverDocumentTestCase(base.CliTestCase):
    """What ``discover -f json`` prints is what the planner reads."""

    def test_planner_reads_the_discover_document(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        host = fleet.host_state(json.loads(out), 'a100.json', 0)
        self.assertEqual(HOST, host.name)
        gpus = {g.pci_address: g for g in host.gpus}
        self.assertIn('7g.80gb', gpus[GPU41].table.names)
        self.assertEqual([(2, '1g.10gb'), (4, '3g.40gb')],
                         [(s.start, s.profile) for s in gpus[GPU41].fixed])
        self.assertEqual([(0, '2g.20gb'), (3, '1g.10gb')],
                         [(s.start, s.profile) for s in gpus[GPU41].free])
        self.assertTrue(geometry.is_valid(
            gpus[GPU41].table, gpus[GPU41].fixed + gpus[GPU41].free))

    def test_planner_counts_foreign_devices_as_apply_does(self):
        # Apply refuses to remove an unused vGPU device nova-mig did not
        # create (test_foreign_device_refuses_without_include_foreign):
        # the planner does not count its GPU instance as free.
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        document = json.loads(out)
        foreign = {(d['gpu'], d['gpu_instance_id'])
                   for d in document['vgpu_devices']
                   if d['owned'] is False and
                   d['gpu_instance_id'] is not None}
        self.assertTrue(foreign)
        # Once recorded as nova-mig's, the same device counts as free.
        key = sorted(d['uuid'] or d['parent']
                     for d in document['vgpu_devices']
                     if (d['gpu'], d['gpu_instance_id']) in foreign)[0]
        os.makedirs(os.path.join(self.tmpdir, 'state'), exist_ok=True)
        ownership.OwnershipRecord(os.path.join(self.tmpdir, 'state')).add(
            key)
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        owned = {d['uuid'] or d['parent']: d['owned']
                 for d in json.loads(out)['vgpu_devices']}
        self.assertIs(True, owned[key])
        self.assertEqual(1, sum(owned.values()))
        again = json.loads(out)
        [(address, gi_id)] = [(d['gpu'], d['gpu_instance_id'])
                              for d in again['vgpu_devices']
                              if (d['uuid'] or d['parent']) == key]
        gi = next(g for d in again['gpus'] if d['pci_address'] == address
                  for g in d['gpu_instances'] if g['id'] == gi_id)
        slot = geometry.Slot(gi['placement_start'], gi['placement_size'],
                             gi['profile'])
        state = next(g for g in fleet.host_state(again, 'a.json', 0).gpus
                     if g.pci_address == address)
        self.assertIn(slot, state.fixed if gi['in_use'] else state.free)
        host = fleet.host_state(document, 'a100.json', 0)
        for gpu_doc in document['gpus']:
            state = next((g for g in host.gpus
                          if g.pci_address == gpu_doc['pci_address']), None)
            if state is None:
                continue
            for gi in gpu_doc['gpu_instances']:
                slot = geometry.Slot(gi['placement_start'],
                                     gi['placement_size'], gi['profile'])
                if (gpu_doc['pci_address'], gi['id']) in foreign:
                    self.assertIn(slot, state.fixed)
                    self.assertNotIn(slot, state.free)


class PlannedLayoutTestCase(base.CliTestCase):
    """A rebalance plan's layout is a layout file ``layout plan`` reads."""

    def test_planned_layout_round_trips_through_layout_plan(self):
        conf = self.write_conf(base.host_file('a100-mixed.yaml'))
        rc, out, err = self.nova_mig('discover', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, err)
        hosts = [fleet.host_state(json.loads(out), 'a100.json', 0)]
        result = fleet_plan.build(hosts, [demand.Demand('1g.10gb', 8)])
        written = fleet_plan.write_layouts(result, hosts, self.tmpdir)
        self.assertEqual([HOST], list(written))
        with open(written[HOST], encoding='utf-8') as stream:
            text = stream.read()
        # Written by the layout file's one writer: what Layout.dump gives
        # for the layout read back, byte for byte after the header.
        layout = schema.load(written[HOST])
        header, body = text.split('\n', 1)
        self.assertEqual('# nova-mig rebalance layout of host %s' % HOST,
                         header)
        self.assertEqual(layout.dump(), body)
        self.assertEqual(layout_file.VERSION,
                         layout_file.read(written[HOST])['version'])
        changed = sorted(c.pci_address for c in result.changes)
        self.assertEqual(changed, sorted(g.selector.pci_address
                                         for g in layout.gpus))
        # The host reads it as it reads any layout file, and plans it.
        rc, out, err = self.nova_mig('layout', 'plan', written[HOST],
                                     '--include-foreign', '-f', 'json',
                                     conf_file=conf)
        self.assertEqual(0, rc, out + err)
        rows = json.loads(out)
        self.assertEqual(changed, sorted({r['GPU'] for r in rows
                                          if r['Action'] != 'none'}))
        self.assertNotIn('refused', {r['Status'] for r in rows})


class AllocationWhileDrainingTestCase(RebalanceHostTestCase):
    """A boot landing on a GPU being drained keeps the GPU as it is."""

    def allocate(self):
        client = self.server.client()
        rp = next(p for p in client.providers()
                  if p['name'] == HOST + '_pci_0000_81_00_4')
        inventory, _ = client.inventories(rp['uuid'])
        client.request('PUT', '/allocations/%s' % uuid.uuid4(), '1.28',
                       body={'allocations': {rp['uuid']: {'resources': {
                           rc: 1 for rc in inventory}}},
                             'project_id': 'p', 'user_id': 'u',
                             'consumer_generation': None}, ok=(204,))

    def test_allocated_before_the_drain(self):
        self.allocate()
        rc, out, err = self.nova_mig('rebalance', 'apply',
                                     self.layout(FULL), '--yes', '-f',
                                     'json', '--include-foreign',
                                     conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        [row] = json.loads(out)
        self.assertEqual('left alone', row['Status'])
        self.assertIn('got an allocation while draining', row['Detail'])
        self.assertEqual([('3g.40gb', 4), ('4g.40gb', 0)],
                         self.geometry(GPU81))

    def test_allocated_while_draining(self):
        conf = self.load()
        restarts = []

        def runner(command):
            # The boot lands between the configuration write and the
            # restart: Nova keeps the allocated provider.
            if not restarts:
                self.allocate()
            restarts.append(command)
            nova_compute.restart(conf)
            return 0

        run = drain.GpuDrain(conf, gpu.load_backend(conf),
                             schema.load(self.layout(FULL)),
                             include_foreign=True, runner=runner)
        result = run.run(dry_run=False)
        self.assertEqual([(GPU81, 'left alone')],
                         [(g.gpu, g.status) for g in result.gpus])
        self.assertEqual(2, len(restarts))
        self.assertEqual([('3g.40gb', 4), ('4g.40gb', 0)],
                         self.geometry(GPU81))
        names = self.providers()
        self.assertIn(HOST + '_pci_0000_81_00_4', names)
