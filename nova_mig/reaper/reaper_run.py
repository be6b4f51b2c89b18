# SPDX-License-Identifier: Apache-2.0

"""One reaper run: gather, decide, finish journaled work, remove.

:func:`reap` is what ``nova-mig reap`` and ``retype`` call. With
``apply`` false it only decides. With ``apply`` true the caller holds the
host lock; intents left by a run that died are finished first (completed if
the device is still safe to remove, else marked abandoned), then every
device decided ``remove`` is checked again against libvirt and the open
handles (:class:`nova_mig.host.inuse.Checker`, shared with ``layout
apply``), journaled, removed and journaled again.  A device used since the
run began is left alone with the result ``in use``, which makes the run
end non-zero, so that the next run (``reap --queued`` keeps its queue)
decides it again.
"""

import dataclasses
import logging
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.host import protocols
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig import ownership
from nova_mig.reaper import decide
from nova_mig.reaper import evidence
from nova_mig.reaper import reap_journal
from nova_mig.reaper import removal

LOG = logging.getLogger(__name__)

WOULD_REMOVE = 'would remove'
REMOVED = 'removed'
KEPT = 'kept'
FAILED = 'failed'
NOT_RUN = 'not run'
#: Decided removable, then found used right before the removal.
IN_USE = 'in use'
#: Removed, and a domain defined meanwhile references it (with the fix).
REFERENCED = 'removed, but referenced'


@dataclasses.dataclass
class Outcome:
    decision: decide.Decision
    result: str
    detail: str = ''

    def as_row(self) -> decide.Row:
        row = self.decision.as_row()
        row['result'] = (self.result + (': ' + self.detail
                                        if self.detail else ''))
        return row


@dataclasses.dataclass
class RunResult:
    outcomes: list[Outcome]
    notes: list[str]
    applied: bool
    recovered: list[str] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.result in (FAILED, IN_USE, REFERENCED)
                   for o in self.outcomes)

    def removed(self) -> list[str]:
        return [o.decision.facts.key for o in self.outcomes
                if o.result == REMOVED]


class FactSource(typing.Protocol):
    """What a run reads: a :class:`~nova_mig.reaper.evidence.Gatherer`."""

    def gather(self) -> evidence.HostFacts:
        ...

    def recheck(self, facts: decide.DeviceFacts) -> decide.DeviceFacts:
        ...

    def referencing_now(self, facts: decide.DeviceFacts
                        ) -> tuple[str, ...]:
        ...


class DeviceRemover(typing.Protocol):
    """What a run removes with: :class:`nova_mig.reaper.removal.Remover`."""

    def remove(self, facts: decide.DeviceFacts) -> list[str]:
        ...

    def undefine(self, uuid: str, parent: str,
                 name: str | None = None) -> list[str]:
        ...


#: Called with the host report before a run changes anything; raises to
#: refuse.
Guard = typing.Callable[[host_records.HostReport], None]


