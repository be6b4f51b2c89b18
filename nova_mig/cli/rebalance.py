# SPDX-License-Identifier: Apache-2.0

"""``nova-mig rebalance apply``: one host's part of a rebalance plan."""

import argparse

from cliff import lister

from nova_mig.cli import common
from nova_mig import exitcodes

COLUMNS = ('GPU', 'Status', 'Detail')


class RebalanceApply(common.ErrorReporting, lister.Lister):
    """Apply this host's rebalance layout GPU by GPU, without draining it.

    LAYOUT is the file "openstack mig rebalance plan --output-dir" wrote for
    this host. Without --yes nothing changes: the GPUs the layout changes
    are listed with what would be done ("would change") or why the change
    is refused (a GPU instance or vGPU device in use would go).

    With --yes, for the GPUs it changes only (the rest of the host keeps
    running and scheduling): write the Nova configuration without their
    unused vGPU parents, restart nova-compute ([retype]restart_command,
    needs [retype]allow_restart), wait until Placement no longer offers
    them ([retype]placement_timeout); apply the layout to them with the
    in-use checks of "nova-mig layout apply"; write the full Nova
    configuration, restart nova-compute and wait until Placement shows the
    new capacity. A GPU whose parent gets an allocation while draining is
    left alone and reported.

    The whole run holds the workflow lock ([host]state_dir/locks): a
    "layout apply", "layout restore", "retype" or "reap --apply" on this
    host waits for it, and it waits for them. Before its first change it
    records the GPUs, their layout and the phase in
    [host]state_dir/drain-journal.json. A run killed or stopped half-way
    (a full disk) is finished by the next run of this command (or of
    "nova-mig retype --per-gpu"), whatever its layout: it resumes the
    recorded drain at its phase, then plans LAYOUT. A dry run names an
    unfinished drain.

    Exit status (see "Exit status" in the CLI reference): with --yes, 1
    when a GPU was refused or failed, or its layout checkpoint could not
    be written (the next run writes it); without --yes, 1 when the dry
    run failed, else 3 when it would refuse a GPU (reported as "refused";
    nothing changed).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'layout', metavar='LAYOUT',
            help='This host\'s layout file from the rebalance plan.')
        parser.add_argument(
            '--yes', action='store_true',
            help='Change the GPUs; without it, only show what would be '
                 'done.')
        parser.add_argument(
            '--include-foreign', action='store_true',
            help='Also remove unused vGPU devices nova-mig did not create '
                 'on the GPUs being changed.')
        parser.add_argument('--skip-handle-check', action='store_true',
                            help=common.SKIP_HANDLE_CHECK_HELP)
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        from nova_mig.layout import schema
        from nova_mig.workflows import drain

        run = drain.GpuDrain(self.conf, self.backend(),
                             schema.load(parsed_args.layout),
                             include_foreign=parsed_args.include_foreign,
                             skip_handle_check=parsed_args.skip_handle_check)
        result = run.run(dry_run=not parsed_args.yes)
        for line in result.steps:
            self.app.stderr.write(line + '\n')
        if parsed_args.yes:
            self.exit_status = exitcodes.status(failed=not result.ok)
        else:
            self.exit_status = exitcodes.status(
                failed=any(g.status == drain.FAILED for g in result.gpus),
                refused=any(g.status == drain.REFUSED for g in result.gpus))
        return COLUMNS, result.rows()
