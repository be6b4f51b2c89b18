# SPDX-License-Identifier: Apache-2.0

"""``nova-mig layout ...``: plan, apply, assert, export, import, restore."""

import argparse
import collections.abc
import typing

from cliff import command
from cliff import lister

from nova_mig.cli import common
from nova_mig import exitcodes

if typing.TYPE_CHECKING:
    from nova_mig.layout import executor
    from nova_mig.layout import layout_plan
    from nova_mig.layout import records
    from nova_mig.layout import step_types
    from nova_mig.model import host_records

PLAN_COLUMNS = ('GPU', 'Action', 'Description', 'Reason', 'Status')
RESULT_COLUMNS = ('GPU', 'Status', 'Actions done', 'Detail')

#: A row of ``layout plan``: GPU, action, description, reason, status.
PlanRow = tuple[str, str, str, str, str]
#: A row of ``layout apply`` and ``restore``: GPU, status, steps done,
#: detail.
ResultRow = tuple[str, str, int, str]


class _Lister(common.ErrorReporting, lister.Lister):
    """A lister whose exit status can say the work was not complete."""


class _PlansLayout(command.Command):
    """FILE and --include-foreign, for the commands that plan a layout."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'layout', metavar='FILE',
            help='The layout file (YAML, see the layout file reference).')
        parser.add_argument(
            '--include-foreign', action='store_true',
            help='Also remove unused vGPU devices nova-mig did not create '
                 '(Nova, mdevctl or another tool made them). Without it, a '
                 'GPU whose layout needs to remove such a device is '
                 'refused: Nova creates an mdev before it defines the guest '
                 'using it, so an unused foreign device may belong to an '
                 'instance being built. Drain the host (disable its '
                 'nova-compute service) first.')
        return parser


def _plan(cmd: common.ErrorReporting, parsed_args: argparse.Namespace
          ) -> 'layout_plan.Plan':
    from nova_mig.host import discovery
    from nova_mig.layout import layout_apply
    from nova_mig.layout import layout_plan
    from nova_mig.layout import schema
    backend = cmd.backend()
    layout = schema.load(parsed_args.layout)
    report = discovery.discover(backend)
    return layout_plan.plan(report, layout, backend.sysfs_root(),
                            owned=layout_apply.owned_devices(
                                cmd.conf, parsed_args.include_foreign, report))


def _progress(stream: typing.TextIO) -> 'executor.Progress':
    def report(index: int, total: int, step: 'step_types.Step',
               status: str | None) -> None:
        if status is None:
            return
        stream.write('[%d/%d] GPU %s: %s ... %s\n' % (
            index, total, step.gpu, step.describe(), status))
        stream.flush()
    return report


def plan_rows(the_plan: 'layout_plan.Plan') -> list[PlanRow]:
    """One row per step, and one per refused GPU naming its blockers."""
    rows: list[PlanRow] = []
    for gplan in the_plan.gpus:
        status = 'refused' if gplan.refused else 'planned'
        rows += [(s.gpu, s.kind, s.describe(), s.reason, status)
                 for s in gplan.steps]
        if gplan.refused:
            rows.append((gplan.address, 'refused', gplan.refused,
                         'blocked by: ' + '; '.join(gplan.blockers),
                         'refused'))
    return rows


def result_rows(result: 'records.ApplyResult') -> list[ResultRow]:
    """One row per GPU: its status, the steps done, the detail."""
    return [(g.gpu, g.status.value, len(g.done), g.detail)
            for g in result.gpus]


class LayoutPlan(_PlansLayout, _Lister):
    """Show what applying a layout file would change on this host.

    Validates FILE against the host first: every MIG profile must be
    offered by the GPU it is asked of (as NVML reports it), the set must
    fit the card's slices and placements (searched larger profiles first),
    at most one "+me" profile per GPU, and a vGPU type must exist for each
    profile in the host's device mode (mdev or vendor-vfio). Each error
    names the GPU, the profile and why; the exit code is then 1.

    Then lists, per GPU, the actions applying FILE takes, each with its
    reason: vGPU devices to remove, compute and GPU instances to destroy,
    SR-IOV VFs to enable, MIG mode to change, GPU and compute instances to
    create (with their placements), vGPU devices to create (with their
    UUID and VF). A GPU whose change would destroy what is in use (a GPU
    instance with processes, a vGPU device referenced by a libvirt domain,
    running or shut off) is shown as refused with what holds it, and one
    line "blocked by: ..." naming each holder (separated by ";"). When the
    host already matches FILE, the line "nothing to do: host H matches
    FILE" goes to stderr and the list is empty. Nothing is changed.

    -f json prints a list of objects with the keys GPU, Action,
    Description, Reason and Status.

    Exit code: 0 when there is nothing to do or every GPU's actions are
    planned, 1 when FILE is invalid, 3 when a GPU is refused.
    """

    uses_cloud = False

    def take_action(self, parsed_args: argparse.Namespace
                    ) -> common.Columns:
        the_plan = _plan(self, parsed_args)
        if the_plan.empty:
            self.app.stderr.write('nothing to do: host %s matches %s\n' % (
                the_plan.hostname, parsed_args.layout))
        self.exit_status = exitcodes.status(refused=bool(the_plan.refused))
        return PLAN_COLUMNS, plan_rows(the_plan)

    def produce_output(self, parsed_args: argparse.Namespace,
                       column_names: collections.abc.Sequence[str],
                       data: collections.abc.Iterable[typing.Any]) -> int:
        data = list(data)
        if (not data and parsed_args.formatter == 'table' and
                not getattr(parsed_args, 'print_empty', False)):
            return 0    # cliff would print an empty line
        rc: int = super().produce_output(parsed_args, column_names, data)
        return rc


class LayoutApply(_PlansLayout, _Lister):
    """Apply a layout file to this host: VFs, MIG instances, vGPU devices.

    Validates and plans like "nova-mig layout plan" (nothing is touched
    when FILE is invalid), then executes the plan GPU by GPU under the host
    lock shared with the boot restore and the reaper. GPU instances that
    already match stay; applying the same file twice changes nothing the
    second time. Progress goes to stderr, one line per action.

    A GPU whose change would destroy what is in use is refused whole
    (nothing on it changes) and the other GPUs proceed. When the card or
    the kernel refuses a step half-way, that GPU stops, the output says
    exactly what was done and what was not, and running the command again
    converges. vGPU devices get deterministic UUIDs (host, GPU, profile,
    placement) unless FILE gives them, are recorded in the ownership
    record of [host]state_dir and, where libvirt supports it, defined as
    persistent node devices with autostart.

    At the end the exact layout of the host is written to the checkpoint
    in [host]state_dir, which "nova-mig layout restore" re-creates at boot.

    All or nothing per GPU: once planned, every target a GPU's steps
    destroy (vGPU devices, GPU and compute instances, every VF a VF-count
    change removes) is proved free: no process holds its /dev/vfio group
    node or VFIO device file open, no process runs on the GPU instance,
    no libvirt domain in any state references it. A used target refuses
    its GPU whole, naming the holder and when it was seen. Where the open
    handles cannot be read (not root, /proc mounted with hidepid),
    nothing is destroyed unless --skip-handle-check is given. The whole
    set is proved again right before the GPU's first step, and each
    target right before its own step (and before a vGPU is created on a
    VF): a target used since stops its GPU with the status "in use".
    After each removal libvirt is asked once more: a domain defined in
    between that references the removed device is named with the fix
    (status "referenced after removal"). With --include-foreign, a plan
    that removes a device nova-mig did not create first checks, like
    "reap --apply", that this host's nova-compute service is disabled in
    the Compute API.

    Exit code: 0 when every GPU matches FILE, 1 when a GPU was refused,
    failed or found in use. --dry-run prints the plan and changes nothing
    (exit code 3 when it would refuse a GPU, as "layout plan").
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('--dry-run', action='store_true',
                            help='Print the plan; change nothing.')
        parser.add_argument(
            '--force-with-enabled-service', action='store_true',
            help='With --include-foreign, remove foreign devices even when '
                 'the nova-compute service of this host is enabled (or '
                 'cannot be checked).')
        parser.add_argument('--skip-handle-check', action='store_true',
                            help=common.SKIP_HANDLE_CHECK_HELP)
        return parser

    def take_action(self, parsed_args: argparse.Namespace
                    ) -> common.Columns:
        import contextlib

        from nova_mig.layout import layout_apply
        from nova_mig.layout import schema
        from nova_mig import lock
        from nova_mig.workflows import compute_service
        layout = schema.load(parsed_args.layout)

        def guard(report: 'host_records.HostReport') -> None:
            compute_service.guard_apply(
                self.conf, report.hostname,
                force=parsed_args.force_with_enabled_service)

        with contextlib.ExitStack() as stack:
            if not parsed_args.dry_run:
                stack.enter_context(lock.workflow_lock(self.conf))
            result = layout_apply.apply(
                self.backend(), self.conf, layout,
                dry_run=parsed_args.dry_run,
                include_foreign=parsed_args.include_foreign,
                progress=_progress(self.app.stderr), guard=guard,
                skip_handle_check=parsed_args.skip_handle_check)
        if result.dry_run:
            self.exit_status = exitcodes.status(refused=not result.ok)
            return PLAN_COLUMNS, plan_rows(result.plan)
        self.exit_status = exitcodes.status(failed=not result.ok)
        for warning in result.warnings:
            self.app.stderr.write('warning: %s\n' % warning)
        if result.checkpoint:
            self.app.stderr.write('Checkpoint written to %s\n'
                                  % result.checkpoint)
        return RESULT_COLUMNS, result_rows(result)


