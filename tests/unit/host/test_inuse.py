# SPDX-License-Identifier: Apache-2.0

"""Tests of the in-use check shared by layout apply, reap and retype."""

import os
import types
from unittest import mock

import fixtures
import libvirt

from nova_mig import exception
from nova_mig.host import inuse
from nova_mig import privsep
from tests import base
from tests.unit.host import fakes
from tests.unit.privsep import privsep_fixtures

UUID = '11111111-2222-4333-8444-555555555555'
VF = '0000:c1:00.4'
GPU = 'GPU-0'


def _gpu(processes=(), vgpus=()):
    gi = types.SimpleNamespace(id=3, processes=tuple(processes))
    return types.SimpleNamespace(uuid=GPU, gpu_instances=(gi,),
                                 active_vgpus=tuple(vgpus))


class CheckerTestCase(base.TestCase):
    """Two domains, a VF, an empty /proc and a GPU with one instance."""

    def setUp(self):
        super().setUp()
        self.conn = fakes.FakeConnection([
            fakes.FakeDomain('instance-1', fakes.domain_xml(
                'instance-1', fakes.MDEV % UUID)),
            fakes.FakeDomain('instance-2', fakes.domain_xml(
                'instance-2', fakes.PCI), state=libvirt.VIR_DOMAIN_SHUTOFF),
        ])
        self.libvirt = self.useFixture(fakes.FakeLibvirt(self.conn))
        self.root = os.path.join(self.tmpdir, 'sys')
        tree = fakes.Tree(self.root)
        tree.pci(VF)
        self.proc = os.path.join(self.tmpdir, 'proc')
        os.makedirs(self.proc)
        self.dev = os.path.join(self.tmpdir, 'dev')
        self.backend = fakes.FakeBackend(self.conf, [_gpu()], self.root)

    def checker(self, strict=True):
        return inuse.Checker(self.backend, self.proc, self.dev,
                             strict=strict)


class TestChecker(CheckerTestCase):

    def test_domain_in_any_state_uses_its_device(self):
        verdict = self.checker().check(inuse.Target(inuse.MDEV, UUID))
        self.assertTrue(verdict.in_use)
        self.assertEqual('domain instance-1 (running)', verdict.reason())
        verdict = self.checker().check(inuse.Target(inuse.FUNCTION, VF))
        self.assertEqual('domain instance-2 (shutoff)', verdict.reason())

    def test_free_device(self):
        verdict = self.checker().check(inuse.Target(
            inuse.FUNCTION, '0000:c1:00.5'))
        self.assertFalse(verdict.in_use)

    def test_open_handle_uses_the_device(self):
        group = os.path.join(self.root, 'kernel', 'iommu_groups', '42')
        os.makedirs(group)
        os.symlink(group, os.path.join(
            self.root, 'devices/pci0000:40/0000:40:01.1', VF, 'iommu_group'))
        fd_dir = os.path.join(self.proc, '77', 'fd')
        os.makedirs(fd_dir)
        os.symlink(os.path.join(self.dev, 'vfio', '42'),
                   os.path.join(fd_dir, '9'))
        verdict = self.checker().check(inuse.Target(inuse.FUNCTION, VF))
        self.assertIn('held open by pid 77', verdict.users)

    def test_unreadable_handles_count_as_used_only_when_strict(self):
        self.proc = os.path.join(self.tmpdir, 'no-proc')
        target = inuse.Target(inuse.FUNCTION, '0000:c1:00.5')
        self.assertTrue(self.checker().check(target).in_use)
        lenient = self.checker(strict=False)
        self.assertFalse(lenient.check(target).in_use)
        self.assertEqual(1, len(lenient.notes))

    def test_gpu_instance_with_processes_or_vgpu(self):
        target = inuse.Target(inuse.GPU_INSTANCE, GPU, gi_id=3)
        self.assertFalse(self.checker().check(target).in_use)
        self.backend.gpus = [_gpu(processes=[4242])]
        self.assertEqual('processes 4242 on GPU instance 3',
                         self.checker().check(target).reason())
        self.backend.gpus = [_gpu(vgpus=[types.SimpleNamespace(
            gpu_instance_id=3, mdev_uuid=UUID, parent=VF)])]
        self.assertEqual('vGPU %s runs on GPU instance 3' % UUID,
                         self.checker().check(target).reason())

    def test_require_free_raises_for_the_used_target(self):
        e = self.assertRaises(
            exception.TargetInUse, self.checker().require_free,
            inuse.Target(inuse.FUNCTION, '0000:c1:00.5'),
            inuse.Target(inuse.MDEV, UUID))
        self.assertIn('vGPU %s is in use' % UUID, str(e))
        self.assertIn('instance-1 (running)', str(e))

    def test_libvirt_unreachable_is_an_error(self):
        self.libvirt.open_error = fakes.libvirt_error(
            libvirt.VIR_ERR_SYSTEM_ERROR)
        self.assertRaises(exception.LibvirtError, self.checker().check,
                          inuse.Target(inuse.MDEV, UUID))


