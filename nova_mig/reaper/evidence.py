# SPDX-License-Identifier: Apache-2.0

"""Gather the evidence the reaper decides on: guests, handles, allocations.

Sources: libvirt (every domain from ``listAllDomains(0)``: running, paused,
shut off and merely defined), ``/proc/*/fd`` (open ``/dev/vfio`` nodes),
Placement (allocations on this host's GPU providers by consumers libvirt
does not know: instances being built or migrated here), the ownership
record and sysfs (age) and Nova's configuration (enabled types).
"""

import dataclasses
import datetime
import logging
import os
import time
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.host import discovery
from nova_mig.host import inuse
from nova_mig.host import protocols
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig.novaconf import enabled_types
from nova_mig import ownership
from nova_mig.placement import shapes
from nova_mig.reaper import decide
from nova_mig import sysfs_gateway

if typing.TYPE_CHECKING:
    # keystoneauth is imported only when Placement is configured.
    from nova_mig.placement import api_client

LOG = logging.getLogger(__name__)

#: Placement microversion of GET /resource_providers/{uuid}/allocations.
MV_ALLOCATIONS = '1.0'

#: Parent PCI address -> consumers of its provider libvirt does not know.
Inflight = dict[str, tuple[str, ...]]
#: ``/dev/vfio`` node -> PIDs holding it open.
Holders = dict[str, set[int]]


class AllocationReader(typing.Protocol):
    """The two Placement reads of the allocation check.

    :class:`nova_mig.placement.api_client.PlacementClient` is one.
    """

    def providers(self, name: str | None = None, in_tree: str | None = None
                  ) -> list[shapes.JsonObject]:
        ...

    def request(self, method: str, path: str, microversion: str
                ) -> tuple[int, shapes.JsonObject | None]:
        ...


@dataclasses.dataclass
class HostFacts:
    """Everything gathered about the host for one run."""

    report: host_records.HostReport
    devices: list[decide.DeviceFacts]
    notes: list[str]


# -- open /dev/vfio handles and domains: the shared in-use check ------------
open_device_nodes = inuse.open_device_nodes
domains_referencing = inuse.domains_referencing


def vfio_nodes(conf: cfg.ConfigOpts, sysfs_root: str, kind: str, key: str,
               iommu_group: int | None) -> list[str]:
    """The /dev/vfio nodes of a device, under ``[reaper]dev_root``."""
    return inuse.vfio_nodes(conf.reaper.dev_root, sysfs_root, kind, key,
                            iommu_group)


# -- Placement ------------------------------------------------------------
def inflight_consumers(client: AllocationReader, hostname: str,
                       domain_uuids: set[str]) -> Inflight:
    """Consumers on this host's GPU providers that libvirt does not know.

    Nova's consumer of an instance's allocation is the instance UUID, which
    is its libvirt domain UUID. A consumer with no domain here is an
    instance being built on, or migrated to or from, this host (a migration
    record holds the source side).

    :param client: an :class:`AllocationReader` (a
        :class:`nova_mig.placement.api_client.PlacementClient`).
    :param hostname: the compute node provider's name.
    :returns: parent PCI address -> consumer UUIDs, for every GPU provider
        of the compute node (providers named ``<hostname>_pci_<address>``).
    :raises: :class:`nova_mig.exception.PlacementProviderNotFound` and the
        client's errors.
    """
    roots = client.providers(name=hostname)
    if not roots:
        raise exception.PlacementProviderNotFound(name=hostname)
    known = {u.lower() for u in domain_uuids}
    result: Inflight = {}
    for rp in client.providers(in_tree=roots[0]['uuid']):
        address = constants.provider_address(hostname, rp['name'])
        if address is None:
            continue
        body = client.request(
            'GET', '/resource_providers/%s/allocations' % rp['uuid'],
            MV_ALLOCATIONS)[1] or {}
        consumers = sorted(c for c in body.get('allocations', {})
                           if c.lower() not in known)
        result[address] = tuple(consumers)
    return result


def placement_client(conf: cfg.ConfigOpts
                     ) -> 'api_client.PlacementClient | None':
    """The Placement client of ``[placement]``, None when unconfigured."""
    import nova_mig.conf.placement
    if not nova_mig.conf.placement.configured(conf):
        return None
    from nova_mig.placement import api_client
    return api_client.PlacementClient.from_conf(conf)


# -- age --------------------------------------------------------------------
def _parse_time(value: str | None) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def device_age(record: ownership.OwnershipRecord, sysfs_root: str,
               kind: str, key: str, now: float
               ) -> tuple[float | None, str]:
    """Seconds since the device was created, and where that came from."""
    entry = record.get(key) or {}
    created = _parse_time(entry.get('created_at'))
    if created is not None:
        return max(now - created, 0.0), 'ownership record'
    paths = sysfs_gateway.Sysfs(sysfs_root)
    if kind == constants.MODE_MDEV:
        path = paths.mdev(key)
    else:
        path = paths.pci(key, sysfs_gateway.VENDOR_DIR,
                         sysfs_gateway.CURRENT_TYPE)
    try:
        return max(now - os.stat(path).st_ctime, 0.0), 'sysfs ctime'
    except OSError as e:
        LOG.debug('Cannot stat %s: %s', path, e)
        return None, ''


