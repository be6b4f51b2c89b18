# SPDX-License-Identifier: Apache-2.0

"""Fakes of the reaper tests: the reaper host's names, Placement."""

import datetime

from nova_mig.model import constants
from nova_mig.reaper import decide

#: Names in the simulated host tests/functional/reaper/hosts/reaper-cases.yaml
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


def mdev(uuid, parent, node=None) -> decide.DeviceFacts:
    """The facts of an mdev of type nvidia-235 (T4-8C)."""
    return decide.DeviceFacts(key=uuid, kind=constants.MODE_MDEV,
                              parent=parent, type_id='nvidia-235',
                              libvirt_node_device=node)


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
