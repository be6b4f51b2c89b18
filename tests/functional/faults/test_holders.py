# SPDX-License-Identifier: Apache-2.0

"""Every destructive command against every kind of holder.

One in-use verdict for every destructive path: ``layout apply``, ``layout
restore``, ``retype``, ``rebalance apply --yes`` and ``reap --apply`` run
on the a100-mixed host, in a cloud with an embedded Placement, each asked
to destroy GPU 0000:81:00.0's geometry (its 4g.40gb and the unused vGPU on
it, and, but for the reaper, 4 of its 20 VFs: a VF-count change).  Before
each run one holder claims one of those targets:

- a libvirt domain referencing the vGPU, running or shut off;
- a process holding the vGPU's IOMMU group node ``/dev/vfio/<group>``;
- a process holding its VFIO device file (``vfio-dev/`` in sysfs);
- a process on the GPU instance (NVML);
- a shut-off domain referencing a VF without a vGPU, which only the
  VF-count change removes.

Each time the GPU must be left exactly as it was (all or nothing), and
one line of the output must name the holder.  The reaper never destroys a
GPU instance or a VF: those two holders do not apply to it.
"""

import itertools
import os
import shutil

from oslo_config import cfg

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.layout import checkpoint
from nova_mig.layout import schema
from nova_mig import ownership
from nova_mig.reaper import reap_journal
from nova_mig.simulator import nova_compute
from nova_mig.workflows import retype
from tests.functional import base

HOST = 'compute-a100-1'
GPU81 = '0000:81:00.0'
#: The unused (foreign) vGPU on GPU 81's 4g.40gb, on VF 0000:81:00.4.
VGPU = '5b2f9c1e-8a43-4c6e-9d1f-2a7b3c4d5e03'
#: A VF of GPU 81 without a vGPU: only the VF-count change removes it.
FREE_VF = '0000:81:00.5'
PID = 4343
LAYOUT = '''version: 1
gpus:
  - select: {pci_address: "%s"}
    mig: enabled
    sriov_vfs: 16
    gpu_instances:
      - {profile: 7g.80gb, placement: 0}
''' % GPU81

_SERIAL = itertools.count(1)

#: Holder kinds, in the order of the matrix.
DOMAIN_RUNNING = 'domain (running)'
DOMAIN_SHUTOFF = 'domain (shut off)'
GROUP_NODE = 'open /dev/vfio/<group>'
VFIO_DEV = 'open vfio-dev node'
GI_PROCESS = 'process on the GPU instance'
VF_DOMAIN = 'shut-off domain on a VF (VF-count change)'
HOLDERS = (DOMAIN_RUNNING, DOMAIN_SHUTOFF, GROUP_NODE, VFIO_DEV,
           GI_PROCESS, VF_DOMAIN)


