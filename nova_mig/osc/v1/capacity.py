# SPDX-License-Identifier: Apache-2.0

"""``openstack mig capacity list|show``: MIG slices and unmet demand."""

import argparse
import datetime
import typing

from osc_lib.cli import format_columns
from osc_lib.command import command
from osc_lib import exceptions as osc_exc

from nova_mig.osc import common
from nova_mig.rebalance import capacity
from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand

DEFAULT_WINDOW = defaults.WINDOW
#: Placement providers read at the same time.
READ_WORKERS = 8


def add_window_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--window', metavar='<duration>', default=DEFAULT_WINDOW,
        help='Count the boots that failed with NoValidHost over this '
             'past duration: 30m, 24h, 7d (default: %(default)s)')
    parser.add_argument(
        '--no-unmet', dest='unmet', action='store_false', default=True,
        help='Do not read the Compute API for failed boots')


def window_seconds(parsed_args: argparse.Namespace) -> int:
    try:
        return demand.parse_window(parsed_args.window)
    except ValueError as e:
        raise osc_exc.CommandError('--window: %s' % e)


def unmet_boots(app: typing.Any, parsed_args: argparse.Namespace,
                seconds: int, grown: dict[str, float] | None = None
                ) -> demand.UnmetBoots:
    """NoValidHost boots in the window (none with --no-unmet).

    :param grown: profile -> when its capacity last grew: older boots
        are not counted again (see :func:`demand.unmet_boots`).
    """
    if not parsed_args.unmet:
        return demand.UnmetBoots({})
    since = (datetime.datetime.now(datetime.timezone.utc) -
             datetime.timedelta(seconds=seconds))
    return demand.unmet_boots(common.mig_client(app).compute,
                              common.scheme(parsed_args), since, grown)


def unmet(app: typing.Any, parsed_args: argparse.Namespace,
          seconds: int) -> dict[str, int]:
    """Profile -> NoValidHost boots in the window (none with --no-unmet)."""
    return unmet_boots(app, parsed_args, seconds).by_profile


def _lines(app: typing.Any, parsed_args: argparse.Namespace
           ) -> list[capacity.ProfileLine]:
    seconds = window_seconds(parsed_args)
    scheme = common.scheme(parsed_args)
    rows = capacity.read_slices(
        common.mig_client(app).placement, scheme,
        workers=READ_WORKERS)
    return capacity.by_profile(rows, scheme,
                               unmet(app, parsed_args, seconds))


class ListCapacity(command.Lister):
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
        add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace
                    ) -> tuple[tuple[str, ...], list[tuple]]:
        window_seconds(parsed_args)
        if parsed_args.long:
            scheme = common.scheme(parsed_args)
            rows = capacity.read_slices(
                common.mig_client(self.app).placement, scheme,
                workers=READ_WORKERS)
            return (('Host', 'GPU Model', 'Profile', 'Providers', 'Total',
                     'Used', 'Free'),
                    [(h.host, h.model, h.profile, h.providers, h.total,
                      h.used, h.free)
                     for h in capacity.by_host(rows, scheme)])
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
            for p in _lines(self.app, parsed_args)]


class ShowCapacity(command.ShowOne):
    """Show the MIG capacity of one profile: total, used, free, unmet.

    The row of "openstack mig capacity list" for <profile>; a profile no
    provider offers and no failed boot asked for is an error.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('profile', metavar='<profile>',
                            help='MIG profile to show, such as 1g.10gb')
        add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace
                    ) -> tuple[tuple[str, ...], tuple]:
        lines = _lines(self.app, parsed_args)
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
        values: tuple = (p.profile, p.resource_class,
                         format_columns.ListColumn(p.models), p.hosts,
                         p.providers, p.total, p.used, p.free)
        if parsed_args.unmet:
            columns += ('unmet',)
            values += (p.unmet,)
        return columns, values


class Capacity(ListCapacity):
    """Deprecated: use "openstack mig capacity list"."""

    deprecated = True

    def take_action(self, parsed_args: argparse.Namespace
                    ) -> tuple[tuple[str, ...], list[tuple]]:
        self.app.stderr.write('"openstack mig capacity" is deprecated: use '
                              '"openstack mig capacity list"\n')
        return super().take_action(parsed_args)
