# SPDX-License-Identifier: Apache-2.0

"""The eight steps of ``nova-mig retype``, in the order they run.

The layout steps call :mod:`nova_mig.layout` (``plan`` and ``apply``) and
the Nova configuration step :mod:`nova_mig.novaconf`, so the workflow uses
exactly what ``nova-mig layout apply`` and ``nova-mig nova-config`` do.
"""

import logging
import typing

from nova_mig.layout import layout_apply
from nova_mig.layout import layout_plan
from nova_mig.model import host_records
from nova_mig.novaconf import config_writer
from nova_mig.placement import verify
from nova_mig.privsep import files
from nova_mig.reaper import evidence
from nova_mig.reaper import reaper_run
from nova_mig.workflows import compute_service
from nova_mig.workflows import drain
from nova_mig.workflows import retype

LOG = logging.getLogger(__name__)

SERVICE_DISABLED = ('nova-compute is disabled in the Compute API; no device '
                    'was changed.')


def _service_host(ctx: retype.Context) -> str:
    return compute_service.service_host(ctx.conf, ctx.report().hostname)


def _conn(ctx: retype.Context) -> typing.Any:
    return (ctx.connect or compute_service.connect)(ctx.conf)


def _plan(ctx: retype.Context
          ) -> tuple[host_records.HostReport, layout_plan.Plan]:
    report = ctx.report()
    return report, layout_plan.plan(report, ctx.layout(),
                                    ctx.backend.sysfs_root())


def changing_gpus(the_plan: layout_plan.Plan) -> list[str]:
    """PCI addresses of the GPUs the plan changes."""
    return [g.address for g in the_plan.gpus if g.steps or g.refused]


def users_of(report: host_records.HostReport, gpus: list[str]) -> list[str]:
    """Domains (any state) using a vGPU device on one of ``gpus``."""
    users = set()
    for dev in report.vgpu_devices():
        if dev['gpu'] in gpus:
            for name in dev['domains']:
                users.add('%s (%s on %s)' % (name, dev['uuid'] or
                                             dev['parent'], dev['gpu']))
    return sorted(users)


class DisableService(retype.Step):
    name = 'disable-service'
    state_on_failure = 'Nothing was changed.'

    def preview(self, ctx: retype.Context) -> str:
        if ctx.options.skip_service:
            return 'skipped (--skip-service-steps)'
        return 'disable nova-compute on %s: "%s"' % (
            _service_host(ctx), ctx.conf.retype.disabled_reason)

    def run(self, ctx: retype.Context) -> str:
        if ctx.options.skip_service:
            return 'skipped (--skip-service-steps)'
        host = _service_host(ctx)
        reason = ctx.conf.retype.disabled_reason
        before = compute_service.get_state(_conn(ctx), host)
        if not before.enabled:
            if (ctx.state.get('service_disabling') and
                    before.disabled_reason == reason):
                # This retype disabled it, in a run that stopped before
                # recording the step: the last step enables it again.
                return 'disabled nova-compute on %s (by the interrupted ' \
                    'run)' % host
            # Someone else disabled it: the last step must not enable it.
            ctx.state['service_was_disabled'] = True
            return 'already disabled (%s); it will stay disabled' % (
                before.disabled_reason or 'no reason given')
        # Recorded before the call: a run killed right after it must not
        # take the service it disabled for someone else's.
        ctx.state['service_disabling'] = True
        retype.save_state(ctx.conf.host.state_dir, ctx.state)
        compute_service.disable(_conn(ctx), host, reason)
        return 'disabled nova-compute on %s' % host


class CheckInUse(retype.Step):
    name = 'check-in-use'
    state_on_failure = SERVICE_DISABLED

    def _check(self, ctx: retype.Context) -> str:
        report, the_plan = _plan(ctx)
        gpus = changing_gpus(the_plan)
        ctx.state['gpus'] = gpus
        users = users_of(report, gpus)
        if users:
            raise retype.StepStopped(
                'guests use the GPUs being changed; migrate, shelve or '
                'delete them first: %s' % '; '.join(users))
        for gplan in the_plan.refused:
            raise retype.StepStopped('layout refused on %s: %s (%s)' % (
                gplan.address, gplan.refused, ', '.join(gplan.blockers)))
        return ('no guest uses %s' % ', '.join(gpus) if gpus else
                'the layout changes no GPU')

    preview = run = _check


def _guard(ctx: retype.Context
           ) -> typing.Callable[[host_records.HostReport], None]:
    """The nova-compute-disabled check before foreign devices go."""
    def guard(report: host_records.HostReport) -> None:
        if ctx.options.skip_service:
            return
        compute_service.require_disabled(_conn(ctx), _service_host(ctx))
    return guard