class HolderMatrixTestCase(base.CliTestCase):
    """The a100-mixed host in a cloud; holders installed on demand."""

    def setUp(self):
        super().setUp()
        self.proc = os.path.join(self.tmpdir, 'proc')
        self.dev = os.path.join(self.tmpdir, 'dev')
        nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-1\n')
        self.conf_path = self.write_cloud_conf(
            base.host_file('a100-mixed.yaml'), HOST, extra=(
                '[reaper]\ngrace_period = 0\nproc_root = %s\n'
                'dev_root = %s\nnova_config_files = %s\n'
                % (self.proc, self.dev, nova_conf)))
        self.state_dir = os.path.join(self.tmpdir, 'state')
        self.layout = os.path.join(self.tmpdir, 'layout.yaml')
        with open(self.layout, 'w') as f:
            f.write(LAYOUT)
        rc, out, err = self.nova_mig('nova-config', conf_file=self.conf_path)
        self.assertEqual(0, rc, out + err)
        nova_compute.restart(self.load())

    def load(self) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', self.conf_path], project='nova-mig')
        return conf

    def backend(self):
        return gpu.load_backend(self.load())

    # -- the host -------------------------------------------------------------
    def fresh_host(self) -> None:
        """The host file's host again: no state, no holder."""
        for path in (os.path.join(self.state_dir, 'simulator'), self.proc):
            shutil.rmtree(path, ignore_errors=True)
        for path in (ownership.OwnershipRecord(self.state_dir).path,
                     checkpoint.path(self.state_dir),
                     os.path.join(self.state_dir, retype.STATE_FILE),
                     reap_journal.Journal(self.state_dir).path):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        os.makedirs(self.proc)

    def gpu81(self) -> dict:
        """GPU 81 as it stands: geometry, VFs and vGPU devices."""
        report = discovery.discover(self.backend())
        gpu_ = report.gpu_by_address(GPU81)
        return {'instances': sorted((g.profile_name, g.placement.start)
                                    for g in gpu_.gpu_instances),
                'vfs': report.sriov[GPU81].num_vfs,
                'devices': sorted(d['uuid'] or d['parent']
                                  for d in report.vgpu_devices()
                                  if d['gpu'] == GPU81)}

    def mdev_dir(self) -> str:
        return os.path.join(self.backend().sysfs_root(), 'bus', 'mdev',
                            'devices', VGPU)

    def hold_open(self, node: str) -> None:
        fd_dir = os.path.join(self.proc, str(PID), 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        os.symlink(node, os.path.join(fd_dir, '9'))

    def claim(self, holder: str) -> str:
        """Install ``holder``; return the text naming it in the output."""
        backend = self.backend()
        if holder == GROUP_NODE:
            group = os.path.basename(os.readlink(os.path.join(
                self.mdev_dir(), 'iommu_group')))
            self.hold_open(os.path.join(self.dev, 'vfio', group))
            return 'held open by pid %d' % PID
        if holder == VFIO_DEV:
            [node] = os.listdir(os.path.join(self.mdev_dir(), 'vfio-dev'))
            self.hold_open(os.path.join(self.dev, 'vfio', 'devices', node))
            return 'held open by pid %d' % PID
        with backend.host.transaction() as host:
            if holder == GI_PROCESS:
                gpu_ = next(g for g in host.gpus
                            if g['pci_address'] == GPU81)
                gi = next(g for g in gpu_['gpu_instances']
                          if g['start'] == 0)
                gi['processes'].append(PID)
                return 'processes %d on GPU instance %d' % (PID, gi['id'])
            name = 'instance-holder-%d' % next(_SERIAL)
            host.domains.append({
                'name': name,
                'uuid': '0e0e0e0e-0000-4000-8000-%012d' % next(_SERIAL),
                'state': 'running' if holder == DOMAIN_RUNNING else 'shutoff',
                'nova': True, 'display_name': 'holder',
                'mdevs': [] if holder == VF_DOMAIN else [VGPU],
                'pci_hostdevs': [FREE_VF] if holder == VF_DOMAIN else []})
            return name

    # -- the driver -----------------------------------------------------------
    def matrix(self, command, prepare=lambda: None,
               holders=HOLDERS) -> None:
        """Each holder in turn: the GPU survives, the holder is named."""
        for holder in holders:
            self.fresh_host()
            prepare()
            before = self.gpu81()
            named = self.claim(holder)
            rc, out, err = command()
            where = '%s: %s' % (holder, out + err)
            self.assertEqual(before, self.gpu81(), where)
            self.assertNotIn('Traceback', out + err, where)
            lines = [line for line in (out + err).splitlines()
                     if named in line]
            # One line names both the holder and what it holds.
            target = {VF_DOMAIN: FREE_VF, GI_PROCESS: 'GPU instance'}.get(
                holder, VGPU)
            self.assertTrue([line for line in lines if target in line],
                            where)

    def cli(self, *args):
        return self.nova_mig(*args, conf_file=self.conf_path)

    def owned(self) -> None:
        """nova-mig made the vGPU: only its holder may keep it."""
        ownership.OwnershipRecord(self.state_dir).add(VGPU)


class TestHolderMatrix(HolderMatrixTestCase):

    def test_layout_apply(self):
        def layout_apply():
            return self.cli('layout', 'apply', self.layout,
                            '--include-foreign',
                            '--force-with-enabled-service')
        self.matrix(layout_apply)

    def test_layout_restore(self):
        def prepare():
            self.owned()
            checkpoint.save(self.state_dir, schema.load(self.layout), HOST)

        def layout_restore():
            return self.cli('layout', 'restore')
        self.matrix(layout_restore, prepare)

    def test_retype(self):
        def retype():
            return self.cli('retype', self.layout, '--skip-service-steps',
                            '--skip-placement-check', '--include-foreign')
        self.matrix(retype)

    def test_rebalance_apply(self):
        def rebalance():
            return self.cli('rebalance', 'apply', self.layout, '--yes',
                            '--include-foreign')
        self.matrix(rebalance)

    def test_reap(self):
        def reap():
            return self.cli('reap', '--apply', '--all-unassigned',
                            '--include-foreign', '--skip-placement-check',
                            '--force-with-enabled-service')
        self.matrix(reap, holders=(DOMAIN_RUNNING, DOMAIN_SHUTOFF,
                                   GROUP_NODE, VFIO_DEV))

    def test_free_gpu_changes(self):
        # The control: without a holder every command changes GPU 81.
        self.fresh_host()
        rc, out, err = self.cli('layout', 'apply', self.layout,
                                '--include-foreign',
                                '--force-with-enabled-service')
        self.assertEqual(0, rc, out + err)
        after = self.gpu81()
        self.assertEqual(([('7g.80gb', 0)], 16),
                         (after['instances'], after['vfs']))
        self.assertNotIn(VGPU, after['devices'])
