# SPDX-License-Identifier: Apache-2.0

"""Change some GPUs' MIG geometry while the rest of the host keeps serving.

``nova-mig retype`` disables the whole nova-compute service; a rebalance
changes one or two GPUs of a host and must not take the others out of
scheduling. The per-GPU drain, for the GPUs a layout changes:

1. **plan**: the layout's diff (:func:`nova_mig.layout.layout_plan.plan`, the
same
   in-use checks as ``nova-mig layout apply``): GPUs it refuses are left
   alone and reported;
2. **drain**: regenerate the Nova configuration without the vGPU parents of
   those GPUs that carry no vGPU device a guest uses (those keep running
   and keep their providers), restart nova-compute, so Nova deletes the
   now-unconfigured providers, and wait until Placement shows exactly the
   drained configuration (:func:`nova_mig.placement.verify.verify`). A
   withheld provider that holds an allocation (a boot landed while
   draining) keeps its GPU out of the change: it is left alone, reported;
3. **apply** the layout to the drained GPUs only
   (:func:`nova_mig.layout.layout_apply.apply`: the in-use checks run again,
   under the host lock);
4. **restore**: regenerate the full configuration, restart nova-compute,
   wait until Placement shows the new capacity.

Dry run by default: only step 1 runs and the rest is described. A run
with the change holds the workflow lock from start to end and keeps a
journal of steps 2-4 (:mod:`nova_mig.workflows.drain_journal`): the next
run finishes a drain that was killed or stopped half-way.
"""

import dataclasses
import logging
import time
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import discovery
from nova_mig.layout import layout_apply
from nova_mig.layout import layout_plan
from nova_mig.layout import schema
from nova_mig.layout import spec
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import type_plan
from nova_mig.placement import host_offer
from nova_mig.placement import verify
from nova_mig.privsep import files
from nova_mig.reaper import evidence
from nova_mig.workflows import drain_journal
from nova_mig.workflows import retype

LOG = logging.getLogger(__name__)

CHANGED = 'changed'
WOULD_CHANGE = 'would change'
LEFT_ALONE = 'left alone'
REFUSED = 'refused'
FAILED = 'failed'
MV_USAGES = '1.9'


@dataclasses.dataclass
class GpuOutcome:
    gpu: str
    status: str
    detail: str = ''


@dataclasses.dataclass
class DrainResult:
    gpus: list[GpuOutcome]
    steps: list[str]
    dry_run: bool

    @property
    def ok(self) -> bool:
        return all(g.status in (CHANGED, WOULD_CHANGE, LEFT_ALONE)
                   for g in self.gpus)

    def rows(self) -> list[tuple[str, str, str]]:
        return [(g.gpu, g.status, g.detail) for g in self.gpus]


def withheld(report: host_records.HostReport, config: type_plan.NovaConfig,
             gpus: typing.Iterable[str]) -> list[type_plan.Assignment]:
    """The assignments of ``gpus`` drained from Nova: those not in use."""
    gpus = set(gpus)
    in_use = {d['parent'] for d in report.vgpu_devices() if d['domains']}
    return [a for a in config.assignments
            if a.gpu in gpus and a.address not in in_use]


def drained_config(report: host_records.HostReport,
                   config: type_plan.NovaConfig,
                   gpus: typing.Iterable[str]) -> type_plan.NovaConfig:
    """``config`` without the unused vGPU parents of ``gpus``."""
    out = withheld(report, config, gpus)
    return dataclasses.replace(config, assignments=[
        a for a in config.assignments if a not in out])


def config_hostname(conf: cfg.ConfigOpts,
                    config: type_plan.NovaConfig) -> str:
    """The hypervisor host name of ``config``'s providers."""
    return host_offer.hypervisor_hostname(conf, config)