class TestOneVerdict(CheckerTestCase):
    """The pieces the issue found missing or out of order."""

    def hold(self, pid, node):
        fd_dir = os.path.join(self.proc, str(pid), 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        os.symlink(node, os.path.join(fd_dir, '3'))

    def test_mdev_group_node_read_from_sysfs(self):
        # A target built without its IOMMU group (as layout apply built
        # it) still finds a process holding /dev/vfio/<group>.
        tree = fakes.Tree(self.root)
        tree.mdev_parent(VF, {'nvidia-1': ('GRID A100D-1-10C', 1)})
        free = '99999999-2222-4333-8444-555555555555'
        tree.mdev(VF, 'nvidia-1', free, 57)
        self.hold(88, os.path.join(self.dev, 'vfio', '57'))
        verdict = self.checker().check(inuse.Target(inuse.MDEV, free))
        self.assertEqual(('held open by pid 88',), verdict.users)
        self.assertEqual((88,), verdict.pids)

    def test_vfio_dev_node_of_an_mdev(self):
        tree = fakes.Tree(self.root)
        tree.mdev_parent(VF, {'nvidia-1': ('GRID A100D-1-10C', 1)})
        free = '99999999-2222-4333-8444-555555555555'
        tree.mdev(VF, 'nvidia-1', free, 57)
        os.makedirs(os.path.join(self.root, 'bus/mdev/devices', free,
                                 'vfio-dev', 'vfio3'))
        self.hold(89, os.path.join(self.dev, 'vfio', 'devices', 'vfio3'))
        verdict = self.checker().check(inuse.Target(inuse.MDEV, free))
        self.assertEqual(('held open by pid 89',), verdict.users)

    def test_process_table_read_before_libvirt(self):
        order = []
        real_nodes, real_domains = (inuse.open_device_nodes,
                                    inuse.domains_referencing)

        def nodes(*args):
            order.append('proc')
            return real_nodes(*args)

        def domains(*args):
            order.append('libvirt')
            return real_domains(*args)

        with mock.patch.object(inuse, 'open_device_nodes', nodes), \
                mock.patch.object(inuse, 'domains_referencing', domains):
            self.checker().check(inuse.Target(inuse.FUNCTION, VF))
        self.assertEqual(['proc', 'libvirt'], order)

    def test_missing_view_is_one_line_naming_the_flag(self):
        self.proc = os.path.join(self.tmpdir, 'no-proc')
        verdict = self.checker().check(inuse.Target(
            inuse.FUNCTION, '0000:c1:00.5'))
        self.assertTrue(verdict.in_use)
        self.assertIsNone(verdict.pids)
        self.assertNotIn('\n', verdict.reason())
        self.assertIn('nothing can be proved free (--skip-handle-check '
                      'overrides)', verdict.reason())

    def test_prove_then_require_free_says_since_when(self):
        times = iter([100.0, 160.5])
        checker = inuse.Checker(self.backend, self.proc, self.dev,
                                clock=lambda: next(times))
        target = inuse.Target(inuse.FUNCTION, '0000:c1:00.5',
                              role='removed by the VF-count change')
        self.assertEqual([], checker.prove([target]))
        self.conn.domains.append(fakes.FakeDomain(
            'instance-3', fakes.domain_xml(
                'instance-3', fakes.PCI.replace("function='0x4'",
                                                "function='0x5'")),
            state=libvirt.VIR_DOMAIN_SHUTOFF))
        e = self.assertRaises(exception.TargetInUse, checker.require_free,
                              target)
        self.assertIn('PCI function 0000:c1:00.5 (removed by the VF-count '
                      'change) is in use: domain instance-3 (shutoff', str(e))
        self.assertIn('(seen at %s, free when the plan was proved at %s)'
                      % (inuse.stamp(160.5), inuse.stamp(100.0)), str(e))

    def test_prove_names_the_holder_and_when(self):
        checker = inuse.Checker(self.backend, self.proc, self.dev,
                                clock=lambda: 42.0)
        [line] = checker.prove([inuse.Target(inuse.MDEV, UUID)])
        self.assertEqual('vGPU %s: domain instance-1 (running) (seen at %s, '
                         'when the plan was proved)'
                         % (UUID, inuse.stamp(42.0)), line)

    def test_gpu_instance_free_once_its_vgpus_go(self):
        self.backend.gpus = [_gpu(vgpus=[types.SimpleNamespace(
            gpu_instance_id=3, mdev_uuid=UUID, parent=VF)])]
        target = inuse.Target(inuse.GPU_INSTANCE, GPU, gi_id=3)
        self.assertTrue(self.checker().check(target).in_use)
        self.assertFalse(self.checker().check(target, {UUID}).in_use)

    def test_many_targets_one_read_of_each_source(self):
        reads = []
        real = inuse.open_device_nodes

        def nodes(*args):
            reads.append('proc')
            return real(*args)

        targets = [inuse.Target(inuse.FUNCTION, '0000:c1:00.%d' % n)
                   for n in range(4, 8)] + [inuse.Target(inuse.MDEV, UUID)]
        with mock.patch.object(inuse, 'open_device_nodes', nodes), \
                mock.patch.object(inuse, 'domains_referencing') as one:
            verdicts = self.checker().check_all(targets)
        self.assertEqual(['proc'], reads)
        one.assert_not_called()     # every domain listed once instead
        self.assertEqual(1, len({v.seen for v in verdicts}))
        self.assertEqual(['domain instance-2 (shutoff)', '', '', '',
                          'domain instance-1 (running)'],
                         [v.reason() for v in verdicts])

    def test_look_after_names_domains(self):
        self.assertEqual(('instance-1 (running)',),
                         self.checker().referencing_now(
                             inuse.Target(inuse.MDEV, UUID)))


class TestThroughPrivsep(CheckerTestCase):
    """Not root, the real /proc is read by the proc context's daemon."""

    def setUp(self):
        super().setUp()
        self.privsep = self.useFixture(privsep_fixtures.WirePrivsepFixture(
            privsep.proc_pctxt))
        # The daemon's process table becomes the test's.
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.proc.PROC_ROOT', self.proc))
        self.useFixture(fixtures.MonkeyPatch(
            'nova_mig.privsep.proc.ptrace_capable', lambda: True))
        fd_dir = os.path.join(self.proc, '77', 'fd')
        os.makedirs(fd_dir)
        os.symlink('/dev/vfio/42', os.path.join(fd_dir, '9'))
        self.target = inuse.Target(inuse.FUNCTION, VF, iommu_group=42)

    def real_proc_checker(self, euid):
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=euid))
        return inuse.Checker(self.backend, '/proc', '/dev')

    def test_user_without_root_asks_the_daemon(self):
        verdict = self.real_proc_checker(1000).check(self.target)
        self.assertEqual((77,), verdict.pids)
        self.assertIn('held open by pid 77', verdict.users)
        self.assertEqual(['nova_mig.privsep.proc.vfio_holders'],
                         self.privsep.channel.calls)

    def test_root_and_other_trees_read_in_process(self):
        self.real_proc_checker(0).check(self.target)
        self.useFixture(fixtures.MockPatch('os.geteuid', return_value=1000))
        self.checker().check(self.target)
        self.assertEqual([], self.privsep.channel.calls)

    def test_daemon_not_allowed_is_one_line_naming_the_fix(self):
        error = exception.PrivsepStartFailed(
            command='sudo -n /opt/nova-mig/bin/privsep-helper',
            reason='sudo: a password is required',
            fix='allow that with "nova-mig install-sudoers --user nova"')
        self.useFixture(fixtures.MockPatch(
            'nova_mig.privsep.proc.vfio_holders', side_effect=error))
        verdict = self.real_proc_checker(1000).check(self.target)
        self.assertTrue(verdict.in_use)
        self.assertIsNone(verdict.pids)
        self.assertNotIn('\n', verdict.reason())
        self.assertIn("open handles unknown: cannot read the descriptors "
                      "of other users' processes in /proc: Cannot start "
                      "nova-mig's privileged helper", verdict.reason())
        self.assertIn('install-sudoers --user nova', verdict.reason())
        self.assertIn(inuse.SKIP_FLAG, verdict.reason())

    def test_daemon_refusal_is_unknown(self):
        # One process the daemon could not read (forked, tests/unit/
        # privsep/test_proc.py): its refusal is the verdict's reason.
        self.useFixture(fixtures.MockPatch(
            'nova_mig.privsep.proc.scan', return_value=({}, 1)))
        verdict = self.real_proc_checker(1000).check(self.target)
        self.assertIsNone(verdict.pids)
        self.assertIn('the privileged helper cannot read the descriptors '
                      'of 1 processes in %s' % self.proc, verdict.reason())