class Reap(retype.Step):
    name = 'reap'
    state_on_failure = SERVICE_DISABLED + ' Some unused vGPU devices may ' \
        'have been removed (see the reaper journal).'

    def _reaper(self, ctx: retype.Context) -> reaper_run.Reaper:
        gpus = set(ctx.state.get('gpus') or changing_gpus(_plan(ctx)[1]))
        report = ctx.report()
        only = {d['uuid'] or d['parent'] for d in report.vgpu_devices()
                if d['gpu'] in gpus}
        policy = reaper_run.policy_from(
            ctx.conf, all_unassigned=True,
            include_foreign=ctx.options.include_foreign,
            skip_placement_check=ctx.options.skip_placement_check,
            skip_handle_check=ctx.options.skip_handle_check)
        return reaper_run.Reaper(ctx.conf, ctx.backend, policy, only=only)

    def preview(self, ctx: retype.Context) -> str:
        result = self._reaper(ctx).run(apply=False)
        return 'would remove %s' % (', '.join(
            o.decision.facts.key for o in result.outcomes
            if o.decision.remove) or 'nothing')

    def run(self, ctx: retype.Context) -> str:
        from nova_mig import lock

        with lock.host_lock(ctx.conf):
            result = self._reaper(ctx).run(apply=True, guard=_guard(ctx))
        if result.failed or any(o.result == reaper_run.NOT_RUN
                                for o in result.outcomes):
            raise retype.StepStopped('; '.join(
                '%s: %s' % (o.decision.facts.key, o.detail)
                for o in result.outcomes
                if o.result in (reaper_run.FAILED, reaper_run.NOT_RUN,
                                reaper_run.IN_USE)))
        kept = [o.decision.facts.key for o in result.outcomes
                if not o.decision.remove]
        return 'removed %s%s' % (', '.join(result.removed()) or 'nothing',
                                 '; kept %s' % ', '.join(kept) if kept
                                 else '')


class ApplyLayout(retype.Step):
    name = 'apply-layout'
    state_on_failure = SERVICE_DISABLED.replace(
        'no device was changed', 'the layout may be partly applied ('
        '"nova-mig discover" shows it); Nova\'s configuration is unchanged')

    def preview(self, ctx: retype.Context) -> str:
        _, the_plan = _plan(ctx)
        return '%d change(s): %s' % (len(the_plan.steps), '; '.join(
            s.describe() for s in the_plan.steps) or 'none')

    def run(self, ctx: retype.Context) -> str:
        result = layout_apply.apply(
            ctx.backend, ctx.conf, ctx.layout(),
            include_foreign=ctx.options.include_foreign, guard=_guard(ctx),
            skip_handle_check=ctx.options.skip_handle_check)
        ctx.layout_changed()
        if not result.ok:
            raise retype.StepStopped('; '.join(
                '%s %s %s' % (g.gpu, g.status, g.detail)
                for g in result.gpus))
        done = sum(len(g.done) for g in result.gpus)
        return '%d change(s) applied' % done


class NovaConfig(retype.Step):
    name = 'nova-config'
    state_on_failure = SERVICE_DISABLED.replace(
        'no device was changed', 'the new layout is applied; Nova\'s '
        'configuration was not written')

    def _result(self, ctx: retype.Context,
                dry_run: bool) -> config_writer.Result:
        report, config = ctx.nova_config()
        return config_writer.write(
            config, report, ctx.conf.nova.config_snippet,
            ctx.conf.nova.provider_config_file, writer=files.FileWriter(),
            dry_run=dry_run)

    def preview(self, ctx: retype.Context) -> str:
        result = self._result(ctx, True)
        return '%s %s' % ('rewrite' if result.restart_needed else
                          'unchanged', ctx.conf.nova.config_snippet)

    def run(self, ctx: retype.Context) -> str:
        result = self._result(ctx, False)
        return 'wrote %s: %s' % (ctx.conf.nova.config_snippet,
                                 'yes' if result.snippet_written else
                                 'no (unchanged)')


