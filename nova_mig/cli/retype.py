# SPDX-License-Identifier: Apache-2.0

"""``nova-mig retype``: change this host's vGPU types safely, resumably."""

import argparse

from cliff import lister

from nova_mig.cli import common
from nova_mig import exitcodes

COLUMNS = ('step', 'status', 'detail')


class Retype(common.ErrorReporting, lister.Lister):
    """Change the vGPU layout of this host in the order Nova needs.

    Runs the whole operator workflow of a vGPU type change as one command.
    Each step reports what it did; the completed steps are recorded in
    [host]state_dir/retype-state.json, so running the same command again
    after a failure resumes at the step that failed.

      1. disable-service: disable this host's nova-compute service in the
         Compute API with [retype]disabled_reason (a service someone else
         had disabled stays disabled at the end).
      2. check-in-use: stop, listing them, if guests (running, paused or
         shut off) use vGPU devices on the GPUs the layout changes.
      3. reap: remove the unused vGPU devices on those GPUs, with the
         reaper's checks ("nova-mig reap --all-unassigned"), journaled.
      4. apply-layout: apply LAYOUT like "nova-mig layout apply" (SR-IOV
         VFs, MIG instances, vGPU devices).
      5. nova-config: regenerate nova-compute's configuration like
         "nova-mig nova-config" ([nova]config_snippet).
      6. restart-nova-compute: run [retype]restart_command; with
         [retype]allow_restart = False print it and stop (exit 2) until
         the operator ran it and resumes.
      7. wait-placement: wait up to [retype]placement_timeout seconds
         until Placement shows the new inventory ("nova-mig verify").
      8. enable-service: enable nova-compute again.

    A failed step stops the run with exit status 1, prints the state the
    host is left in (e.g. "nova-compute is disabled; the layout may be
    partly applied") and the command that resumes. --dry-run shows what
    each remaining step would do and changes nothing (no state is
    written).

    The Compute API and Placement are reached with the [placement]
    credentials (with [placement_sync]embedded = true, the Compute API is
    the embedded cloud's); --skip-service-steps and
    --skip-placement-check leave them out where they cannot be reached
    (you then keep the service disabled yourself).

    A run that changes the host holds the workflow lock
    ([host]state_dir/locks) from start to end, so "layout apply",
    "layout restore", "rebalance apply" and "reap --apply" wait for it.
    Killed at any point, the same command run again resumes: a step not
    recorded as completed runs again (disable-service recognises the
    service it disabled itself), and with --per-gpu the unfinished drain
    recorded in [host]state_dir/drain-journal.json is finished first.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        # Keep the lists of the description as written.
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.add_argument(
            'layout', metavar='LAYOUT',
            help='The new layout file (the format of "nova-mig layout '
                 'apply").')
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Show what each remaining step would do; change nothing.')
        parser.add_argument(
            '--restart', action='store_true',
            help='Forget an unfinished retype recorded for another layout '
                 'and start over from the first step.')
        parser.add_argument(
            '--skip-service-steps', action='store_true',
            help='Neither disable nor enable nova-compute in the Compute '
                 'API (disable it yourself first).')
        parser.add_argument(
            '--skip-placement-check', action='store_true',
            help='Do not ask Placement: neither for in-flight allocations '
                 'while reaping nor for the new capacity at the end.')
        parser.add_argument(
            '--include-foreign', action='store_true',
            help='Let the reap and layout steps remove unused devices '
                 'nova-mig did not create on the GPUs being changed.')
        parser.add_argument('--skip-handle-check', action='store_true',
                            help=common.SKIP_HANDLE_CHECK_HELP)
        parser.add_argument(
            '--per-gpu', action='store_true',
            help='Keep the compute service enabled and drain only the GPUs '
                 'being changed, as "nova-mig rebalance apply --yes" does: '
                 'one step, per-gpu-drain, instead of the eight.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        from nova_mig.workflows import retype
        from nova_mig.workflows import retype_run

        options = retype.Options(
            layout_path=parsed_args.layout, dry_run=parsed_args.dry_run,
            skip_service=parsed_args.skip_service_steps,
            skip_placement_check=parsed_args.skip_placement_check,
            include_foreign=parsed_args.include_foreign,
            skip_handle_check=parsed_args.skip_handle_check,
            per_gpu=parsed_args.per_gpu)
        outcome = retype_run.run(
            self.conf, self.backend, options, restart=parsed_args.restart,
            say=lambda line: self.app.stderr.write(line + '\n'))
        self.exit_status = exitcodes.status(waiting=outcome.waiting)
        return COLUMNS, outcome.rows
