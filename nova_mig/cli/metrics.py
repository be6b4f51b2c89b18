# SPDX-License-Identifier: Apache-2.0

"""``nova-mig metrics``: the host's state for Prometheus' node_exporter."""

import argparse

from nova_mig.cli import common

DEFAULT_TEXTFILE = '/var/lib/prometheus/node-exporter/nova-mig.prom'


class Metrics(common.Command):
    """Write this host's MIG and vGPU metrics for node_exporter.

    Discovers the host like "nova-mig discover" and writes, in Prometheus'
    text format: the GPUs per model, each GPU's MIG mode and memory
    slices, its GPU instances per profile (all, and those in use), the
    slice map (nova_mig_gpu_slice_state: per memory slice 0 free, 1 GPU
    instance without vGPU, 2 vGPU without guest, 3 in use), the vGPU
    devices per type and state (in_guest, no_guest), the orphans (devices
    no guest uses whose type Nova no longer enables, as "nova-mig reap"
    finds them, and those it would remove now without the Placement
    check), when the last layout apply wrote its checkpoint and how many
    actions each GPU is away from it. Every metric has a host label.

    With --textfile the file is replaced atomically, so node_exporter's
    textfile collector never reads half of it; without, the text goes to
    standard output. It changes nothing on the host; run it from a
    systemd timer (etc/systemd/nova-mig-metrics.timer). A part that cannot
    be collected (the checkpoint unreadable, nova.conf missing) is left
    out and nova_mig_host_collector_success says which; the command still
    writes the rest.
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--textfile', metavar='PATH', nargs='?', const=DEFAULT_TEXTFILE,
            help='Write the metrics to PATH, a *.prom file in the directory '
                 'of node_exporter\'s --collector.textfile.directory '
                 '(without PATH: %s); without --textfile, print them.'
                 % DEFAULT_TEXTFILE)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        # Imported here: "nova-mig --help" does not pay for them.
        from nova_mig.metrics import textfile
        from nova_mig.workflows import host_metrics

        if parsed_args.textfile:
            textfile.check(parsed_args.textfile)
        registry = host_metrics.collect(self.conf, self.backend())
        if parsed_args.textfile:
            textfile.write(parsed_args.textfile, registry)
            self.app.stderr.write('Wrote %s\n' % parsed_args.textfile)
        else:
            self.app.stdout.write(textfile.text(registry))
        return 0
