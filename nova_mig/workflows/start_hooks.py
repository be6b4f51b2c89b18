# SPDX-License-Identifier: Apache-2.0

"""nova-compute start hooks: what runs before and after nova-compute starts.

:func:`pre_start` runs before nova-compute (systemd ``ExecStartPre``, or a
container's entry point): it restores the checkpointed layout, writes
Nova's configuration for it and creates the resource classes and traits in
Placement (nothing there needs nova-compute's providers yet). A restore
failure always fails the hook: nova-compute must not start on a host
whose vGPU devices are half there. A Placement outage only fails it in
strict mode; otherwise it is a warning, because the configuration is
already written and the traits can follow later.

:func:`post_start` runs once nova-compute started (``ExecStartPost``): it
waits, up to ``[hook]provider_timeout`` seconds, for the compute node and
GPU resource providers nova-compute creates, then syncs their traits like
``nova-mig sync``.
"""

import contextlib
import dataclasses
import logging
import os
import subprocess
import time
import typing

from oslo_config import cfg
import tenacity

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import discovery
from nova_mig.layout import executor
from nova_mig.layout import layout_apply
from nova_mig.layout import records
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import release
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import connect
from nova_mig.placement import host_offer
from nova_mig.placement import sync
from nova_mig.privsep import files

LOG = logging.getLogger(__name__)

Sleep = typing.Callable[[float], None]
Clock = typing.Callable[[], float]

OK = 'ok'
SKIPPED = 'skipped'
WARNING = 'warning'
FAILED = 'failed'

#: Errors of a Placement (or its Keystone) that is down, refuses us or is
#: not configured: a warning by default, a failure with [hook]strict.
PLACEMENT_ERRORS = (exception.PlacementUnreachable,
                    exception.PlacementAuthError,
                    exception.PlacementError,
                    exception.PlacementConflictRetriesExhausted,
                    exception.PlacementNotConfigured,
                    exception.IdentityUnreachable,
                    exception.IdentityError)


@dataclasses.dataclass
class Step:
    """One step of a hook and how it ended."""

    name: str
    status: str
    detail: str = ''


@dataclasses.dataclass
class HookResult:
    """The steps a hook ran; it failed when one of them failed."""

    hook: str
    steps: list[Step] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status != FAILED for s in self.steps)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def add(self, name: str, status: str, detail: str = '') -> Step:
        step = Step(name, status, detail)
        self.steps.append(step)
        # Logged for a log file; the command line prints a warning or a
        # failure once itself (nova_mig.cli.hook), so not at WARNING.
        LOG.info('%s: %s: %s: %s', self.hook, name, status, detail)
        return step

    def rows(self) -> list[tuple[str, str, str]]:
        return [(s.name, s.status, s.detail) for s in self.steps]


@contextlib.contextmanager
def placement_timeout(conf: cfg.ConfigOpts) -> typing.Iterator[None]:
    """Bound every Placement request by ``[hook]placement_timeout``.

    Only when ``[placement]timeout`` is unset; the override is dropped
    when the block ends.
    """
    if conf.placement.timeout is not None:
        yield
        return
    conf.set_override('timeout', conf.hook.placement_timeout,
                      group='placement')
    try:
        yield
    finally:
        conf.clear_override('timeout', group='placement')


# -- pre-start ----------------------------------------------------------------
def restore_layout(conf: cfg.ConfigOpts, backend: backend_api.GpuBackend,
                   result: HookResult,
                   progress: executor.Progress | None = None) -> bool:
    """Restore the checkpointed layout; False when nova-compute must wait."""
    if not conf.hook.restore_layout:
        result.add('restore layout', SKIPPED, '[hook]restore_layout is off')
        return True
    try:
        restored = layout_apply.restore(backend, conf, progress=progress)
    except exception.NovaMigException as e:
        result.add('restore layout', FAILED,
                   str(exception.HookRestoreFailed(reason=e)))
        return False
    if restored is None:
        result.add('restore layout', SKIPPED, 'no layout checkpoint in %s'
                   % conf.host.state_dir)
        return True
    bad = ['%s %s: %s' % (g.gpu, g.status, g.detail or '-')
           for g in restored.gpus if not g.ok]
    if bad:
        result.add('restore layout', FAILED, str(
            exception.HookRestoreFailed(reason='; '.join(bad))))
        return False
    changed = [g.gpu for g in restored.gpus
               if g.status == records.Status.CHANGED]
    result.add('restore layout', OK, '%d GPU(s), re-created on %s' % (
        len(restored.gpus), ', '.join(changed)) if changed else
        '%d GPU(s), nothing to re-create' % len(restored.gpus))
    return True


