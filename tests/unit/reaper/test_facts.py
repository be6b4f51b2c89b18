"""Tests of gathering the reaper's evidence on a simulated host."""

import os

from nova_mig import exception
from nova_mig.reaper import decide
from nova_mig.reaper import facts
from tests.unit.reaper import fakes


class TestOpenHandles(fakes.ReaperTestCase):

    def test_fake_proc_tree(self):
        self.hold_open(100, '/dev/vfio/31')
        self.hold_open(100, '/dev/null', fd=1)
        self.hold_open(200, '/dev/vfio/31')
        self.hold_open(300, '/dev/vfio/devices/vfio2')
        os.makedirs(os.path.join(self.proc, 'self'))
        nodes, denied = facts.open_device_nodes(self.proc)
        self.assertEqual({'/dev/vfio/31': {100, 200},
                          '/dev/vfio/devices/vfio2': {300}}, nodes)
        self.assertEqual(0, denied)

    def test_unreadable_fd_dir_counted(self):
        fd_dir = os.path.join(self.proc, '55', 'fd')
        os.makedirs(fd_dir)
        os.chmod(fd_dir, 0)
        self.addCleanup(os.chmod, fd_dir, 0o755)
        if os.geteuid() == 0:
            self.skipTest('root reads any directory')
        self.assertEqual(({}, 1), facts.open_device_nodes(self.proc))

    def test_missing_proc(self):
        self.assertRaises(exception.SysfsError, facts.open_device_nodes,
                          os.path.join(self.tmpdir, 'nope'))


class TestInflight(fakes.ReaperTestCase):

    def test_consumers_not_in_libvirt(self):
        client = fakes.FakePlacement(allocations={
            fakes.GPU1: ['new-instance', '0D000000-0000-4000-8000-0000000'
                         '00001'.lower()]})
        result = facts.inflight_consumers(
            client, fakes.HOSTNAME, {'0d000000-0000-4000-8000-000000000001'})
        self.assertEqual(('new-instance',), result[fakes.GPU1])
        self.assertEqual((), result[fakes.GPU0])

    def test_no_compute_node(self):
        self.assertRaises(exception.PlacementProviderNotFound,
                          facts.inflight_consumers,
                          fakes.FakePlacement(hostname='other'),
                          fakes.HOSTNAME, set())


class TestGather(fakes.ReaperTestCase):

    def gather(self, placement=None):
        placement = placement or fakes.FakePlacement()
        gatherer = facts.Gatherer(self.conf, self.backend,
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
        gatherer = facts.Gatherer(self.conf, self.backend, clock=self.clock)
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
        gatherer = facts.Gatherer(self.conf, self.backend,
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


class TestDomainsReferencing(fakes.ReaperTestCase):

    host_file = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                             'etc', 'nova-mig', 'hosts',
                             'h200-vendor-vfio.yaml')

    def test_vendor_vfio_vf_in_pci_hostdev(self):
        uri = self.backend.libvirt_uri()
        found = facts.domains_referencing(uri, decide.KIND_VENDOR_VFIO,
                                          '0000:1b:00.6')
        self.assertEqual(['instance-00000102'], [d.name for d in found])
        self.assertEqual('shutoff', found[0].state)
        self.assertEqual([], facts.domains_referencing(
            uri, decide.KIND_VENDOR_VFIO, '0000:1b:00.5'))

    def test_vendor_vfio_gather(self):
        gatherer = facts.Gatherer(self.conf, self.backend, placement=False,
                                  clock=self.clock)
        devs = {d.key: d for d in gatherer.gather().devices}
        self.assertEqual(decide.KIND_VENDOR_VFIO, devs['0000:1b:00.4'].kind)
        self.assertEqual(('instance-00000101 (running)',),
                         devs['0000:1b:00.4'].domains)
        self.assertEqual((), devs['0000:1b:00.5'].domains)
        # No [pci]device_spec lists the VF: not enabled in Nova.
        self.assertFalse(devs['0000:1b:00.5'].type_enabled)

    def test_provider_names(self):
        self.assertEqual('0000:1b:00.0',
                         facts._address_of('h', 'h_0000:1b:00.0'))
        self.assertEqual('0000:41:00.4',
                         facts._address_of('h', 'h_pci_0000_41_00_4'))
        self.assertIsNone(facts._address_of('h', 'h'))
        self.assertIsNone(facts._address_of('h', 'hx_pci_0000_41_00_4'))
