# SPDX-License-Identifier: Apache-2.0

"""A simulated host with the reaper's cases, for the reaper's tests."""

import os
import time

from nova_mig import ownership
from nova_mig.simulator import backend
from tests import base
from tests.unit.reaper import fakes

HOSTS = os.path.join(os.path.dirname(__file__), 'hosts')
CASES = os.path.join(HOSTS, 'reaper-cases.yaml')
#: A vendor-VFIO host shipped in etc/nova-mig/hosts.
VENDOR_VFIO = os.path.join(os.path.dirname(__file__), '..', '..', '..',
                           'etc', 'nova-mig', 'hosts',
                           'h200-vendor-vfio.yaml')


class ReaperTestCase(base.TestCase):
    """A simulated host with the reaper's cases, Nova config and /proc."""

    host_file = CASES

    def setUp(self):
        super().setUp()
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=self.host_file, group='simulator')
        self.nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(self.nova_conf, 'w') as f:
            f.write(fakes.NOVA_CONF)
        self.proc = os.path.join(self.tmpdir, 'proc')
        self.dev = os.path.join(self.tmpdir, 'dev')
        os.makedirs(self.proc)
        self.flags(nova_config_files=[self.nova_conf],
                   proc_root=self.proc, dev_root=self.dev,
                   mdevctl_root=os.path.join(self.tmpdir, 'mdevctl.d'),
                   group='reaper')
        self.flags(config_snippet=os.path.join(self.tmpdir, 'none.conf'),
                   group='nova')
        self.backend = backend.SimulatedBackend(self.conf)
        self.now = time.time()
        # Every device is an hour old unless recorded otherwise.
        self.clock = lambda: self.now + 3600

    def own(self, *keys, age: float = 7200) -> None:
        record = ownership.OwnershipRecord(self.conf.host.state_dir)
        for key in keys:
            record.add(key, created_at=fakes.iso(self.clock() - age))

    def own_all(self) -> None:
        self.own(fakes.A1, fakes.A2, fakes.A3, fakes.A4, fakes.A5,
                 fakes.B1, fakes.D1)
        self.own(fakes.B2, age=10)

    def hold_open(self, pid: int, node: str, fd: int = 7) -> None:
        """A fake process ``pid`` holding ``node`` open."""
        fd_dir = os.path.join(self.proc, str(pid), 'fd')
        os.makedirs(fd_dir, exist_ok=True)
        os.symlink(node, os.path.join(fd_dir, str(fd)))

    def group_of(self, uuid: str) -> int:
        link = os.path.join(self.backend.sysfs_root(), 'bus', 'mdev',
                            'devices', uuid, 'iommu_group')
        return int(os.path.basename(os.readlink(link)))

    def mdev_exists(self, uuid: str) -> bool:
        return os.path.exists(os.path.join(
            self.backend.sysfs_root(), 'bus', 'mdev', 'devices', uuid))
