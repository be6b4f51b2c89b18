# SPDX-License-Identifier: Apache-2.0

"""``openstack mig trait list|sync``: the GPU traits in Placement."""

import argparse


from nova_mig import exception
from nova_mig.flavor import gpu_traits
from nova_mig.flavor import slice_capacity
from nova_mig.model import constants
from nova_mig.osc import common


class ListTrait(common.Lister):
    """List the MIG profile and GPU traits Placement knows."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--long', action='store_true', default=False,
            help='Also count the resource providers carrying each trait')
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        client = common.mig_client(self.app).placement
        rows = gpu_traits.list_traits(client, common.scheme(parsed_args),
                                      count=parsed_args.long)
        columns: tuple[str, ...] = ('Name', 'Kind', 'Profile')
        if parsed_args.long:
            columns += ('Providers',)
            return columns, [(r.name, r.kind, r.profile, r.providers)
                             for r in rows]
        return columns, [(r.name, r.kind, r.profile) for r in rows]


class SyncTrait(common.Lister):
    """Create the profile trait of every MIG profile the cloud offers.

    The profiles offered are those with an inventory in Placement; add
    others (hardware still to come) with --profile.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--profile', metavar='<profile>', action='append', default=[],
            help='Also create the trait of this MIG profile (repeat for '
                 'more)')
        parser.add_argument(
            '--dry-run', action='store_true', default=False,
            help='Show what would be created; create nothing')
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Result:
        for profile in parsed_args.profile:
            if not constants.is_profile(profile):
                raise exception.NotMigProfile(profile=profile)
        scheme = common.scheme(parsed_args)
        client = common.mig_client(self.app).placement
        profiles = set(slice_capacity.offered_profiles(client, scheme))
        profiles.update(parsed_args.profile)
        rows = gpu_traits.sync_traits(client, scheme, sorted(profiles),
                                      dry_run=parsed_args.dry_run)
        return ('Name', 'Profile', 'Status'), [
            (r.name, r.profile, r.status) for r in rows]