def while_draining(conf: cfg.ConfigOpts, report: host_records.HostReport,
                   config: type_plan.NovaConfig
                   ) -> type_plan.NovaConfig:
    """``config``, without the GPUs an unfinished per-GPU drain withholds.

    ``rebalance apply`` and ``retype --per-gpu`` restart nova-compute
    without the GPUs they change; this hook runs at that restart (and at
    a boot after a crash half-way) and must not offer them again before
    the drain's restore phase (:mod:`nova_mig.workflows.drain_journal`).
    """
    from nova_mig.workflows import drain
    from nova_mig.workflows import drain_journal

    try:
        pending = drain_journal.load(conf.host.state_dir, clean=False)
    except exception.DrainJournalError as e:
        LOG.warning('%s; writing the full Nova configuration', e)
        return config
    if pending is None or pending.phase == drain_journal.RESTORE:
        return config
    LOG.warning('An unfinished drain (%s phase) withholds %s from Nova; '
                'run the command that started it again to finish it',
                pending.phase, ', '.join(pending.gpus))
    return drain.drained_config(report, config, pending.gpus)


def write_nova_config(conf: cfg.ConfigOpts, config: type_plan.NovaConfig,
                      report: host_records.HostReport,
                      result: HookResult) -> bool:
    """Write the snippet and provider config like ``nova-mig nova-config``.

    nova-compute has not started yet, so a changed file needs no restart.
    """
    try:
        written = config_writer.write(
            config, report, os.path.abspath(conf.nova.config_snippet),
            os.path.abspath(conf.nova.provider_config_file),
            writer=files.FileWriter())
    except exception.NovaMigException as e:
        result.add('nova config', FAILED, str(e))
        return False
    for warning in config.warnings:
        LOG.warning('nova config: %s', warning)
    result.add('nova config', OK, '%s %s, %s %s' % (
        written.snippet_path,
        'written' if written.snippet_written else 'unchanged',
        written.provider_config_path,
        'written' if written.provider_config_written else 'unchanged'))
    return True


def ensure_classes_and_traits(conf: cfg.ConfigOpts,
                              config: type_plan.NovaConfig,
                              result: HookResult, strict: bool) -> bool:
    """Create the host's custom resource classes and traits in Placement."""
    expected = host_offer.providers(
        config, host_offer.hypervisor_hostname(conf, config))
    classes = host_offer.custom_classes(expected)
    traits = host_offer.custom_traits(expected)
    try:
        with placement_timeout(conf), \
                connect.placement(conf, config) as client:
            syncer = sync.Syncer(conf, client)
            created_classes = syncer.ensure_classes(classes, dry_run=False)
            created_traits = syncer.ensure_traits(traits, dry_run=False)
            syncer.state.save()
            endpoint = client.endpoint
    except PLACEMENT_ERRORS as e:
        if strict:
            result.add('placement', FAILED, '%s (strict mode)'
                       % str(e).rstrip('.'))
            return False
        result.add('placement', WARNING,
                   '%s; nova-compute starts anyway, run "nova-mig sync" '
                   'once Placement is back' % str(e).rstrip('.'))
        return True
    result.add('placement', OK, 'Placement %s: %d resource class(es), %d '
               'trait(s) present; created: %s' % (
                   endpoint, len(classes), len(traits),
                   ', '.join(created_classes + created_traits) or 'none'))
    return True


#: Seconds the mdevctl check may take (a container runtime answers slowly).
MDEVCTL_TIMEOUT = 30.0


def check_mdevctl(conf: cfg.ConfigOpts, config: type_plan.NovaConfig,
                  result: HookResult) -> None:
    """Warn when mdevctl, which Nova's persistent mdevs need, is missing.

    Only in mdev mode for Nova 2024.2 and later, where nova-compute defines
    each mdev through libvirt (libvirt runs mdevctl); ``[hook]
    mdevctl_command`` says how to reach it where libvirt runs.
    """
    command = [c for c in conf.hook.mdevctl_command if c]
    if config.device_mode != constants.MODE_MDEV or not command:
        return
    target = release.target(conf.nova.release)
    if not target.has(release.PERSISTENT_MDEVS):
        return
    argv = command + ['--version']
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=MDEVCTL_TIMEOUT, check=False)
        output = (done.stderr or done.stdout or '').strip().splitlines()
        failure = (None if done.returncode == 0 else 'exit code %d%s' % (
            done.returncode, ': ' + output[-1] if output else ''))
    except (OSError, subprocess.SubprocessError) as e:
        failure = str(e)
    if failure is None:
        result.add('mdevctl', OK, ' '.join(argv))
        return
    result.add('mdevctl', WARNING,
               '"%s" failed (%s): Nova %s defines persistent mdevs through '
               'libvirt, which needs mdevctl where libvirt runs; install it '
               'there (the nova_libvirt image in kolla) or set '
               '[hook]mdevctl_command' % (
                   ' '.join(argv), failure, target.release.series))


