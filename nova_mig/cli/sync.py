# SPDX-License-Identifier: Apache-2.0

"""``nova-mig sync``: register the host's classes and GPU traits."""

import argparse

from nova_mig.cli import common
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import connect
from nova_mig.placement import sync

COLUMNS = ('placement', 'hostname', 'root_uuid', 'dry_run', 'classes_created',
           'traits_created', 'providers', 'missing', 'requests', 'writes',
           'conflicts')


class Sync(common.ReportShowOne):
    """Put this host's vGPU resource classes and GPU traits into Placement.

    Creates the custom resource classes of the vGPU types this host offers
    (CUSTOM_MIG_1G_10GB, CUSTOM_VGPU_A100D_20C, ... named by [naming]) and
    the traits describing its GPUs: MIG profile, GPU model, CUDA compute
    capability (the standard HW_GPU_CUDA_COMPUTE_CAPABILITY_* trait when
    os-traits has one) and device mode. Then it adds those traits to each
    GPU resource provider nova-compute created for this host
    ("<hypervisor hostname>_pci_<address>", the compute node name taken
    from [nova]hypervisor_hostname).

    Traits set by anyone else are always kept. Only traits nova-mig added
    earlier and that no longer apply are removed; what it added is
    recorded in [host]state_dir. A write that loses a race with another
    writer is retried ([placement_sync]max_attempts). A sync with nothing
    to change makes no write.

    Placement is reached with the [placement] options of nova.conf (pass
    --config-file /etc/nova/nova.conf, or copy that section), and its
    endpoint is the first line of the report. With [placement_sync]embedded
    = true (the demo), an embedded Placement under [host]state_dir is used
    instead, seeded with the providers nova-compute would create.

    Exits 1 when Placement is not configured, unreachable, refuses the
    credentials or fails, or when the compute node provider does not
    exist.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Read Placement and report what would be created and '
                 'changed, without writing anything.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        config = type_plan.build(self.conf, discovery.discover(self.backend()))
        with connect.placement(self.conf, config) as client:
            result = sync.sync(self.conf, config, client,
                               dry_run=parsed_args.dry_run).as_dict()
            result['placement'] = client.endpoint
        return COLUMNS, tuple(result[c] for c in COLUMNS)

    def render_report(self, row: common.Row) -> str:
        return render(row)


def render(result: common.Row) -> str:
    """The human-readable report of a sync."""
    verb = 'would create' if result['dry_run'] else 'created'
    lines = ['Placement %s' % result['placement'],
             'Host %s (compute node provider %s)'
             % (result['hostname'], result['root_uuid'])]
    for label, names in (('resource classes', result['classes_created']),
                         ('traits', result['traits_created'])):
        lines.append('  %s %s: %s' % (verb, label,
                                      ', '.join(names) or 'none'))
    for rp in result['providers']:
        lines.append('  %s [%s] %s' % (rp['name'], rp['resource_class'],
                                       rp['status']))
        for label, names in (('added', rp['added']),
                             ('removed', rp['removed']),
                             ('kept', rp['kept'])):
            if names:
                lines.append('      %-8s %s' % (label, ', '.join(names)))
    lines.append('  %d requests, %d writes, %d conflicts retried'
                 % (result['requests'], result['writes'],
                    result['conflicts']))
    return '\n'.join(lines) + '\n'