class TestHiddenProcesses(base.TestCase):

    def mountinfo(self, options):
        path = os.path.join(self.tmpdir, 'mountinfo')
        with open(path, 'w') as f:
            f.write('22 27 0:21 / /sys rw,relatime - sysfs sysfs rw\n'
                    '23 27 0:22 / /proc %s - proc proc rw\n' % options)
        return path

    def test_hidepid_hides_from_a_user_without_root(self):
        for options in ('rw,hidepid=invisible', 'rw,hidepid=2',
                        'rw,subset=pid'):
            why = inuse.hidden_processes('/proc', euid=1000,
                                         mountinfo=self.mountinfo(options))
            self.assertIn('/proc is mounted with %s'
                          % options.split(',')[1], why)
            self.assertIn('(run as root)', why)

    def test_root_and_plain_proc_see_everything(self):
        hidden = self.mountinfo('rw,hidepid=2')
        self.assertEqual('', inuse.hidden_processes('/proc', euid=0,
                                                    mountinfo=hidden))
        self.assertEqual('', inuse.hidden_processes(
            '/proc', euid=1000, mountinfo=self.mountinfo('rw,hidepid=0')))
        self.assertEqual('', inuse.hidden_processes(
            '/proc', euid=1000, mountinfo=self.mountinfo('rw,relatime')))
        # A test's fake tree is no procfs mount.
        self.assertEqual('', inuse.hidden_processes(
            self.tmpdir, euid=1000, mountinfo=hidden))
