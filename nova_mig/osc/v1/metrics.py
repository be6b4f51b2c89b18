# SPDX-License-Identifier: Apache-2.0

"""``openstack mig metrics``: the cloud's MIG capacity for Prometheus."""

import argparse

from nova_mig.metrics import textfile
from nova_mig.osc import common
from nova_mig.osc import window
from nova_mig.rebalance import survey


class Metrics(common.Command):
    """Write the cloud's MIG capacity and demand in Prometheus' format.

    The numbers of "openstack mig capacity list --long" (MIG slices per
    host, GPU model and profile: offered, used, free, and the GPU
    providers) and the boots that failed with NoValidHost over --window
    per profile, as Prometheus metrics (nova_mig_placement_slices,
    nova_mig_placement_slices_used, nova_mig_placement_slices_free,
    nova_mig_placement_providers, nova_mig_unmet_boots). With --history,
    the re-partitions per GPU over --window that the rebalance playbook
    recorded (nova_mig_rebalance_repartitions). With --textfile
    the file is replaced atomically for node_exporter's textfile collector
    on the host that runs it (a controller, from a timer); without, the
    text goes to standard output. Needs the admin role, as the other
    "openstack mig" commands.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--textfile', metavar='<path>',
            help='Write the metrics to <path>, a *.prom file in '
                 'node_exporter\'s textfile directory, instead of printing '
                 'them')
        parser.add_argument(
            '--history', metavar='<dir>',
            help='The rebalance history directory the playbook keeps '
                 '(<rebalance_dir>/history): export the re-partitions per '
                 'GPU recorded over --window')
        window.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        seconds = window.window_seconds(parsed_args)
        if parsed_args.textfile:
            textfile.check(parsed_args.textfile)
        registry = survey.metrics(
            common.mig_client(self.app), common.scheme(parsed_args),
            parsed_args.window, seconds, unmet=parsed_args.unmet,
            history_dir=parsed_args.history)
        if parsed_args.textfile:
            textfile.write(parsed_args.textfile, registry)
            self.app.stderr.write('Wrote %s\n' % parsed_args.textfile)
        else:
            self.app.stdout.write(textfile.text(registry))
