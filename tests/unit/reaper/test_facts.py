# SPDX-License-Identifier: Apache-2.0

"""Tests of the reaper's evidence: open handles, Placement, libvirt."""

import os

import fixtures
import libvirt

from nova_mig import exception
from nova_mig.host import inuse
from nova_mig.model import constants
from nova_mig.reaper import evidence
from tests import base
from tests.unit.host import fakes as host_fakes
from tests.unit.reaper import fakes


class TestOpenHandles(base.TestCase):

    def setUp(self):
        super().setUp()
        self.proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(self.proc)

    def hold_open(self, pid, node, fd=7):
        fd_dir = os.path.join(self.proc, str(pid), 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        os.symlink(node, os.path.join(fd_dir, str(fd)))

    def test_fake_proc_tree(self):
        self.hold_open(100, '/dev/vfio/31')
        self.hold_open(100, '/dev/null', fd=1)
        self.hold_open(200, '/dev/vfio/31')
        self.hold_open(300, '/dev/vfio/devices/vfio2')
        os.makedirs(os.path.join(self.proc, 'self'))
        nodes, denied = evidence.open_device_nodes(self.proc)
        self.assertEqual({'/dev/vfio/31': {100, 200},
                          '/dev/vfio/devices/vfio2': {300}}, nodes)
        self.assertEqual(0, denied)

    def test_unreadable_fd_dir_counted(self):
        self.hold_open(100, '/dev/vfio/31')
        self.hold_open(55, '/dev/vfio/32')
        refused = os.path.join(self.proc, '55', 'fd')
        real = os.listdir

        def listdir(path):
            # Another user's process, as a non-root run sees it.
            if path == refused:
                raise PermissionError(13, 'Permission denied', path)
            return real(path)
        self.useFixture(fixtures.MockPatch('os.listdir', listdir))
        self.assertEqual(({'/dev/vfio/31': {100}}, 1),
                         evidence.open_device_nodes(self.proc))

    def test_missing_proc(self):
        self.assertRaises(exception.SysfsError, evidence.open_device_nodes,
                          os.path.join(self.tmpdir, 'nope'))


class TestInflight(base.TestCase):

    def test_consumers_not_in_libvirt(self):
        client = fakes.FakePlacement(allocations={
            fakes.GPU1: ['new-instance', '0D000000-0000-4000-8000-0000000'
                         '00001'.lower()]})
        result = evidence.inflight_consumers(
            client, fakes.HOSTNAME, {'0d000000-0000-4000-8000-000000000001'})
        self.assertEqual(('new-instance',), result[fakes.GPU1])
        self.assertEqual((), result[fakes.GPU0])

    def test_no_compute_node(self):
        self.assertRaises(exception.PlacementProviderNotFound,
                          evidence.inflight_consumers,
                          fakes.FakePlacement(hostname='other'),
                          fakes.HOSTNAME, set())


class TestDomainsReferencing(base.TestCase):

    def setUp(self):
        super().setUp()
        self.conn = host_fakes.FakeConnection([
            host_fakes.FakeDomain('instance-1', host_fakes.domain_xml(
                'instance-1', host_fakes.MDEV % fakes.B1)),
            host_fakes.FakeDomain('instance-2', host_fakes.domain_xml(
                'instance-2', host_fakes.PCI),
                state=libvirt.VIR_DOMAIN_SHUTOFF),
        ])
        self.libvirt = self.useFixture(host_fakes.FakeLibvirt(self.conn))

    def test_mdev_and_vendor_vfio(self):
        found = evidence.domains_referencing('qemu:///system',
                                             constants.MODE_MDEV, fakes.B1)
        self.assertEqual(['instance-1 (running)'],
                         [inuse.label(d) for d in found])
        found = evidence.domains_referencing(
            'qemu:///system', constants.MODE_VENDOR_VFIO, '0000:c1:00.4')
        self.assertEqual(['instance-2 (shutoff)'],
                         [inuse.label(d) for d in found])
        self.assertEqual([], evidence.domains_referencing(
            'qemu:///system', constants.MODE_VENDOR_VFIO, '0000:c1:00.5'))
        # One read-only connection each time, closed after use.
        self.assertEqual(3 * [('openReadOnly', 'qemu:///system')],
                         self.libvirt.opened)
        self.assertTrue(self.conn.closed)

    def test_unreachable(self):
        self.libvirt.open_error = host_fakes.libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR)
        self.assertRaises(exception.LibvirtError, evidence.domains_referencing,
                          'qemu:///system', constants.MODE_MDEV, fakes.B1)
