# SPDX-License-Identifier: Apache-2.0

"""``nova-mig metrics``: the host's state for Prometheus' node_exporter."""

import argparse
import datetime
import json
import logging
import typing

from nova_mig.cli import common

LOG = logging.getLogger(__name__)

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
        from nova_mig.metrics import host as host_metrics
        from nova_mig.metrics import textfile
        from nova_mig.reaper import facts as facts_mod

        if parsed_args.textfile:
            textfile.check(parsed_args.textfile)
        backend = self.backend()
        gathered = facts_mod.Gatherer(self.conf, backend,
                                      placement=False).gather()
        report = gathered.report
        extra = host_metrics.Extra()
        _orphans(extra, gathered.devices)
        _checkpoint(extra, self.conf, report, backend.sysfs_root())
        registry = host_metrics.registry(report.as_dict(), extra)
        if parsed_args.textfile:
            textfile.write(parsed_args.textfile, registry)
            self.app.stderr.write('Wrote %s\n' % parsed_args.textfile)
        else:
            self.app.stdout.write(textfile.text(registry))
        return 0


def _orphans(extra: typing.Any, devices: list) -> None:
    """Orphans by type, and what the reaper would remove now.

    An orphan is a vGPU device no guest uses whose type Nova's
    configuration no longer enables; without that configuration none can
    be told apart, and the collector is marked failed.
    """
    from nova_mig.reaper import decide

    unknown = [d for d in devices if d.type_enabled is None]
    if unknown:
        extra.failures['orphans'] = ('enabled types unknown: %s'
                                     % (unknown[0].type_note or
                                        'not checked'))
        LOG.warning('Orphans not counted: %s', extra.failures['orphans'])
        return
    orphans: dict[str, int] = {}
    for dev in devices:
        if not dev.domains and dev.type_enabled is False:
            orphans[dev.type_id] = orphans.get(dev.type_id, 0) + 1
    extra.orphans = orphans
    policy = decide.Policy(skip_placement_check=True)
    extra.removable = sum(1 for d in decide.decide(devices, policy)
                          if d.remove)


def _checkpoint(extra: typing.Any, conf: typing.Any, report: typing.Any,
                sysfs_root: str) -> None:
    """When the last apply wrote its checkpoint; how far each GPU is."""
    from nova_mig import exception
    from nova_mig.layout import checkpoint
    from nova_mig.layout import plan

    try:
        layout = checkpoint.load(conf.host.state_dir)
        if layout is None:
            extra.checkpoint_time = 0
            return
        with open(checkpoint.path(conf.host.state_dir),
                  encoding='utf-8') as stream:
            saved = json.load(stream).get('saved_at')
        extra.checkpoint_time = (
            datetime.datetime.fromisoformat(saved).timestamp()
            if isinstance(saved, str) else 0)
        the_plan = plan.plan(report, layout, sysfs_root, owned=None)
    except (exception.NovaMigException, OSError, ValueError) as e:
        extra.failures['checkpoint'] = str(e).splitlines()[0]
        extra.checkpoint_time = None
        LOG.warning('Layout checkpoint not compared: %s',
                    extra.failures['checkpoint'])
        return
    extra.drift = {g.address: len(g.steps) + (1 if g.refused else 0)
                   for g in the_plan.gpus}
