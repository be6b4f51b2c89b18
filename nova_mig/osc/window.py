# SPDX-License-Identifier: Apache-2.0

"""--window and --no-unmet: which failed boots count as demand.

Options of the ``openstack mig`` commands that count the demand
(``capacity list|show``, ``metrics``, ``rebalance plan``).
"""

import argparse

from osc_lib import exceptions as osc_exc

from nova_mig.rebalance import defaults
from nova_mig.rebalance import demand


def add_window_option(parser: argparse.ArgumentParser) -> None:
    """--window and --no-unmet: which failed boots count as demand."""
    parser.add_argument(
        '--window', metavar='<duration>', default=defaults.WINDOW,
        help='Count the boots that failed with NoValidHost over this '
             'past duration: 30m, 24h, 7d (default: %(default)s)')
    parser.add_argument(
        '--no-unmet', dest='unmet', action='store_false', default=True,
        help='Do not read the Compute API for failed boots')


def window_seconds(parsed_args: argparse.Namespace) -> int:
    """--window in seconds; ``CommandError`` naming it when malformed."""
    try:
        return demand.parse_window(parsed_args.window)
    except ValueError as e:
        raise osc_exc.CommandError('--window: %s' % e)
