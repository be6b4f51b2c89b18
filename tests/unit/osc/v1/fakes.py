# SPDX-License-Identifier: Apache-2.0

"""The compute proxy of the rebalance commands' tests."""

import types

from tests.unit.flavor import fakes

RC3G = 'CUSTOM_MIG_3G_40GB'
RC1G = 'CUSTOM_MIG_1G_10GB'
MODEL = 'CUSTOM_GPU_NVIDIA_A100_80GB_PCIE'
NO_VALID_HOST = {'message': 'No valid host was found. ', 'code': 500}


class Compute(fakes.FakeCompute):
    """The fake compute proxy with failed boots and aggregates."""

    def __init__(self):
        super().__init__()
        self.failed: list = []
        self.aggs: list = []
        self.down = False

    def servers(self, details=True, **query):
        self._check(('servers', query.get('status')))
        if self.down:
            raise ConnectionError('Unable to establish connection to '
                                  'http://127.0.0.1:8774/v2.1')
        return iter(self.failed)

    def aggregates(self):
        return iter(self.aggs)

    def fail_boot(self, rc, count=1):
        for _ in range(count):
            self.failed.append(types.SimpleNamespace(
                id='s%d' % len(self.failed), fault=NO_VALID_HOST,
                flavor=types.SimpleNamespace(
                    extra_specs={'resources:%s' % rc: '1'})))


def provider(placement, host, rc, total, used, name='_pci_0000_41_00_4'):
    """A GPU provider of ``host`` (created on first use)."""
    root = next((u for u, r in placement.rps.items()
                 if r['name'] == host), None) or placement.add(host)
    return placement.add(host + name, parent=root,
                         inventory={rc: {'total': total}},
                         usages={rc: used}, traits={MODEL})