class LayoutAssert(_PlansLayout, common.Command):
    """Check that this host matches a layout file; change nothing.

    Exit code 0 and "host matches FILE" when applying FILE would change
    nothing; exit code 1 and the actions still needed (the same lines as
    "nova-mig layout plan") otherwise, including GPUs refused because
    their change would destroy what is in use. An invalid FILE is an
    error (exit code 1) naming the GPU, profile and reason.
    """

    uses_cloud = False

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        the_plan = _plan(self, parsed_args)
        out = self.app.stdout
        if the_plan.empty:
            out.write('host %s matches %s\n' % (the_plan.hostname,
                                                parsed_args.layout))
            return exitcodes.ExitCode.OK
        out.write('host %s does not match %s:\n' % (the_plan.hostname,
                                                    parsed_args.layout))
        for gpu, kind, description, reason, status in plan_rows(the_plan):
            out.write('  %s %s: %s (%s)%s\n' % (
                gpu, kind, description, reason,
                ' [refused]' if status == 'refused' else ''))
        return exitcodes.ExitCode.FAILED


def _write(cmd: common.Command, text: str, output: str | None) -> None:
    if output:
        from nova_mig import exception
        from nova_mig import fileutils
        try:
            fileutils.write_if_changed(output, text)
        except OSError as e:
            raise exception.OutputWriteError(path=output,
                                             reason=e.strerror or e)
        cmd.app.stderr.write('Wrote %s\n' % output)
    else:
        cmd.app.stdout.write(text)


