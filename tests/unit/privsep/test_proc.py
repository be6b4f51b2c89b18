# SPDX-License-Identifier: Apache-2.0

"""Tests of the one entry point reading other processes' /dev/vfio handles.

The scan against a fake process table, in this process and through a
real (forked) privsep daemon of the proc context; the daemon's missing
capability, unreadable descriptors and too many holders are refusals,
never a partial answer.
"""

import errno
import os

import fixtures
from oslo_privsep.test import fixture as privsep_fixture

from nova_mig import privsep
from nova_mig.privsep import proc
from tests import base as test_base


class ProcTestCase(test_base.TestCase):
    """A fake /proc: three processes, two holding /dev/vfio nodes."""

    def setUp(self):
        super().setUp()
        self.proc = os.path.join(self.tmpdir, 'proc')
        self.hold(100, 3, '/dev/vfio/42')
        self.hold(100, 4, '/dev/null')
        self.hold(200, 5, '/dev/vfio/devices/vfio0')
        self.hold(200, 6, '/dev/vfio/42')
        # Another tree's "vfio" folder: not a /dev/vfio node.
        self.hold(300, 7, '/srv/vfio/42')
        # Not a process; a process gone between the listing and its fd.
        os.symlink('100', os.path.join(self.proc, 'self'))
        os.makedirs(os.path.join(self.proc, '400'))

    def hold(self, pid, fd, target):
        fd_dir = os.path.join(self.proc, str(pid), 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        os.symlink(target, os.path.join(fd_dir, str(fd)))

    def hide(self, pid):
        """A process whose descriptors this user cannot list."""
        self.hold(pid, 3, '/dev/vfio/43')
        fd_dir = os.path.join(self.proc, str(pid), 'fd')
        os.chmod(fd_dir, 0)
        self.addCleanup(os.chmod, fd_dir, 0o755)


class TestScan(ProcTestCase):

    def test_every_holder_of_a_prefix(self):
        holders, denied = proc.scan(self.proc, '/vfio/')
        self.assertEqual({'/dev/vfio/42': {100, 200},
                          '/dev/vfio/devices/vfio0': {200},
                          '/srv/vfio/42': {300}}, holders)
        self.assertEqual(0, denied)

    def test_missing_proc_raises(self):
        self.assertRaises(FileNotFoundError, proc.scan,
                          os.path.join(self.tmpdir, 'none'), '/vfio/')

    def test_capability_read_from_status(self):
        status = os.path.join(self.tmpdir, 'status')
        for capeff, capable in (('0000000000080000', True),
                                ('000001ffffffffff', True),
                                ('0000000000000004', False),
                                ('zz', False)):
            with open(status, 'w') as f:
                f.write('Name:\tx\nCapEff:\t%s\n' % capeff)
            self.assertEqual(capable, proc.ptrace_capable(status), capeff)
        self.assertFalse(proc.ptrace_capable(os.path.join(self.tmpdir,
                                                          'none')))


class TestInTheDaemon(ProcTestCase):
    """A real (forked) privsep daemon of the proc context.

    Patches made before the fork hold in the daemon: its process table
    becomes the fake one.
    """

    def start(self, capable=True, **patches):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.proc.PROC_ROOT', self.proc))
        if capable:
            self.useFixture(fixtures.MonkeyPatch(
                'nova_mig.privsep.proc.ptrace_capable', lambda: True))
        for name, value in patches.items():
            self.useFixture(fixtures.MonkeyPatch(
                'nova_mig.privsep.proc.%s' % name, value))
        self.useFixture(privsep_fixture.UnprivilegedPrivsepFixture(
            privsep.proc_pctxt, {}))

    def test_only_dev_vfio_nodes_cross_the_daemon(self):
        self.start()
        found = proc.vfio_holders()
        self.assertEqual({'/dev/vfio/42': [100, 200],
                          '/dev/vfio/devices/vfio0': [200]},
                         {node: list(pids) for node, pids in found.items()})

    def test_unreadable_descriptors_are_a_refusal(self):
        # The forked daemon keeps no capability: even as root it cannot
        # list a folder of mode 0.
        self.hide(500)
        self.start()
        e = self.assertRaises(PermissionError, proc.vfio_holders)
        self.assertEqual(errno.EACCES, e.errno)
        self.assertIn('cannot read the descriptors of 1 processes in %s'
                      % self.proc, str(e))

    def test_too_many_holders_are_a_refusal(self):
        self.start(MAX_HOLDERS=2)
        e = self.assertRaises(OSError, proc.vfio_holders)
        self.assertEqual(errno.E2BIG, e.errno)
        self.assertIn('more than 2 open /dev/vfio/ descriptors', str(e))

    def test_daemon_without_ptrace_refuses(self):
        # The test daemon runs with no capability: its own CapEff says so.
        self.start(capable=False)
        e = self.assertRaises(PermissionError, proc.vfio_holders)
        self.assertEqual(errno.EACCES, e.errno)
        self.assertIn('lacks CAP_SYS_PTRACE', str(e))
