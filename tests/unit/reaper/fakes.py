"""Fakes and a simulated-host base class for the reaper tests."""

import datetime
import os
import time

from nova_mig import ownership
from nova_mig.simulator import backend as simulated
from tests import base

HOSTS = os.path.join(os.path.dirname(__file__), 'hosts')
CASES = os.path.join(HOSTS, 'reaper-cases.yaml')
HOSTNAME = 'reaper-host'

A1, A2, A3, A4, A5 = ('aaaaaaaa-0000-4000-8000-00000000000%d' % i
                      for i in range(1, 6))
B1 = 'bbbbbbbb-0000-4000-8000-000000000001'
B2 = 'bbbbbbbb-0000-4000-8000-000000000002'
C1 = 'cccccccc-0000-4000-8000-000000000001'
D1 = 'dddddddd-0000-4000-8000-000000000001'
GPU0, GPU1, GPU2, GPU3 = ('0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0',
                          '0000:d8:00.0')
#: Nova enables T4-4C only (nvidia-234 in the simulator's catalog).
NOVA_CONF = '[devices]\nenabled_mdev_types = nvidia-234\n'


def iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(
        ts, datetime.timezone.utc).isoformat()


class FakePlacement:
    """The two Placement reads the allocation check makes."""

    def __init__(self, hostname: str = HOSTNAME,
                 allocations: dict[str, dict] | None = None,
                 parents=(GPU0, GPU1, GPU2, GPU3), error=None):
        self.hostname = hostname
        self.allocations = allocations or {}
        self.parents = parents
        self.error = error
        self.requests = []

    def providers(self, name=None, in_tree=None, required=None):
        if self.error:
            raise self.error
        if name is not None:
            return ([{'uuid': 'root', 'name': name}]
                    if name == self.hostname else [])
        result = [{'uuid': 'root', 'name': self.hostname}]
        for address in self.parents:
            result.append({'uuid': 'rp-' + address, 'name': '%s_pci_%s' % (
                self.hostname,
                address.replace(':', '_').replace('.', '_'))})
        return result

    def request(self, method, path, microversion, body=None, ok=(200,)):
        self.requests.append((method, path))
        rp = path.split('/')[2]
        address = rp[len('rp-'):]
        consumers = self.allocations.get(address, {})
        return 200, {'allocations': {c: {'resources': {'VGPU': 1}}
                                     for c in consumers}}


class ReaperTestCase(base.TestCase):
    """A simulated host with the reaper's cases, Nova config and /proc."""

    host_file = CASES

    def setUp(self):
        super().setUp()
        self.flags(backend='simulated', group='gpu')
        self.flags(host_file=self.host_file, group='simulator')
        self.nova_conf = os.path.join(self.tmpdir, 'nova.conf')
        with open(self.nova_conf, 'w') as f:
            f.write(NOVA_CONF)
        self.proc = os.path.join(self.tmpdir, 'proc')
        self.dev = os.path.join(self.tmpdir, 'dev')
        os.makedirs(self.proc)
        self.flags(nova_config_files=[self.nova_conf],
                   proc_root=self.proc, dev_root=self.dev,
                   mdevctl_root=os.path.join(self.tmpdir, 'mdevctl.d'),
                   group='reaper')
        self.flags(config_snippet=os.path.join(self.tmpdir, 'none.conf'),
                   group='nova')
        self.backend = simulated.SimulatedBackend(self.conf)
        self.now = time.time()
        # Every device is an hour old unless recorded otherwise.
        self.clock = lambda: self.now + 3600

    def own(self, *keys, age: float = 7200) -> None:
        record = ownership.OwnershipRecord(self.conf.host.state_dir)
        for key in keys:
            record.add(key, created_at=iso(self.clock() - age))

    def own_all(self) -> None:
        self.own(A1, A2, A3, A4, A5, B1, D1)
        self.own(B2, age=10)

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
