# SPDX-License-Identifier: Apache-2.0

"""``openstack mig profile list``: MIG slices of the cloud per profile."""

import argparse

from osc_lib.cli import format_columns

from nova_mig.flavor import slice_capacity
from nova_mig.osc import common


class ListProfile(common.Lister):
    """List MIG profiles with the total, used and free slices of the cloud.

    Read from Placement: the inventories and usages of the MIG resource
    classes (and of VGPU on providers carrying one MIG profile trait).
    Providers counts resource providers, not GPUs: Nova makes one per vGPU
    parent, that is one per SR-IOV VF on an mdev host (16 on one A100)
    and one per GPU on a vendor-specific VFIO host.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--long', action='store_true', default=False,
            help='One row per host and GPU resource provider, with its '
                 'GPU model traits')
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        scheme = common.scheme(parsed_args)
        client = common.mig_client(self.app).placement
        rows = slice_capacity.provider_slices(client, scheme,
                                              traits=parsed_args.long)
        if parsed_args.long:
            prefix = scheme.model_trait_prefix()
            return ('Host', 'Provider', 'Profile', 'Resource Class',
                    'Total', 'Reserved', 'Used', 'Free', 'GPU Model'), [
                (r.host, r.provider, r.profile, r.resource_class,
                 r.capacity, r.reserved, r.used, r.free,
                 format_columns.ListColumn(
                     [t for t in r.traits if t.startswith(prefix)]))
                for r in rows]
        columns = ('Profile', 'Resource Class', 'Hosts', 'Providers',
                   'Total', 'Used', 'Free')
        return columns, [
            (p.profile, p.resource_class, p.hosts, p.providers, p.capacity,
             p.used, p.free) for p in slice_capacity.by_profile(rows)]
