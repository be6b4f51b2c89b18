# SPDX-License-Identifier: Apache-2.0

"""``openstack mig metrics``: the cloud's MIG capacity for Prometheus."""

import argparse
import collections

from osc_lib.command import command

from nova_mig.flavor import capacity as flavor_capacity
from nova_mig.metrics import cloud
from nova_mig.metrics import textfile
from nova_mig import naming
from nova_mig.osc import common
from nova_mig.osc.v1 import capacity as capacity_cmd
from nova_mig.rebalance import capacity
from nova_mig.rebalance import history


def slices(rows: capacity.Rows,
           scheme: naming.Scheme) -> list[cloud.Slices]:
    """Placement's provider rows summed per host, model and profile."""
    groups: dict[tuple[str, str, str, str],
                 list[flavor_capacity.Slices]] = (
        collections.defaultdict(list))
    for row in rows:
        groups[(row.host, capacity.model_of(row.traits, scheme),
                row.profile, row.resource_class)].append(row)
    return [cloud.Slices(host=host, model=model, profile=profile,
                         resource_class=rc,
                         providers=len({r.provider for r in group}),
                         total=sum(r.capacity for r in group),
                         used=sum(r.used for r in group))
            for (host, model, profile, rc), group in sorted(groups.items())]


class Metrics(command.Command):
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
        capacity_cmd.add_window_option(parser)
        common.add_naming_options(parser)
        return parser

    @common.translate_errors
    def take_action(self, parsed_args: argparse.Namespace) -> None:
        seconds = capacity_cmd.window_seconds(parsed_args)
        if parsed_args.textfile:
            textfile.check(parsed_args.textfile)
        scheme = common.scheme(parsed_args)
        done = (history.repartitions(parsed_args.history, seconds)
                if parsed_args.history else None)
        rows = capacity.read_slices(
            common.mig_client(self.app).placement, scheme,
            workers=capacity_cmd.READ_WORKERS)
        unmet = (capacity_cmd.unmet(self.app, parsed_args, seconds)
                 if parsed_args.unmet else None)
        if unmet is not None:
            # A profile offered and never refused counts 0, not absent.
            for row in rows:
                unmet.setdefault(row.profile, 0)
        registry = cloud.registry(slices(rows, scheme), unmet,
                                  parsed_args.window, done)
        if parsed_args.textfile:
            textfile.write(parsed_args.textfile, registry)
            self.app.stderr.write('Wrote %s\n' % parsed_args.textfile)
        else:
            self.app.stdout.write(textfile.text(registry))
