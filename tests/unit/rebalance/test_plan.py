# SPDX-License-Identifier: Apache-2.0

"""Plans end to end: documents in, summary and layout files out."""

import json
import os

import fixtures
import yaml

from nova_mig import exception
from nova_mig.layout import schema
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import geometry
from tests import base
from tests.unit.rebalance import fakes

DEV = {'uuid': '8f3c1a52-3a3e-4a0e-9a57-0d3b8e6f0a01',
       'gpu': '0000:41:00.0', 'gpu_instance_id': 1,
       'type_name': 'NVIDIA A100D-3-40C'}


def _hosts():
    busy = fakes.gpu_doc(0, instances=(('3g.40gb', 0, 4, True),
                                       ('1g.10gb', 4, 1, False),
                                       ('1g.10gb', 5, 1, False),
                                       ('1g.10gb', 6, 1, False)))
    small = fakes.gpu_doc(1, instances=fakes.SEVEN_1G)
    h100 = fakes.gpu_doc(0, fakes.H100_80, instances=fakes.SEVEN_1G)
    docs = [fakes.host_doc('cn1', busy, small, devices=(DEV,)),
            fakes.host_doc('cn2', h100)]
    return [fleet.host_state(d, '%s.json' % d['hostname'], 0)
            for d in docs]


class BuildTestCase(base.TestCase):

    def test_nothing_wanted_changes_nothing(self):
        result = fleet_plan.build(_hosts(), [])
        self.assertEqual([], result.changes)
        self.assertEqual(3, result.gpus_planned)

    def test_demand_is_covered_and_in_use_instances_stay(self):
        hosts = _hosts()
        wanted = [demand.Demand('3g.40gb', 3), demand.Demand('7g.80gb', 1)]
        result = fleet_plan.build(hosts, wanted)
        rows = {r.profile: r for r in result.rows}
        self.assertEqual((0, 3), (rows['3g.40gb'].covered_before,
                                  rows['3g.40gb'].covered_after))
        self.assertEqual((0, 1), (rows['7g.80gb'].covered_before,
                                  rows['7g.80gb'].covered_after))
        fixed = {(g.host, g.pci_address): g.fixed
                 for h in hosts for g in h.gpus}
        for change in result.changes:
            kept = fixed[(change.host, change.pci_address)]
            self.assertLessEqual(set(kept), set(change.slots))
            gpu = next(g for h in hosts for g in h.gpus
                       if g.pci_address == change.pci_address and
                       g.host == change.host)
            self.assertTrue(geometry.is_valid(gpu.table, change.slots))
        busy = [c for c in result.changes
                if (c.host, c.pci_address) == ('cn1', '0000:41:00.0')]
        self.assertEqual([1], [c.kept_in_use for c in busy])
        self.assertEqual(3, len(result.changes))

    def test_max_gpus(self):
        result = fleet_plan.build(_hosts(), [demand.Demand('7g.80gb', 3)],
                                  max_gpus=1)
        self.assertEqual(1, len(result.changes))
        self.assertEqual(1, result.rows[0].covered_after)

    def test_layout_files_are_valid_layouts_pinning_kept_devices(self):
        hosts = _hosts()
        # Only the busy GPU has free slices: they make the 3g.40gb.
        del hosts[0].gpus[1]
        h100 = hosts[1].gpus[0]
        h100.fixed, h100.free = h100.free, ()
        result = fleet_plan.build(hosts, [demand.Demand('3g.40gb', 1)])
        out = self.useFixture(fixtures.TempDir()).path
        written = fleet_plan.write_layouts(result, hosts, out)
        self.assertEqual({'cn1': os.path.join(out, 'cn1.yaml')}, written)
        with open(written['cn1']) as stream:
            text = stream.read()
        layout = schema.loads(text, written['cn1'])
        [entry] = layout.gpus
        self.assertEqual('0000:41:00.0', entry.selector.pci_address)
        doc = yaml.safe_load(text)['gpus'][0]
        self.assertEqual(
            [{'profile': '3g.40gb', 'placement': 0,
              'vgpu': {'type': 'A100D-3-40C', 'uuid': DEV['uuid']}},
             {'profile': '3g.40gb', 'placement': 4}],
            doc['gpu_instances'])
        self.assertEqual(16, doc['sriov_vfs'])
        with open(os.path.join(out, fleet_plan.PLAN_FILE)) as stream:
            summary = json.load(stream)
        self.assertEqual(['cn1'], summary['hosts_touched'])
        self.assertEqual(written, summary['layouts'])

    def test_scoped_target_lands_in_its_zone(self):
        hosts = _hosts()
        hosts[1].scopes = frozenset({demand.zone_scope('az2')})
        result = fleet_plan.build(hosts, [demand.Demand('7g.80gb', 1,
                                                        'az:az2')])
        self.assertEqual(['cn2'], [c.host for c in result.changes])


