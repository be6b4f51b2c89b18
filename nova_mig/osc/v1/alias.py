# SPDX-License-Identifier: Apache-2.0

"""``openstack mig alias list``: the cloud's PCI aliases, from Placement."""

import argparse

from osc_lib.cli import format_columns

from nova_mig.osc import common
from nova_mig.placement import aliases


class ListAlias(common.Lister):
    """List the [pci] aliases nova-api and nova-scheduler need.

    Vendor-specific VFIO hosts offer their vGPUs as PCI devices; a flavor
    asks for one with "pci_passthrough:alias=<name>:1", and nova-api and
    nova-scheduler must know every alias of the cloud. Each alias matches
    on a resource class alone, so VFs of several GPU models serving one MIG
    profile share it (with [filter_scheduler]pci_in_placement, which these
    aliases need, Nova refuses an alias name defined twice). The aliases
    come from the PCI resource providers in Placement: run after
    "nova-mig nova-config" on the hosts and a nova-compute restart.

    "-f value -c Alias" prints the lines to put in the [pci] section of
    nova-api's and nova-scheduler's nova.conf.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--live-migratable', action='store_true', default=None,
            help='Aliases asking for live-migratable devices only '
                 '("live_migratable": "yes"; Nova 2025.1 or later, hosts '
                 'with [nova]live_migratable)')
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        client = common.mig_client(self.app).placement
        found = aliases.cloud_aliases(client, common.scheme(parsed_args))
        columns = ('Name', 'Resource Class', 'Hosts', 'Providers',
                   'Live Migratable Providers', 'Alias')
        return columns, [
            (a.name, a.resource_class,
             format_columns.ListColumn(sorted(a.hosts)), a.providers,
             a.live_migratable, a.line(parsed_args.live_migratable))
            for a in found]