class RestartNovaCompute(retype.Step):
    name = 'restart-nova-compute'
    state_on_failure = SERVICE_DISABLED.replace(
        'no device was changed', 'the new layout and Nova configuration are '
        'in place; nova-compute still runs with the old configuration')

    def _command(self, ctx: retype.Context) -> str:
        return ' '.join(ctx.conf.retype.restart_command)

    def preview(self, ctx: retype.Context) -> str:
        if not ctx.conf.retype.allow_restart:
            return 'print "%s" for the operator' % self._command(ctx)
        return 'run "%s"' % self._command(ctx)

    def run(self, ctx: retype.Context) -> str:
        command = list(ctx.conf.retype.restart_command)
        if not ctx.conf.retype.allow_restart:
            raise retype.WaitForOperator(
                'restarting nova-compute is not allowed here '
                '([retype]allow_restart = False): run "%s", then resume '
                'with: %s' % (' '.join(command),
                              retype.resume_command(ctx.options)))
        status = (ctx.runner or retype.default_runner)(command)
        if status != 0:
            raise retype.StepStopped('"%s" exited with %s' % (
                ' '.join(command), status))
        return 'ran "%s"' % ' '.join(command)


class WaitPlacement(retype.Step):
    name = 'wait-placement'
    state_on_failure = SERVICE_DISABLED.replace(
        'no device was changed', 'the new layout and configuration are in '
        'place and nova-compute was restarted; Placement does not show '
        'the new capacity yet ("nova-mig verify" shows the drift)')

    def preview(self, ctx: retype.Context) -> str:
        if ctx.options.skip_placement_check:
            return 'skipped (--skip-placement-check)'
        return 'wait up to %ds for Placement to show the new inventory' % (
            ctx.conf.retype.placement_timeout)

    def run(self, ctx: retype.Context) -> str:
        if ctx.options.skip_placement_check:
            return 'skipped (--skip-placement-check)'
        client = (ctx.placement or evidence.placement_client)(ctx.conf)
        if client is None:
            raise retype.StepStopped(
                'Placement is not configured ([placement] has no '
                'auth_type, auth_section or endpoint_override); '
                'configure it or pass --skip-placement-check')
        _, config = ctx.nova_config()
        timeout = ctx.conf.retype.placement_timeout
        result = verify.wait_until_ok(
            ctx.conf, config, client, timeout, ctx.conf.retype.poll_interval,
            sleep=ctx.sleep, clock=ctx.clock)
        if not result.ok:
            raise retype.StepStopped(
                'Placement still differs after %ds: %s' % (timeout, '; '.join(
                    '%s %s' % (d.provider, d.kind) for d in result.drift)))
        return 'Placement shows the new capacity of %d provider(s)' % len(
            result.checked)


class EnableService(retype.Step):
    name = 'enable-service'
    state_on_failure = ('The retype is complete but nova-compute is still '
                        'disabled in the Compute API.')

    def preview(self, ctx: retype.Context) -> str:
        if ctx.options.skip_service:
            return 'skipped (--skip-service-steps)'
        return 'enable nova-compute on %s' % _service_host(ctx)

    def run(self, ctx: retype.Context) -> str:
        if ctx.options.skip_service:
            return 'skipped (--skip-service-steps)'
        if ctx.state.get('service_was_disabled'):
            return 'left disabled: it was disabled before the retype'
        host = _service_host(ctx)
        compute_service.enable(_conn(ctx), host)
        return 'enabled nova-compute on %s' % host


class PerGpuDrain(retype.Step):
    """The whole change, GPU by GPU, the compute service left enabled."""

    name = 'per-gpu-drain'
    state_on_failure = 'The compute service stays enabled.'

    def _drain(self, ctx: retype.Context) -> drain.GpuDrain:
        return drain.GpuDrain(
            ctx.conf, ctx.backend, ctx.layout(),
            include_foreign=ctx.options.include_foreign,
            placement=ctx.placement, runner=ctx.runner,
            skip_handle_check=ctx.options.skip_handle_check)

    @staticmethod
    def _rows(result: drain.DrainResult) -> str:
        return '; '.join('%s %s%s' % (g.gpu, g.status, ' (%s)' % g.detail
                                      if g.detail else '')
                         for g in result.gpus) or 'the layout changes no GPU'

    def preview(self, ctx: retype.Context) -> str:
        return self._rows(self._drain(ctx).run(dry_run=True))

    def run(self, ctx: retype.Context) -> str:
        result = self._drain(ctx).run(dry_run=False)
        ctx.layout_changed()
        if not result.ok:
            raise retype.StepStopped(self._rows(result))
        return self._rows(result)


def all_steps(per_gpu: bool = False) -> list[retype.Step]:
    if per_gpu:
        return [PerGpuDrain()]
    return [DisableService(), CheckInUse(), Reap(), ApplyLayout(),
            NovaConfig(), RestartNovaCompute(), WaitPlacement(),
            EnableService()]