class OutputConfinedTestCase(base.TestCase):
    """Layout files land in --output-dir, whatever a host is called."""

    def test_hostile_names_are_refused_before_anything_is_written(self):
        root = self.useFixture(fixtures.TempDir()).path
        out = os.path.join(root, 'out')
        gpu = fakes.gpu_doc(0, instances=fakes.SEVEN_1G)
        for name in ('../x', '/tmp/nova-mig-x', 'a\nb', 'ok'):
            host = fleet.host_state(fakes.host_doc('ok', gpu), 'ok.json', 0)
            host.name = name
            for g in host.gpus:
                g.host = name
            result = fleet_plan.build([host], [demand.Demand('3g.40gb', 1)])
            self.assertEqual(1, len(result.changes))
            if name == 'ok':
                fleet_plan.write_layouts(result, [host], out)
                self.assertEqual(['ok.yaml', 'plan.json'],
                                 sorted(os.listdir(out)))
                continue
            e = self.assertRaises(exception.RebalanceInputError,
                                  fleet_plan.write_layouts, result, [host],
                                  out)
            self.assertIn('--output-dir: refusing to write a layout for '
                          'host', str(e))
            self.assertNotIn('\n', str(e))
        self.assertEqual(['out'], os.listdir(root))
        self.assertFalse(os.path.exists('/tmp/nova-mig-x.yaml'))

    def test_symlink_out_of_the_directory_is_refused(self):
        root = self.useFixture(fixtures.TempDir()).path
        out = os.path.join(root, 'out')
        os.mkdir(out)
        os.symlink(os.path.join(root, 'elsewhere.yaml'),
                   os.path.join(out, 'cn1.yaml'))
        host = fleet.host_state(fakes.host_doc('cn1', fakes.gpu_doc(
            0, instances=fakes.SEVEN_1G)), 'cn1.json', 0)
        result = fleet_plan.build([host], [demand.Demand('3g.40gb', 1)])
        self.assertRaises(exception.RebalanceInputError,
                          fleet_plan.write_layouts, result, [host], out)
        self.assertFalse(os.path.exists(os.path.join(root,
                                                     'elsewhere.yaml')))


class TimeLimitTestCase(base.TestCase):
    """--time-limit holds on a crafted profile table too."""

    def test_forty_one_slice_profiles(self):
        import time
        profiles = [{'id': i, 'name': '1g.%dgb' % (i + 10), 'slices': 1,
                     'memory_mb': 1, 'instances': 7, 'multiprocessors': 1,
                     'placements': [{'start': s, 'size': 1}
                                    for s in range(8)]}
                    for i in range(40)]
        # A whole-GPU profile: the table's compute slices are seven.
        profiles.append({'id': 40, 'name': '7g.80gb', 'slices': 7,
                         'memory_mb': 1, 'instances': 1,
                         'multiprocessors': 1,
                         'placements': [{'start': 0, 'size': 8}]})
        gpu = dict(fakes.gpu_doc(0), profiles=profiles, gpu_instances=[])
        host = fleet.host_state(fakes.host_doc('cn1', gpu), 'cn1.json', 0)
        started = time.monotonic()
        result = fleet_plan.build([host], [demand.Demand('1g.10gb', 7)],
                                  time_limit=1.0)
        seconds = time.monotonic() - started
        # The search stops at the limit; each solver pass has it too.
        self.assertLess(seconds, 4.0)
        self.assertFalse(result.optimal)
        self.assertEqual(7, result.rows[0].free_after)
