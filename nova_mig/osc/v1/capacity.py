# SPDX-License-Identifier: Apache-2.0

"""``openstack mig capacity list|show``: MIG slices and unmet demand."""

import argparse
import typing

from osc_lib.cli import format_columns
from osc_lib import exceptions as osc_exc

from nova_mig.osc import common
from nova_mig.osc import window
from nova_mig.rebalance import survey


def _lines(cloud: survey.Cloud, parsed_args: argparse.Namespace
           ) -> list[survey.ProfileLine]:
    return survey.profile_lines(
        cloud, common.scheme(parsed_args),
        window.window_seconds(parsed_args), unmet=parsed_args.unmet)


class ListCapacity(common.Lister):
    """List MIG capacity per profile: total, used, free and unmet demand.

    Total, used and free come from Placement (the inventories and usages
    of the GPU providers); unmet is the number of boots that failed with
    NoValidHost over --window, per requested profile, read from the
    Compute API (servers in ERROR with their embedded flavor; admin).
    --long lists one row per host, GPU model and profile instead.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--long', action='store_true', default=False,
            help='List one row per host, GPU model and profile (without '
                 'unmet demand)')
        window.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Rows:
        window.window_seconds(parsed_args)
        if parsed_args.long:
            lines = survey.host_lines(common.mig_client(self.app),
                                      common.scheme(parsed_args))
            return (('Host', 'GPU Model', 'Profile', 'Providers', 'Total',
                     'Used', 'Free'),
                    [(h.host, h.model, h.profile, h.providers, h.total,
                      h.used, h.free) for h in lines])
        columns: tuple[str, ...] = ('Profile', 'Resource Class',
                                    'GPU Models', 'Hosts', 'Providers',
                                    'Total', 'Used', 'Free')
        if parsed_args.unmet:
            columns += ('Unmet',)
        return columns, [
            (p.profile, p.resource_class,
             format_columns.ListColumn(p.models), p.hosts, p.providers,
             p.total, p.used, p.free) +
            ((p.unmet,) if parsed_args.unmet else ())
            for p in _lines(common.mig_client(self.app), parsed_args)]


class ShowCapacity(common.ShowOne):
    """Show the MIG capacity of one profile: total, used, free, unmet.

    The row of "openstack mig capacity list" for <profile>; a profile no
    provider offers and no failed boot asked for is an error.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('profile', metavar='<profile>',
                            help='MIG profile to show, such as 1g.10gb')
        window.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> common.Row:
        lines = _lines(common.mig_client(self.app), parsed_args)
        found = [p for p in lines if p.profile == parsed_args.profile]
        if not found:
            raise osc_exc.CommandError(
                'No capacity of MIG profile %s: no GPU provider offers it%s.'
                ' Profiles: %s' % (
                    parsed_args.profile,
                    ' and no boot asked for it' if parsed_args.unmet else '',
                    ', '.join(p.profile for p in lines) or 'none'))
        p = found[0]
        columns: tuple[str, ...] = ('profile', 'resource_class',
                                    'gpu_models', 'hosts', 'providers',
                                    'total', 'used', 'free')
        values: tuple[typing.Any, ...] = (
            p.profile, p.resource_class, format_columns.ListColumn(p.models),
            p.hosts, p.providers, p.total, p.used, p.free)
        if parsed_args.unmet:
            columns += ('unmet',)
            values += (p.unmet,)
        return columns, values


class Capacity(ListCapacity):
    """Deprecated: use "openstack mig capacity list"."""

    deprecated = True

    def take_action(self, parsed_args: argparse.Namespace) -> common.Rows:
        self.app.stderr.write('"openstack mig capacity" is deprecated: use '
                              '"openstack mig capacity list"\n')
        return super().take_action(parsed_args)