class LayoutExport(common.Command):
    """Write the current host as a layout file (or a mig-parted config).

    The layout is exact: each GPU selected by PCI address, its MIG mode,
    SR-IOV VF count and device mode, each GPU instance with its placement
    and the vGPU device it carries (type, VF and, in mdev mode, UUID), or
    "vgpu: false". Applying it after a reboot re-creates the same geometry
    and the same vGPU UUIDs, so guests find their devices again.

    --mig-parted writes a mig-parted "version: v1" file instead, one
    config (--label, default "nova-mig") listing each GPU's profile
    counts; placements and vGPU devices cannot be expressed there.
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('-o', '--output', metavar='FILE',
                            help='Write to FILE (atomically) instead of '
                                 'stdout.')
        parser.add_argument('--mig-parted', action='store_true',
                            help='Write a mig-parted v1 config.')
        parser.add_argument('--label', metavar='LABEL', default='nova-mig',
                            help='mig-configs label with --mig-parted '
                                 '(default: nova-mig).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nova_mig.host import discovery
        from nova_mig.layout import export
        from nova_mig.layout import migparted
        report = discovery.discover(self.backend())
        if parsed_args.mig_parted:
            text = migparted.export_config(report, parsed_args.label)
        else:
            text = ('# nova-mig layout of host %s\n' % report.hostname +
                    export.export(report).dump())
        _write(self, text, parsed_args.output)
        return 0


class LayoutImportMigParted(common.Command):
    """Convert a mig-parted config into a nova-mig layout file.

    Reads a mig-parted "version: v1" FILE and converts the config named by
    --label (needed when the file has several "mig-configs"): "devices:
    all" or a list of GPU indexes, "device-filter" PCI device IDs,
    "mig-enabled" and the "mig-devices" profile counts. Placements are
    left to nova-mig (larger profiles first); vGPU devices default to one
    per GPU instance. The host is not read and nothing is changed; check
    the result with "nova-mig layout plan".
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('file', metavar='FILE',
                            help='The mig-parted config file.')
        parser.add_argument('--label', metavar='LABEL',
                            help='The mig-configs entry to convert (the '
                                 'global --config-file option takes '
                                 '"--config").')
        parser.add_argument('-o', '--output', metavar='FILE',
                            help='Write the layout to FILE instead of '
                                 'stdout.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        from nova_mig import bounded_input
        from nova_mig import exception
        from nova_mig.layout import migparted
        text = bounded_input.read_input(
            parsed_args.file, lambda where, reason: exception.MigPartedError(
                path=parsed_args.file, reason=reason))
        layout = migparted.import_config(text, parsed_args.label,
                                         parsed_args.file)
        _write(self, layout.dump(), parsed_args.output)
        return 0


class LayoutRestore(_Lister):
    """Re-create the layout checkpointed by the last apply (at boot).

    Reads the checkpoint in [host]state_dir written by "nova-mig layout
    apply" and applies it under the host lock, in boot order: SR-IOV VFs,
    then the GPU and compute instances at their recorded placements, then
    the vGPU devices with their recorded UUIDs and VFs, so guests defined
    before the reboot find their devices. What still exists is kept.

    The nova-mig-restore.service systemd unit runs it after the NVIDIA
    driver and before nova-compute and libvirt-guests. Without a
    checkpoint it does nothing and exits 0. Exit code 1 when a GPU was
    refused or failed; the unit then fails and nova-compute, which
    requires it, does not start on a host whose vGPUs are missing.

    A GPU whose MIG mode came back disabled (Hopper GPUs after a reboot)
    gets it enabled again; when the change stays pending until a GPU
    reset, the GPU stops with the exact command to run, unless
    --reset-gpu lets nova-mig run it on a GPU that is idle.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--reset-gpu', action='store_true',
            help='Reset a GPU whose MIG mode change stays pending '
                 '("nvidia-smi --gpu-reset -i <PCI address>"), only when '
                 'it has no GPU instance, vGPU device or guest. Without it '
                 'such a GPU is refused with that command.')
        parser.add_argument('--skip-handle-check', action='store_true',
                            help=common.SKIP_HANDLE_CHECK_HELP)
        return parser

    def take_action(self, parsed_args: argparse.Namespace
                    ) -> common.Columns:
        from nova_mig.layout import layout_apply
        from nova_mig import lock
        with lock.workflow_lock(self.conf):
            result = layout_apply.restore(
                self.backend(), self.conf,
                progress=_progress(self.app.stderr),
                reset_gpu=parsed_args.reset_gpu,
                skip_handle_check=parsed_args.skip_handle_check)
        if result is None:
            self.app.stderr.write('No layout checkpoint: nothing to '
                                  'restore\n')
            return RESULT_COLUMNS, []
        self.exit_status = exitcodes.status(failed=not result.ok)
        return RESULT_COLUMNS, result_rows(result)
