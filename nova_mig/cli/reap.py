# SPDX-License-Identifier: Apache-2.0

"""``nova-mig reap``: find, and with --apply remove, orphan vGPU devices."""

import argparse
import logging

from cliff import lister

from nova_mig.cli import common
from nova_mig import exitcodes

LOG = logging.getLogger(__name__)

COLUMNS = ('device', 'parent', 'type', 'decision', 'reasons', 'result')


class Reap(common.ErrorReporting, lister.Lister):
    """List the vGPU devices of this host and say which are orphans.

    Nova creates a vGPU device (mdev) for an instance and never deletes it.
    After a vGPU type change the leftovers of the old type block the new
    one on their GPU, and instances fail with NoValidHost while Placement
    still shows free slots. This command prints, for every vGPU device
    (mdev, or vendor-VFIO VF carrying a vGPU type), "keep" or "remove" and
    why. It changes nothing unless --apply is given.

    A device is removed only when ALL of these hold:

      * no libvirt domain references it, in any state (running, paused,
        shut off, merely defined: shelved and powered-off instances count);
      * no process holds its /dev/vfio/<group> node or its VFIO device
        file open ([reaper]proc_root is scanned; run as root: where the
        descriptors cannot be read or /proc hides processes, nothing is
        removed unless --skip-handle-check is given);
      * Placement shows no allocation on its parent's resource provider
        from a consumer libvirt does not know here (an instance being
        built or migrated); without a configured Placement nothing is
        removed unless --skip-placement-check is given;
      * it is older than [reaper]grace_period seconds;
      * Nova's configuration ([reaper]nova_config_files and
        [nova]config_snippet) no longer enables its type on its parent,
        or --all-unassigned is given;
      * nova-mig created it (ownership record in [host]state_dir), or
        --include-foreign is given.

    With --apply, the command first refuses to run while this host's
    nova-compute service is enabled in the Compute API (checked with the
    [placement] credentials; --force-with-enabled-service overrides, and
    is logged). It takes the host lock shared with "layout apply" (waiting
    for it, or failing at once with --no-wait), finishes removals a
    previous run left half-done, checks each device again against libvirt
    and the open handles, and removes it: "1" to its sysfs "remove" (a
    vendor-VFIO VF gets 0 in nvidia/current_vgpu_type), then undefines
    its libvirt node device or deletes its mdevctl definition, so that
    nova-compute does not create it again at its next start. Each
    removal is journaled in [host]state_dir/reaper-journal.jsonl before
    and after.

    Output: one row per device with the columns device, parent, type,
    decision (keep or remove), reasons and result (would remove, kept,
    removed, failed, not run). Notes about the evidence go to stderr.

    Exit status: 0 when every removal asked for succeeded (or on a dry
    run), 1 when one failed, libvirt became unreachable, the lock is held
    (--no-wait) or the service check refused.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        # Keep the lists of the description as written.
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.add_argument(
            '--apply', action='store_true',
            help='Remove the devices decided "remove". Without it nothing '
                 'is changed.')
        parser.add_argument(
            '--all-unassigned', action='store_true',
            help='Remove unused devices even when Nova still enables their '
                 'type (e.g. to return a GPU to its full capacity).')
        parser.add_argument(
            '--include-foreign', action='store_true',
            help='Also remove devices nova-mig did not create (made by '
                 'Nova or another tool).')
        parser.add_argument(
            '--skip-placement-check', action='store_true',
            help='Do not ask Placement about allocations of instances '
                 'being built or migrated. Only for hosts without a '
                 'reachable Placement, with the service disabled.')
        parser.add_argument(
            '--force-with-enabled-service', action='store_true',
            help='Apply even though nova-compute may be enabled (or the '
                 'Compute API cannot be asked). Logged as a warning.')
        parser.add_argument('--skip-handle-check', action='store_true',
                            help=common.SKIP_HANDLE_CHECK_HELP)
        parser.add_argument(
            '--no-wait', action='store_true',
            help='Fail at once when another nova-mig run holds the host '
                 'lock, instead of waiting for it.')
        parser.add_argument(
            '--queued', action='store_true',
            help='Consider only the devices the libvirt hook queued when '
                 'their domain was released (see etc/libvirt/hooks/qemu).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        from nova_mig.reaper import reaper_run
        from nova_mig.workflows import orphan_reaping

        request = orphan_reaping.Request(
            apply=parsed_args.apply, queued=parsed_args.queued,
            no_wait=parsed_args.no_wait,
            force_with_enabled_service=(
                parsed_args.force_with_enabled_service),
            all_unassigned=parsed_args.all_unassigned,
            include_foreign=parsed_args.include_foreign,
            skip_placement_check=parsed_args.skip_placement_check,
            skip_handle_check=parsed_args.skip_handle_check)
        result = orphan_reaping.reap(self.conf, self.backend, request)
        for note in result.notes:
            self.app.stderr.write('note: %s\n' % note)
        self.exit_status = exitcodes.status(failed=result.failed or any(
            o.result == reaper_run.NOT_RUN for o in result.outcomes))
        rows = []
        table = parsed_args.formatter == 'table'
        for outcome in result.outcomes:
            row = outcome.as_row()
            if table:
                row['reasons'] = '\n'.join(row['reasons'])
            rows.append(tuple(row[c] for c in COLUMNS))
        return COLUMNS, rows