class Reaper:
    """Decides and, when asked, removes the orphan vGPU devices of a host.

    :param conf: the ConfigOpts.
    :param backend: the GPU backend (any
        :class:`nova_mig.host.protocols.Backend`).
    :param policy: the operator's :class:`~nova_mig.reaper.decide.Policy`.
    :param gatherer: a :class:`~nova_mig.reaper.evidence.Gatherer` (tests
        pass one with fakes).
    :param remover: a :class:`~nova_mig.reaper.removal.Remover`.
    """

    def __init__(self, conf: cfg.ConfigOpts, backend: protocols.Backend,
                 policy: decide.Policy, gatherer: FactSource | None = None,
                 remover: DeviceRemover | None = None,
                 only: set[str] | None = None):
        self.conf = conf
        self.backend = backend
        self.policy = policy
        self.gatherer: FactSource = gatherer or evidence.Gatherer(
            conf, backend,
            placement=False if policy.skip_placement_check else None)
        self.remover: DeviceRemover = (
            remover or removal.Remover(conf, backend))
        self.journal = reap_journal.Journal(conf.host.state_dir)
        self.only = only

    def run(self, apply: bool = False, guard: Guard | None = None
            ) -> RunResult:
        """Decide every device and remove the removable ones if ``apply``.

        :param guard: called with the host report before anything is
            changed; it raises to refuse (the nova-compute service check).
        :raises: :class:`nova_mig.exception.LibvirtError` (and the other
            discovery errors) before anything was removed.
        """
        host = self.gatherer.gather()
        devices = host.devices
        if self.only is not None:
            devices = [d for d in devices if d.key in self.only]
        decisions = decide.decide(devices, self.policy)
        notes = list(host.notes)
        pending = self.journal.pending()
        if pending and not apply:
            notes.append('%d removal(s) interrupted earlier; "reap --apply" '
                         'finishes them: %s' % (len(pending), ', '.join(
                             p['device'] for p in pending)))
        if not apply:
            return RunResult(
                [Outcome(d, WOULD_REMOVE if d.remove else KEPT)
                 for d in decisions], notes, applied=False)
        if guard is not None:
            guard(host.report)
        self.journal.compact()
        recovered = self._recover(pending, decisions)
        outcomes: list[Outcome] = []
        aborted = None
        for d in decisions:
            if not d.remove:
                outcomes.append(Outcome(d, KEPT))
                continue
            if aborted is not None:
                outcomes.append(Outcome(d, NOT_RUN, aborted))
                continue
            try:
                outcomes.append(self._remove(d, recovered.get(d.facts.key)))
            except exception.LibvirtError as e:
                # Without libvirt no device can be proven unused any more.
                aborted = 'libvirt unreachable: %s' % e
                outcomes.append(Outcome(d, NOT_RUN, aborted))
        if aborted:
            notes.append('stopped removing: %s' % aborted)
        return RunResult(outcomes, notes, applied=True,
                         recovered=sorted(recovered))

    # -- journal recovery -------------------------------------------------
    def _recover(self, pending: list[reap_journal.Intent],
                 decisions: list[decide.Decision]) -> dict[str, str]:
        """Settle interrupted intents; return device -> intent id to resume.

        A device still present and still removable is removed again under
        its old intent. One that is gone had its sysfs removal done: only
        its definition is cleaned up. One no longer removable is abandoned.
        """
        by_key = {d.facts.key: d for d in decisions}
        resume: dict[str, str] = {}
        for entry in pending:
            key = entry['device']
            decision = by_key.get(key)
            if decision is None:
                # Gone: only the definition is left to clean up, whatever
                # the run is restricted to (retype's reap step lists the
                # devices present, and this one no longer is).
                try:
                    steps = ([] if entry.get('kind') ==
                             constants.MODE_VENDOR_VFIO else
                             self.remover.undefine(key, entry['parent']))
                except exception.NovaMigException as e:
                    LOG.warning('Cannot finish the removal of %s: %s',
                                key, e)
                    continue
                ownership.OwnershipRecord(
                    self.conf.host.state_dir).discard(key)
                self.journal.done(entry['id'], key,
                                  ['recovered: device already gone'] + steps)
                LOG.info('Finished the interrupted removal of %s', key)
            elif decision.remove:
                resume[key] = entry['id']
            else:
                self.journal.abandoned(
                    entry['id'], key, 'no longer safe to remove: %s'
                    % '; '.join(decision.reasons))
                LOG.warning('Abandoned the interrupted removal of %s: %s',
                            key, '; '.join(decision.reasons))
        return resume

    # -- one removal ----------------------------------------------------------
    def _remove(self, decision: decide.Decision,
                op_id: str | None) -> Outcome:
        # The intent is journaled (an fsync) before the last check, so
        # that nothing but the check stands between it and the write.
        f = decision.facts
        op_id = self.journal.intent(f.key, f.kind, f.parent, f.type_id,
                                    list(decision.reasons), op_id=op_id)
        try:
            fresh = decide.decide_one(self.gatherer.recheck(f), self.policy)
        except exception.LibvirtError as e:
            self.journal.abandoned(op_id, f.key, 'libvirt unreachable: %s'
                                   % e)
            raise
        if not fresh.remove:
            self.journal.abandoned(op_id, fresh.facts.key,
                                   '; '.join(fresh.reasons))
            return Outcome(fresh, IN_USE, 'in use since the run began: %s'
                           % '; '.join(fresh.reasons))
        f = fresh.facts
        try:
            steps = self.remover.remove(f)
        except exception.LibvirtError:
            # The intent stays open: the next run finishes the undefine.
            raise
        except exception.NovaMigException as e:
            self.journal.failed(op_id, f.key, str(e), [])
            LOG.error('Removing %s failed: %s', f.key, e)
            return Outcome(fresh, FAILED, str(e))
        ownership.OwnershipRecord(self.conf.host.state_dir).discard(f.key)
        self.journal.done(op_id, f.key, steps)
        LOG.info('Removed %s (%s on %s): %s', f.key, f.type_id, f.parent,
                 ', '.join(steps))
        lost = self.gatherer.referencing_now(f)
        if lost:
            return Outcome(fresh, REFERENCED, lost_line(f, lost))
        return Outcome(fresh, REMOVED, ', '.join(steps))


def lost_line(f: decide.DeviceFacts, domains: tuple[str, ...]) -> str:
    """Domains defined between the last check and the removal, the fix."""
    if f.kind == constants.MODE_VENDOR_VFIO:
        fix = ('set its vGPU type again before the guest starts (echo %s > '
               '/sys/bus/pci/devices/%s/nvidia/current_vgpu_type)'
               % (f.type_id, f.key))
    else:
        fix = ('re-create it before the guest starts (mdevctl start -u %s '
               '-p %s -t %s)' % (f.key, f.parent, f.type_id))
    LOG.error('Domain %s references %s, removed right after its last '
              'check', ', '.join(domains), f.key)
    return ('domain %s references it, defined between the last check and '
            'the removal: %s, or remove the device from the guest (virsh '
            'edit %s)' % (', '.join(domains), fix,
                          domains[0].split(' (')[0]))


def policy_from(conf: cfg.ConfigOpts, **kwargs: bool) -> decide.Policy:
    """A policy with ``[reaper]grace_period`` and the flags given."""
    return decide.Policy(grace_period=conf.reaper.grace_period, **kwargs)
