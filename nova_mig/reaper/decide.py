# SPDX-License-Identifier: Apache-2.0

"""Decide, from gathered facts alone, which vGPU devices may be removed.

Nothing here reads the host: :mod:`nova_mig.reaper.evidence` gathers the
evidence into :class:`DeviceFacts` and :func:`decide` applies the rules, so
every rule is tested on plain data. A device is removable only when every
check passes; a check whose evidence could not be gathered (``None``)
counts as failed.
"""

import dataclasses

KEEP = 'keep'
REMOVE = 'remove'

#: A decision as a table row: column -> text, or lines (``reasons``).
Row = dict[str, str | list[str]]


@dataclasses.dataclass(frozen=True)
class DeviceFacts:
    """The evidence about one vGPU device.

    ``None`` in a field means the evidence could not be gathered; the
    accompanying ``*_note`` says why.
    """

    #: mdev UUID, or the VF address of a vendor-VFIO vGPU.
    key: str
    kind: str
    parent: str
    type_id: str
    type_name: str | None = None
    iommu_group: int | None = None
    #: "name (state)" of every libvirt domain referencing the device.
    domains: tuple[str, ...] = ()
    #: PIDs holding the device's /dev/vfio node open; None = unknown.
    holders: tuple[int, ...] | None = ()
    holders_note: str = ''
    #: Placement consumers on the parent's provider that are no libvirt
    #: domain here (instances being built or migrated); None = unknown.
    inflight_consumers: tuple[str, ...] | None = ()
    placement_note: str = ''
    #: Seconds since the device was created; None = unknown.
    age: float | None = None
    age_source: str = ''
    #: Whether Nova's configuration still offers the type on the parent;
    #: None = unknown.
    type_enabled: bool | None = None
    type_note: str = ''
    owned: bool = False
    libvirt_node_device: str | None = None


@dataclasses.dataclass(frozen=True)
class Policy:
    """The operator's choices for one run."""

    grace_period: int = 600
    all_unassigned: bool = False
    include_foreign: bool = False
    skip_placement_check: bool = False
    #: ``--skip-handle-check``: open handles that cannot be read (not
    #: root, ``/proc`` hidden) do not keep a device.
    skip_handle_check: bool = False


@dataclasses.dataclass(frozen=True)
class Decision:
    """keep or remove, with every reason that led there."""

    facts: DeviceFacts
    decision: str
    reasons: tuple[str, ...]

    @property
    def remove(self) -> bool:
        return self.decision == REMOVE

    def as_row(self) -> Row:
        return {'device': self.facts.key, 'parent': self.facts.parent,
                'type': ('%s (%s)' % (self.facts.type_id,
                                      self.facts.type_name)
                         if self.facts.type_name else self.facts.type_id),
                'decision': self.decision, 'reasons': list(self.reasons)}


def _check_domains(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if f.domains:
        return False, 'used by domain %s' % ', '.join(f.domains)
    return True, 'no libvirt domain references it'


def _check_holders(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if f.holders is None:
        if p.skip_handle_check:
            return True, 'open handles not checked (--skip-handle-check): ' \
                '%s' % (f.holders_note or 'not readable')
        return False, ('open handles unknown: %s; nothing can be proved '
                       'free (--skip-handle-check overrides)'
                       % (f.holders_note or 'not checked'))
    if f.holders:
        return False, 'held open by pid %s' % ', '.join(
            str(pid) for pid in f.holders)
    return True, 'no process holds it open'


def _check_placement(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if f.inflight_consumers is None:
        if p.skip_placement_check:
            return True, f.placement_note or 'Placement check skipped'
        return False, ('Placement allocations unknown: %s; pass '
                       '--skip-placement-check to remove anyway'
                       % (f.placement_note or 'not checked'))
    if f.inflight_consumers:
        return False, ('parent %s has allocations of instances being built '
                       'or migrated: %s' % (f.parent, ', '.join(
                           f.inflight_consumers)))
    return True, 'no in-flight Placement allocation on its parent'


def _check_age(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if f.age is None:
        return False, 'age unknown'
    if f.age < p.grace_period:
        return False, ('younger than the grace period (%ds < %ds)'
                       % (f.age, p.grace_period))
    return True, 'older than the grace period (%ds >= %ds, %s)' % (
        f.age, p.grace_period, f.age_source or 'created')


def _check_type(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if p.all_unassigned:
        return True, 'unassigned (--all-unassigned)'
    if f.type_enabled is None:
        return False, 'enabled types unknown: %s' % (f.type_note or
                                                     'not checked')
    if f.type_enabled:
        return False, 'type %s still enabled in Nova%s' % (
            f.type_id, ' (%s)' % f.type_note if f.type_note else '')
    return True, 'type %s no longer enabled in Nova%s' % (
        f.type_id, ' (%s)' % f.type_note if f.type_note else '')


def _check_owner(f: DeviceFacts, p: Policy) -> tuple[bool, str]:
    if f.owned:
        return True, 'created by nova-mig'
    if p.include_foreign:
        return True, 'foreign device (--include-foreign)'
    return False, 'not created by nova-mig (foreign; see --include-foreign)'


#: Every check, in the order reasons are reported.
CHECKS = (_check_domains, _check_holders, _check_placement, _check_age,
          _check_type, _check_owner)


def decide_one(facts: DeviceFacts, policy: Policy) -> Decision:
    """keep or remove one device.

    A kept device lists only the checks that failed; a removed one lists
    every check, so the report shows why removal is safe.
    """
    results = [check(facts, policy) for check in CHECKS]
    failed = tuple(reason for ok, reason in results if not ok)
    if failed:
        return Decision(facts, KEEP, failed)
    return Decision(facts, REMOVE, tuple(reason for _, reason in results))


def decide(devices: list[DeviceFacts], policy: Policy) -> list[Decision]:
    """keep or remove every device, in parent then key order."""
    return [decide_one(f, policy)
            for f in sorted(devices, key=lambda f: (f.parent, f.key))]