class GpuDrain:
    """One per-GPU drain run; every outside effect can be replaced."""

    def __init__(self, conf: cfg.ConfigOpts, backend: backend_api.GpuBackend,
                 layout: spec.Layout, include_foreign: bool = False,
                 placement: typing.Any = None,
                 runner: typing.Callable[[list[str]], int] | None = None,
                 clock: typing.Callable[[], float] = time.monotonic,
                 sleep: typing.Callable[[float], None] = time.sleep,
                 writer: typing.Any = None,
                 skip_handle_check: bool = False):
        self.conf = conf
        self.skip_handle_check = skip_handle_check
        self.backend = backend
        self.layout = layout
        self.include_foreign = include_foreign
        self.placement = placement
        self.runner = runner or retype.default_runner
        self.clock = clock
        self.sleep = sleep
        self.writer = writer
        self.steps: list[str] = []

    # -- pieces ------------------------------------------------------------
    def report(self) -> host_records.HostReport:
        return discovery.discover(self.backend)

    def config(self, report: host_records.HostReport
               ) -> type_plan.NovaConfig:
        return config_writer.plan_host(self.conf, report,
                                       self.backend.sysfs_root())

    def client(self) -> typing.Any:
        client = (self.placement or evidence.placement_client)(self.conf)
        if client is None:
            raise exception.GpuDrainStopped(
                step='drain', reason='Placement is not configured '
                '([placement] has no auth_type, auth_section or '
                'endpoint_override)', state='Nothing was changed.')
        return client

    def write(self, config: type_plan.NovaConfig,
              report: host_records.HostReport) -> None:
        config_writer.write(
            config, report, self.conf.nova.config_snippet,
            self.conf.nova.provider_config_file,
            writer=self.writer or files.FileWriter())

    def restart(self, step: str, state: str) -> None:
        command = list(self.conf.retype.restart_command)
        if not self.conf.retype.allow_restart:
            raise exception.GpuDrainStopped(
                step=step, reason='restarting nova-compute is not allowed '
                '([retype]allow_restart = False)', state=state)
        status = self.runner(command)
        if status != 0:
            raise exception.GpuDrainStopped(
                step=step, reason='"%s" exited with %s' % (
                    ' '.join(command), status), state=state)
        self.steps.append('%s: ran "%s"' % (step, ' '.join(command)))

    def wait(self, step: str, config: type_plan.NovaConfig,
             client: typing.Any, state: str,
             tolerate: typing.Callable[[], set[str]] | None = None
             ) -> None:
        """Until Placement shows ``config``.

        :param tolerate: called on every poll; the providers it returns may
            remain although ``config`` leaves them out (they hold an
            allocation, so Nova cannot delete them).
        """
        timeout = self.conf.retype.placement_timeout
        start = self.clock()
        while True:
            result = verify.verify(self.conf, config, client)
            kept = tolerate() if tolerate is not None else set()
            drift = [d for d in result.drift
                     if not (d.kind == verify.UNEXPECTED_PROVIDER and
                             d.provider in kept)]
            if not drift:
                self.steps.append('%s: Placement shows the configuration'
                                  % step)
                return
            if self.clock() - start >= timeout:
                raise exception.GpuDrainStopped(
                    step=step, reason='Placement still differs after %ds: '
                    '%s' % (timeout, '; '.join('%s %s' % (d.provider, d.kind)
                                               for d in drift)),
                    state=state)
            self.sleep(self.conf.retype.poll_interval)

    def used_providers(self, client: typing.Any, names: set[str],
                       hostname: str) -> set[str]:
        """The providers among ``names`` holding an allocation."""
        roots = client.providers(name=hostname)
        if not roots:
            return set()
        used = set()
        for rp in client.providers(in_tree=roots[0]['root_provider_uuid']):
            if rp['name'] not in names:
                continue
            usages = client.json(
                'GET', '/resource_providers/%s/usages' % rp['uuid'],
                MV_USAGES)['usages']
            if any(usages.values()):
                used.add(rp['name'])
        return used

    # -- the run -----------------------------------------------------------
    def run(self, dry_run: bool = True) -> DrainResult:
        """Plan, and unless ``dry_run`` drain, apply and restore.

        A run that changes the host holds the workflow lock
        (:func:`nova_mig.lock.workflow_lock`) from start to end and first
        finishes the drain a previous run left unfinished
        (:mod:`nova_mig.workflows.drain_journal`).
        """
        if dry_run:
            pending = drain_journal.load(self.conf.host.state_dir,
                                         clean=False)
            if pending is not None:
                self.steps.append('resume: the %s phase of the drain of %s '
                                  'is unfinished; a run with the change '
                                  'finishes it first' % (
                                      pending.phase, ', '.join(pending.gpus)))
            return self._run(dry_run=True)
        from nova_mig import lock

        with lock.workflow_lock(self.conf):
            pending = drain_journal.load(self.conf.host.state_dir)
            outcomes: dict[str, GpuOutcome] = {}
            if pending is not None:
                self.steps.append('resume: finish the %s phase of the drain '
                                  'of %s recorded in %s' % (
                                      pending.phase,
                                      ', '.join(pending.gpus) or 'no GPU',
                                      drain_journal.path(
                                          self.conf.host.state_dir)))
                outcomes = {g: GpuOutcome(g, WOULD_CHANGE, 'resumed')
                            for g in pending.gpus}
                self._finish(pending, self.client(), outcomes,
                             resumed=True)
            result = self._run(dry_run=False)
        # The GPUs the resumed drain finished come first: this run's plan
        # no longer changes them.
        done = {g.gpu: g for g in result.gpus}
        for gpu, outcome in outcomes.items():
            done.setdefault(gpu, outcome)
        return self._result(done, dry_run=False)

    def _run(self, dry_run: bool) -> DrainResult:
        report = self.report()
        owned = layout_apply.owned_devices(self.conf, self.include_foreign)
        the_plan = layout_plan.plan(report, self.layout,
                                    self.backend.sysfs_root(), owned=owned)
        outcomes: dict[str, GpuOutcome] = {}
        for gplan in the_plan.gpus:
            if gplan.refused:
                outcomes[gplan.address] = GpuOutcome(
                    gplan.address, REFUSED, '%s (%s)' % (
                        gplan.refused, ', '.join(gplan.blockers)))
            elif gplan.steps:
                outcomes[gplan.address] = GpuOutcome(
                    gplan.address, WOULD_CHANGE, '; '.join(
                        s.describe() for s in gplan.steps))
        draining = sorted(a for a, o in outcomes.items()
                          if o.status == WOULD_CHANGE)
        config = self.config(report)
        out, names, _ = self._withheld(report, config, draining)
        self.steps.append('drain: withhold %s from Nova' % (
            ', '.join(sorted(a.address for a in out)) or 'nothing'))
        if dry_run or not draining:
            return self._result(outcomes, dry_run)
        client = self.client()
        self._leave_used(client, names, config_hostname(self.conf, config),
                         outcomes)
        draining = [a for a in draining
                    if outcomes[a].status == WOULD_CHANGE]
        if not draining:
            return self._result(outcomes, dry_run)
        # Recorded before the first change: a run killed from here on is
        # finished by the next one.
        entry = drain_journal.save(
            self.conf.host.state_dir, drain_journal.Entry(
                phase=drain_journal.DRAIN, gpus=tuple(draining),
                layout=self._narrowed(report, draining).as_dict()))
        self._finish(entry, client, outcomes)
        return self._result(outcomes, dry_run)

    def _withheld(self, report: host_records.HostReport,
                  config: type_plan.NovaConfig, gpus: list[str]
                  ) -> tuple[list[type_plan.Assignment], dict[str, str],
                             set[str]]:
        """The vGPU parents drained from Nova, on ``gpus``.

        :returns: the withheld assignments, the names of their providers
            watched for allocations (provider name -> GPU), the parents in
            use (never withheld).
        """
        in_use = {d['parent'] for d in report.vgpu_devices()
                  if d['domains']}
        out = withheld(report, config, gpus)
        hostname = config_hostname(self.conf, config)
        # mdev: one provider per vGPU parent, so an allocation on a
        # withheld one is a boot on a draining GPU. Vendor VFIO: one
        # provider per PF, shared with the VFs in use; the layout's in-use
        # checks (run again under the host lock) guard those GPUs.
        names = {} if config.device_mode == constants.MODE_VENDOR_VFIO \
            else {host_offer.provider_name(hostname, a.address): a.gpu
                  for a in out}
        return out, names, in_use

    def _narrowed(self, report: host_records.HostReport,
                  gpus: list[str]) -> spec.Layout:
        """The layout of ``gpus`` only, each entry naming its GPU.

        An entry selecting by model must not reach a GPU left alone.
        """
        pairs, _ = spec.select(self.layout, report.gpus)
        return dataclasses.replace(self.layout, gpus=tuple(
            dataclasses.replace(entry, selector=spec.Selector(
                pci_address=gpu.pci_address))
            for gpu, entry in pairs if gpu.pci_address in gpus))

    def _save(self, entry: drain_journal.Entry,
              **changes: typing.Any) -> drain_journal.Entry:
        return drain_journal.save(self.conf.host.state_dir,
                                  dataclasses.replace(entry, **changes))

    def _finish(self, entry: drain_journal.Entry, client: typing.Any,
                outcomes: dict[str, GpuOutcome],
                resumed: bool = False) -> None:
        """Run the drain recorded in ``entry`` from its phase to the end.

        Each phase can run again after a kill: the configuration written
        is the host's, the apply converges, the restart and the wait are
        repeated. A resumed drain whose apply did not complete drains
        again before it applies again.
        """
        draining = list(entry.gpus)
        if resumed and entry.phase == drain_journal.RESTORE and \
                not entry.applied:
            entry = dataclasses.replace(entry, phase=drain_journal.DRAIN)
        if entry.phase == drain_journal.DRAIN:
            report = self.report()
            config = self.config(report)
            _, names, _ = self._withheld(report, config, draining)
            hostname = config_hostname(self.conf, config)
            drained = drained_config(report, config, draining)
            self.write(drained, report)
            self.restart('drain', 'Nova is configured without %s; run the '
                         'same command again to finish'
                         % ', '.join(draining))
            self.wait('drain', drained, client,
                      'nova-compute runs without %s' % ', '.join(draining),
                      tolerate=lambda: self._leave_used(
                          client, names, hostname, outcomes))
            draining = [a for a in draining
                        if outcomes[a].status == WOULD_CHANGE]
            entry = self._save(entry, phase=drain_journal.APPLY,
                               gpus=tuple(draining))
        if entry.phase == drain_journal.APPLY:
            applied = True
            if draining:
                applied = self._apply(
                    schema.parse(entry.layout, drain_journal.path(
                        self.conf.host.state_dir) + ': layout'),
                    draining, outcomes)
            entry = self._save(entry, phase=drain_journal.RESTORE,
                               applied=applied)
        else:
            for gpu in draining:
                if outcomes[gpu].status == WOULD_CHANGE:
                    outcomes[gpu] = GpuOutcome(gpu, CHANGED, 'applied by an '
                                               'earlier run')
        report = self.report()
        full = self.config(report)
        self.write(full, report)
        self.restart('restore', 'the layout is applied and the full Nova '
                     'configuration written; nova-compute was not '
                     'restarted: run the same command again to finish')
        self.wait('restore', full, client, 'nova-compute was restarted with '
                  'the new configuration; Placement does not show it yet '
                  '("nova-mig verify")')
        if entry.applied:
            drain_journal.clear(self.conf.host.state_dir)

    def _leave_used(self, client: typing.Any, names: dict[str, str],
                    hostname: str, outcomes: dict[str, GpuOutcome]
                    ) -> set[str]:
        """Take GPUs whose withheld providers got allocations out.

        :returns: the withheld providers holding an allocation.
        """
        used = self.used_providers(client, set(names), hostname)
        for name in sorted(used):
            gpu = names[name]
            if outcomes[gpu].status == WOULD_CHANGE:
                outcomes[gpu] = GpuOutcome(
                    gpu, LEFT_ALONE, 'provider %s got an allocation while '
                    'draining' % name)
                LOG.warning('GPU %s left alone: provider %s got an '
                            'allocation while draining', gpu, name)
        return used

    def _apply(self, layout: spec.Layout, draining: list[str],
               outcomes: dict[str, GpuOutcome]) -> bool:
        """Apply ``layout`` (the drained GPUs' only).

        :returns: whether every GPU's apply completed and the checkpoint
            was written; when it was not, the GPUs are reported failed
            with the reason.
        """
        result = layout_apply.apply(self.backend, self.conf, layout,
                                    include_foreign=self.include_foreign,
                                    skip_handle_check=self.skip_handle_check)
        complete = True
        for found in result.gpus:
            if found.gpu not in draining:
                continue
            complete = complete and found.ok
            outcomes[found.gpu] = GpuOutcome(
                found.gpu, CHANGED if found.ok else FAILED,
                found.detail or outcomes[found.gpu].detail)
        self.steps.append('apply: %s' % ', '.join(draining))
        if result.checkpoint_error is None:
            return complete
        for gpu in draining:
            outcomes[gpu] = GpuOutcome(gpu, FAILED, result.checkpoint_error)
        self.steps.append('apply: %s' % result.checkpoint_error)
        return False

    def _result(self, outcomes: dict[str, GpuOutcome],
                dry_run: bool) -> DrainResult:
        return DrainResult([outcomes[a] for a in sorted(outcomes)],
                           list(self.steps), dry_run)