# -- gathering ----------------------------------------------------------------
class Gatherer:
    """Gathers :class:`HostFacts` for a backend.

    :param conf: the ConfigOpts.
    :param backend: the GPU backend (sysfs root, libvirt URI).
    :param placement: a Placement client, None to build one from
        ``[placement]``, or False to skip the check.
    :param clock: returns the current time (seconds since the epoch).
    """

    def __init__(self, conf: cfg.ConfigOpts, backend: protocols.Backend,
                 placement: AllocationReader | typing.Literal[False] | None
                 = None,
                 clock: typing.Callable[[], float] = time.time):
        self.conf = conf
        self.backend = backend
        self.placement = placement
        self.clock = clock
        self.checker = inuse.Checker(backend, conf.reaper.proc_root,
                                     conf.reaper.dev_root)

    def _placement(self, report: host_records.HostReport
                   ) -> tuple[Inflight | None, str]:
        if self.placement is False:
            return None, 'Placement check skipped (--skip-placement-check)'
        try:
            client = self.placement or placement_client(self.conf)
            if client is None:
                return None, ('Placement not configured ([placement] '
                              'has no auth_type, auth_section or '
                              'endpoint_override)')
            from nova_mig.placement import host_offer
            hostname = host_offer.hypervisor_hostname(self.conf, report)
            result = inflight_consumers(
                client, hostname, {d.uuid for d in report.domains})
        except exception.NovaMigException as e:
            return None, 'Placement check failed: %s' % e
        return result, ''

    def _holders(self) -> tuple[Holders | None, str]:
        return self.checker.handles()

    def gather(self) -> HostFacts:
        """Read every source once and build the facts of every device.

        :raises: :class:`nova_mig.exception.LibvirtError` and the other
            discovery errors: without libvirt nothing can be decided.
        """
        report = discovery.discover(self.backend)
        notes: list[str] = []
        root = self.backend.sysfs_root()
        record = ownership.OwnershipRecord(self.conf.host.state_dir)
        # Intents of a run that died, vendor-VFIO vGPUs recreated by
        # another tool: settled in memory (layout apply saves them).
        record.reconcile(ownership.present(report), write=False)
        enabled = enabled_types.read_enabled(enabled_types.config_files(
            self.conf))
        if enabled.files_read:
            notes.append('Nova configuration read from %s'
                         % ', '.join(enabled.files_read))
        else:
            notes.append('no Nova configuration file could be read: '
                         'enabled types unknown')
        holders, holders_note = self._holders()
        inflight, placement_note = self._placement(report)
        for note in (holders_note, placement_note):
            if note:
                notes.append(note)
        now = self.clock()
        devices = []
        for dev in report.vgpu_devices():
            devices.append(self.device_facts(
                report, dev, root, record, enabled, holders, holders_note,
                inflight, placement_note, now))
        return HostFacts(report=report, devices=devices, notes=notes)

    def device_facts(self, report: host_records.HostReport,
                     dev: host_records.VgpuDevice, root: str,
                     record: ownership.OwnershipRecord,
                     enabled: enabled_types.EnabledTypes,
                     holders: Holders | None, holders_note: str,
                     inflight: Inflight | None, placement_note: str,
                     now: float) -> decide.DeviceFacts:
        kind = (constants.MODE_MDEV if dev['uuid']
                else constants.MODE_VENDOR_VFIO)
        key = dev['uuid'] or dev['parent']
        group = None
        if kind == constants.MODE_MDEV:
            for mdev in report.mdevs:
                if mdev.uuid == key:
                    group = mdev.iommu_group
        by_name = {d.name: d for d in report.domains}
        domains = tuple(inuse.label(by_name[name]) for name in dev['domains'])
        pids = None
        if holders is not None:
            found: set[int] = set()
            for node in vfio_nodes(self.conf, root, kind, key, group):
                found |= holders.get(node, set())
            pids = tuple(sorted(found))
        consumers = None
        if inflight is not None:
            # mdev: the parent's provider; vendor VFIO: the PF's.
            consumers = inflight.get(dev['parent'],
                                     inflight.get(dev['gpu'], ()))
        age, source = device_age(record, root, kind, key, now)
        type_enabled, type_note = enabled.enabled(kind, dev['type'],
                                                  dev['parent'])
        return decide.DeviceFacts(
            key=key, kind=kind, parent=dev['parent'], type_id=dev['type'],
            type_name=dev['type_name'], iommu_group=group, domains=domains,
            holders=pids, holders_note=holders_note,
            inflight_consumers=consumers, placement_note=placement_note,
            age=age, age_source=source, type_enabled=type_enabled,
            type_note=type_note, owned=record.owns(key),
            libvirt_node_device=dev['libvirt_node_device'])

    def recheck(self, facts: decide.DeviceFacts) -> decide.DeviceFacts:
        """The one in-use verdict again for one device, fresh.

        Called right before a removal (the process table, then libvirt,
        then the write), so a guest defined or started since the run began
        keeps its device: :meth:`nova_mig.host.inuse.Checker.check`, as
        every destructive path of nova-mig asks it.

        :raises: :class:`nova_mig.exception.LibvirtError`.
        """
        verdict = self.checker.check(inuse.device_target(
            facts.kind, facts.key, facts.iommu_group))
        return dataclasses.replace(facts, domains=verdict.domains,
                                   holders=verdict.pids,
                                   holders_note=verdict.note)

    def referencing_now(self, facts: decide.DeviceFacts) -> tuple[str, ...]:
        """Domains referencing a device just removed (the look after)."""
        return self.checker.referencing_now(inuse.device_target(
            facts.kind, facts.key, facts.iommu_group))
