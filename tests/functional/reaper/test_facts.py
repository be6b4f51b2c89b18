# SPDX-License-Identifier: Apache-2.0

"""Gathering the reaper's evidence on a simulated host."""

import os

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from tests.functional.reaper import base
from tests.unit.reaper import fakes


class TestGather(base.ReaperTestCase):

    def gather(self, placement=None):
        placement = placement or fakes.FakePlacement()
        gatherer = evidence.Gatherer(self.conf, self.backend,
                                     placement=placement, clock=self.clock)
        host = gatherer.gather()
        return host, {d.key: d for d in host.devices}

    def test_every_case(self):
        self.own_all()
        self.hold_open(4242, os.path.join(self.dev, 'vfio',
                                          str(self.group_of(fakes.A5))))
        host, devs = self.gather()
        self.assertEqual(9, len(devs))
        self.assertEqual(('instance-00000001 (running)',),
                         devs[fakes.A1].domains)
        # A shut-off defined domain with two mdevs holds both.
        self.assertEqual(('instance-00000002 (shutoff)',),
                         devs[fakes.A2].domains)
        self.assertEqual(devs[fakes.A2].domains, devs[fakes.A3].domains)
        self.assertEqual(('desktop-lab (running, not a Nova instance)',),
                         devs[fakes.A4].domains)
        self.assertEqual((4242,), devs[fakes.A5].holders)
        self.assertEqual((), devs[fakes.B1].holders)
        self.assertLess(devs[fakes.B2].age, 600)
        self.assertEqual('ownership record', devs[fakes.B2].age_source)
        self.assertFalse(devs[fakes.C1].owned)
        self.assertEqual('sysfs ctime', devs[fakes.C1].age_source)
        self.assertTrue(devs[fakes.D1].type_enabled)
        self.assertFalse(devs[fakes.B1].type_enabled)
        self.assertEqual('nvidia-235', devs[fakes.B1].type_id)
        self.assertTrue(devs[fakes.B1].libvirt_node_device.startswith(
            'mdev_bbbbbbbb'))

        decisions = {d.facts.key: d for d in decide.decide(
            host.devices, decide.Policy(grace_period=600))}
        removable = sorted(k for k, d in decisions.items() if d.remove)
        self.assertEqual([fakes.B1], removable)
        policy = decide.Policy(grace_period=600, include_foreign=True,
                               all_unassigned=True)
        removable = sorted(d.facts.key for d in decide.decide(
            host.devices, policy) if d.remove)
        self.assertEqual([fakes.B1, fakes.C1, fakes.D1], removable)

    def test_inflight_allocation_on_parent(self):
        self.own_all()
        _, devs = self.gather(fakes.FakePlacement(
            allocations={fakes.GPU1: ['building-1']}))
        self.assertEqual(('building-1',), devs[fakes.B1].inflight_consumers)
        self.assertFalse(decide.decide_one(
            devs[fakes.B1], decide.Policy()).remove)

    def test_placement_failure_is_unknown(self):
        error = exception.PlacementUnreachable(url='http://p', reason='down')
        host, devs = self.gather(fakes.FakePlacement(error=error))
        self.assertIsNone(devs[fakes.B1].inflight_consumers)
        self.assertIn('unreachable', devs[fakes.B1].placement_note)
        self.assertTrue(any('Placement check failed' in n
                            for n in host.notes))

    def test_placement_not_configured(self):
        gatherer = evidence.Gatherer(self.conf, self.backend, clock=self.clock)
        devs = {d.key: d for d in gatherer.gather().devices}
        self.assertIsNone(devs[fakes.B1].inflight_consumers)
        self.assertIn('not configured', devs[fakes.B1].placement_note)

    def test_unreadable_nova_config_is_unknown(self):
        os.unlink(self.nova_conf)
        host, devs = self.gather()
        self.assertIsNone(devs[fakes.B1].type_enabled)
        self.assertTrue(any('no Nova configuration' in n
                            for n in host.notes))

    def test_libvirt_unreachable(self):
        self.flags(work_dir=os.path.join(self.tmpdir, 'sim'),
                   group='simulator')
        self.backend.libvirt_uri = lambda: 'test:///nonexistent.xml'
        self.assertRaises(exception.LibvirtError, self.gather)

    def test_recheck_sees_new_user(self):
        self.own_all()
        gatherer = evidence.Gatherer(self.conf, self.backend,
                                     placement=fakes.FakePlacement(),
                                     clock=self.clock)
        devs = {d.key: d for d in gatherer.gather().devices}
        with self.backend.host.transaction() as state:
            state.domains.append({
                'name': 'instance-late', 'uuid':
                '0d000000-0000-4000-8000-000000000009', 'state': 'shutoff',
                'nova': True, 'display_name': 'late', 'mdevs': [fakes.B1],
                'pci_hostdevs': []})
        self.hold_open(7, os.path.join(self.dev, 'vfio',
                                       str(self.group_of(fakes.B1))))
        fresh = gatherer.recheck(devs[fakes.B1])
        self.assertEqual(('instance-late (shutoff)',), fresh.domains)
        self.assertEqual((7,), fresh.holders)


class TestDomainsReferencing(base.ReaperTestCase):

    host_file = base.VENDOR_VFIO

    def test_vendor_vfio_vf_in_pci_hostdev(self):
        uri = self.backend.libvirt_uri()
        found = evidence.domains_referencing(uri, constants.MODE_VENDOR_VFIO,
                                             '0000:1b:00.6')
        self.assertEqual(['instance-00000102'], [d.name for d in found])
        self.assertEqual('shutoff', found[0].state)
        self.assertEqual([], evidence.domains_referencing(
            uri, constants.MODE_VENDOR_VFIO, '0000:1b:00.5'))

    def test_vendor_vfio_gather(self):
        gatherer = evidence.Gatherer(self.conf, self.backend, placement=False,
                                     clock=self.clock)
        devs = {d.key: d for d in gatherer.gather().devices}
        self.assertEqual(constants.MODE_VENDOR_VFIO, devs['0000:1b:00.4'].kind)
        self.assertEqual(('instance-00000101 (running)',),
                         devs['0000:1b:00.4'].domains)
        self.assertEqual((), devs['0000:1b:00.5'].domains)
        # No [pci]device_spec lists the VF: not enabled in Nova.
        self.assertFalse(devs['0000:1b:00.5'].type_enabled)
