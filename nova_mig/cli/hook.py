# SPDX-License-Identifier: Apache-2.0

"""``nova-mig hook pre-start|post-start``: around nova-compute's start."""

import argparse
import typing

from cliff import lister

from nova_mig.cli import common
from nova_mig import exitcodes

if typing.TYPE_CHECKING:
    from nova_mig.layout import executor
    from nova_mig.layout import step_types
    from nova_mig.workflows import start_hooks

COLUMNS = ('Step', 'Status', 'Detail')


class _Hook(common.ErrorReporting, lister.Lister):
    """A hook: one row per step, exit status 1 when a step failed."""

    def report(self, result: 'start_hooks.HookResult',
               parsed_args: argparse.Namespace) -> common.Columns:
        """Each warning or failure once: one line on stderr.

        The table then points there instead of repeating it; the other
        formats (-f json) carry the whole detail for a program to read.
        """
        self.exit_status = exitcodes.status(failed=result.exit_code != 0)
        table = getattr(parsed_args, 'formatter', 'table') == 'table'
        rows = []
        for name, status, detail in result.rows():
            if status in ('failed', 'warning'):
                self.app.stderr.write('nova-mig hook %s: %s: %s: %s\n' % (
                    result.hook, name, status, detail))
                if table:
                    detail = 'see the %s on stderr' % (
                        'error' if status == 'failed' else status)
            rows.append((name, status, detail))
        return COLUMNS, rows


def _progress(stream: typing.TextIO) -> 'executor.Progress':
    def report(index: int, total: int, action: 'step_types.Step',
               status: str | None) -> None:
        if status is not None:
            stream.write('[%d/%d] GPU %s: %s ... %s\n' % (
                index, total, action.gpu, action.describe(), status))
            stream.flush()
    return report


class HookPreStart(_Hook):
    """Prepare this host for nova-compute; run before it starts.

    In order, and as systemd's ExecStartPre of nova-compute.service (or a
    container's entry point before nova-compute):

    1. restores the layout checkpointed by the last "nova-mig layout
       apply" (SR-IOV VFs, MIG instances at their placements, vGPU
       devices with their UUIDs), like "nova-mig layout restore". Without
       a checkpoint this step is skipped. When a GPU cannot be restored
       the hook stops here and exits 1: nova-compute must not start on a
       half-restored geometry. [hook]restore_layout turns the step off;
    2. writes the Nova configuration of the restored host, like
       "nova-mig nova-config" ([hook]write_nova_config); a failure exits 1;
    3. creates the host's custom resource classes and traits in Placement,
       which needs none of nova-compute's providers. Each Placement
       request is bounded by [hook]placement_timeout. When Placement or
       Keystone is unreachable, refuses the credentials or fails, or
       [placement] is not configured, this is a warning and the exit code
       stays 0, so an outage does not keep nova-compute from starting;
       with --strict ([hook]strict) it exits 1.

    Prints one row per step (restore layout, nova config, placement) with
    its status: ok, skipped, warning or failed. A warning or failure is
    written once, as one line on stderr, and its row says "see the
    warning on stderr" ("-f json" keeps the whole detail).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--strict', action='store_true', default=None,
            help='Exit 1 when Placement cannot be reached instead of '
                 'warning (default: [hook]strict).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        from nova_mig.workflows import start_hooks
        return self.report(start_hooks.pre_start(
            self.conf, self.backend(), strict=parsed_args.strict,
            progress=_progress(self.app.stderr)), parsed_args)


class HookPostStart(_Hook):
    """Wait for nova-compute's GPU providers, then sync their traits.

    Run once nova-compute has started (systemd's ExecStartPost of
    nova-compute.service). Polls Placement every
    [hook]provider_poll_interval seconds until the compute node provider
    ([nova]hypervisor_hostname) and every GPU resource provider this
    host's configuration gives nova-compute exist, then adds their traits
    like "nova-mig sync". A Placement that does not answer yet counts as
    not ready.

    Exit code 1 with the providers still missing when they do not all
    appear within --timeout seconds ([hook]provider_timeout), or when the
    sync fails. nova-compute keeps running either way (the systemd
    drop-in ignores this command's exit code); "nova-mig sync" can be run
    again later.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--timeout', type=float, metavar='SECONDS',
            help='How long to wait for the providers (default: '
                 '[hook]provider_timeout).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        from nova_mig.workflows import start_hooks
        return self.report(start_hooks.post_start(
            self.conf, self.backend(), timeout=parsed_args.timeout),
            parsed_args)
