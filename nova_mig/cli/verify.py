# SPDX-License-Identifier: Apache-2.0

"""``nova-mig verify``: compare Placement's GPU inventories with the host."""

import argparse

from nova_mig.cli import common
from nova_mig import exitcodes
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import connect
from nova_mig.placement import verify

COLUMNS = ('placement', 'hostname', 'ok', 'checked', 'drift', 'requests')


class Verify(common.ReportShowOne):
    """Check that Placement offers exactly the vGPUs this host offers.

    For every GPU resource provider of this host
    ("<hypervisor hostname>_pci_<address>") compares the inventory in
    Placement (resource class and total) with what the host offers: the
    vGPU type each parent device carries or is configured for, its
    resource class and capacity. It reports drift: a missing provider, a
    missing class, a wrong total, a provider the host no longer offers
    vGPUs on, and the known symptom after a vGPU type change: the
    provider still shows the old type's class and capacity (nova-compute
    keeps them while old vGPU devices exist), so instances asking for the
    new class fail with NoValidHost. It changes nothing.

    Exits 0 when Placement matches the host, 1 with the list of drift
    otherwise, or when Placement cannot be read.
    """

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        config = type_plan.build(self.conf, discovery.discover(self.backend()))
        with connect.placement(self.conf, config) as client:
            result = verify.verify(self.conf, config, client)
            endpoint = client.endpoint
        self.exit_status = exitcodes.status(failed=not result.ok)
        data = result.as_dict()
        data['placement'] = endpoint
        return COLUMNS, tuple(data[c] for c in COLUMNS)

    def render_report(self, row: common.Row) -> str:
        return render(row)


def render(result: common.Row) -> str:
    lines = ['Placement %s' % result['placement'],
             'Host %s: %s' % (result['hostname'],
                              'Placement matches the host' if result['ok']
                              else '%d drift(s)' % len(result['drift']))]
    for rp in result['checked']:
        lines.append('  %-40s %s' % (rp['provider'],
                                     'ok' if rp['ok'] else 'DRIFT'))
    for d in result['drift']:
        lines.append('  %s: %s: expected %s, Placement has %s'
                     % (d['provider'], d['kind'], d['expected'],
                        d['actual']))
        lines.append('      %s' % d['hint'])
    return '\n'.join(lines) + '\n'