def pre_start(conf: cfg.ConfigOpts, backend: backend_api.GpuBackend,
              strict: bool | None = None,
              progress: executor.Progress | None = None) -> HookResult:
    """Everything nova-compute needs before it starts.

    :param conf: options: [hook], [host], [nova], [naming], [placement].
    :param backend: the GPU backend of ``[gpu]backend``.
    :param strict: fail on a Placement outage; None takes [hook]strict.
    :param progress: progress callback of the layout restore.
    :returns: the steps run; ``exit_code`` 1 when one failed. A failed
        restore stops the hook before the configuration is written.
    """
    strict = conf.hook.strict if strict is None else strict
    result = HookResult('pre-start')
    if not restore_layout(conf, backend, result, progress):
        return result
    try:
        report = discovery.discover(backend)
    except exception.NovaMigException as e:
        result.add('discover', FAILED, str(e))
        return result
    if not conf.hook.write_nova_config:
        result.add('nova config', SKIPPED, '[hook]write_nova_config is off')
        config = type_plan.build(conf, report)
    else:
        try:
            config = config_writer.plan_host(conf, report,
                                             backend.sysfs_root())
        except exception.NovaMigException as e:
            result.add('nova config', FAILED, str(e))
            return result
        config = while_draining(conf, report, config)
        if not write_nova_config(conf, config, report, result):
            return result
    check_mdevctl(conf, config, result)
    ensure_classes_and_traits(conf, config, result, strict)
    return result


# -- post-start ---------------------------------------------------------------
def missing_providers(client: api_client.PlacementClient, hostname: str,
                      expected: typing.Iterable[str]) -> list[str]:
    """Names of the compute node and GPU providers not in Placement yet."""
    roots = client.providers(name=hostname)
    if not roots:
        return [hostname] + sorted(expected)
    present = {p['name'] for p in client.providers(
        in_tree=roots[0]['root_provider_uuid'])}
    return sorted(set(expected) - present)


def wait_for_providers(client: api_client.PlacementClient, hostname: str,
                       expected: typing.Iterable[str], timeout: float,
                       interval: float, sleep: Sleep = time.sleep,
                       clock: Clock = time.monotonic) -> float:
    """Wait until every provider exists; return the seconds waited.

    A Placement that does not answer yet counts as providers missing.

    :raises: :class:`nova_mig.exception.HookProvidersTimeout`
    """
    names = list(expected)
    start = clock()
    why = ''

    def missing() -> list[str]:
        nonlocal why
        try:
            absent = missing_providers(client, hostname, names)
        except (exception.PlacementUnreachable,
                exception.PlacementError) as e:
            why = str(e)
            return [hostname]
        why = 'missing %s' % ', '.join(absent)
        return absent

    def left() -> float:
        return start + timeout - clock()

    def log(retry_state: tenacity.RetryCallState) -> None:
        LOG.info('Waiting for nova-compute\'s providers (%s); %.0fs left',
                 why, left())

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_result(bool),
        stop=lambda retry_state: left() <= 0,
        wait=lambda retry_state: min(interval, left()),
        sleep=sleep, before_sleep=log)
    try:
        retrying(missing)
    except tenacity.RetryError:
        raise exception.HookProvidersTimeout(timeout='%g' % timeout,
                                             missing=why)
    return clock() - start


def post_start(conf: cfg.ConfigOpts, backend: backend_api.GpuBackend,
               timeout: float | None = None, interval: float | None = None,
               sleep: Sleep = time.sleep,
               clock: Clock = time.monotonic) -> HookResult:
    """Wait for nova-compute's GPU providers, then sync their traits.

    :param timeout: seconds to wait; None takes [hook]provider_timeout.
    :param interval: seconds between polls; None takes
        [hook]provider_poll_interval.
    :returns: the steps run; ``exit_code`` 1 on timeout or sync failure.
    """
    timeout = conf.hook.provider_timeout if timeout is None else timeout
    interval = (conf.hook.provider_poll_interval if interval is None
                else interval)
    result = HookResult('post-start')
    try:
        report = discovery.discover(backend)
    except exception.NovaMigException as e:
        result.add('discover', FAILED, str(e))
        return result
    config = type_plan.build(conf, report)
    hostname = host_offer.hypervisor_hostname(conf, config)
    expected = host_offer.providers(config, hostname)
    try:
        with placement_timeout(conf), \
                connect.placement(conf, config) as client:
            waited = wait_for_providers(client, hostname, expected,
                                        timeout, interval, sleep, clock)
            result.add('wait for providers', OK, '%d GPU provider(s) of %s '
                       'after %.1fs' % (len(expected), hostname, waited))
            synced = sync.sync(conf, config, client, sleep=sleep)
            endpoint = client.endpoint
    except exception.HookProvidersTimeout as e:
        result.add('wait for providers', FAILED, str(e))
        return result
    except exception.NovaMigException as e:
        result.add('placement', FAILED, str(e))
        return result
    changed = [p.name for p in synced.providers if p.status == 'changed']
    result.add('sync', OK, 'Placement %s: %d provider(s), %d changed, %d '
               'write(s)' % (endpoint, len(synced.providers), len(changed),
                             synced.writes))
    return result
