"""What the host offers Placement: one GPU provider per configured parent.

Nova's libvirt driver creates one child resource provider per vGPU parent
device it is configured for, named ``<hypervisor hostname>_pci_<address>``
(the libvirt node device name of the parent), with an inventory of the
parent's resource class: the vGPUs it already carries plus those it can
still create. In vendor-specific VFIO mode Nova's PCI-in-Placement makes one
provider per PF holding its VFs. :func:`expected_providers` derives the same
from the Nova configuration plan, with the traits nova-mig adds.
"""

import collections
import dataclasses

from oslo_config import cfg

from nova_mig.host import discovery
from nova_mig.host import sysfs
from nova_mig.model import vgpu_types
from nova_mig.novaconf import plan
from nova_mig.novaconf import render


@dataclasses.dataclass(frozen=True)
class ExpectedProvider:
    """A GPU resource provider as the host's configuration makes it."""

    name: str
    address: str                # the vGPU parent (VF or PF)
    pf_address: str
    type_name: str              # "NVIDIA A100D-1-10C"
    resource_class: str
    total: int
    traits: frozenset[str]


def hypervisor_hostname(conf: cfg.ConfigOpts,
                        report: discovery.HostReport) -> str:
    """``[nova]hypervisor_hostname``, ``[placement_sync]``'s, or the host's."""
    for group in ('nova', 'placement_sync'):
        try:
            value = conf[group].hypervisor_hostname
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError, KeyError):
            continue
        if value:
            return value
    return report.hostname


def provider_name(hostname: str, address: str,
                  mode: str = sysfs.MODE_MDEV) -> str:
    """The name nova-compute gives the provider of a vGPU parent.

    mdev: the libvirt driver's ``compute1_pci_0000_41_00_4``. Vendor VFIO:
    Nova's PCI-in-Placement puts every VF under its PF's provider,
    ``compute1_0000:41:00.0`` (``address`` is then the PF's).
    """
    if mode == sysfs.MODE_VENDOR_VFIO:
        return '%s_%s' % (hostname, address.upper())
    return render.provider_name(hostname, address)


def provider_prefix(hostname: str, mode: str) -> str:
    """The start every GPU provider name of the host shares."""
    if mode == sysfs.MODE_VENDOR_VFIO:
        return hostname + '_'
    return render.provider_name(hostname, '')


def _mdev_total(report: discovery.HostReport, address: str,
                type_id: str, caps: dict[str, int]) -> int:
    """vGPUs of the type the parent carries plus those it can still make.

    Nova's inventory for a parent is its ``available_instances`` plus the
    mdevs already created, bounded by the type's ``max_instances``.
    """
    carried = sum(1 for m in report.mdevs
                  if m.parent == address and m.type_id == type_id)
    avail = sum(t.available_instances for p in report.parents
                if p.address == address for t in p.types if t.id == type_id)
    total = carried + avail
    if type_id in caps:
        total = min(total, caps[type_id])
    return total


def expected_providers(conf: cfg.ConfigOpts, report: discovery.HostReport,
                       hostname: str | None = None
                       ) -> dict[str, ExpectedProvider]:
    """Provider name -> what Placement should show for it.

    Which parent carries which type is decided once, by the Nova
    configuration plan (:func:`nova_mig.novaconf.plan.build`), so
    Placement is checked against exactly what nova-compute is told.

    :param hostname: the compute node name; defaults to
        :func:`hypervisor_hostname`.
    """
    hostname = hostname or hypervisor_hostname(conf, report)
    config = plan.build(conf, report)
    result = {}
    if report.device_mode == sysfs.MODE_VENDOR_VFIO:
        by_pf = collections.defaultdict(list)
        for a in config.assignments:
            by_pf[a.gpu].append(a)
        for pf, assigned in sorted(by_pf.items()):
            first = assigned[0]
            name = provider_name(hostname, pf, sysfs.MODE_VENDOR_VFIO)
            result[name] = ExpectedProvider(
                name=name, address=pf, pf_address=pf,
                type_name=first.type_name,
                resource_class=first.resource_class, total=len(assigned),
                traits=frozenset(first.traits))
        return result
    for a in sorted(config.assignments, key=lambda a: a.address):
        name = provider_name(hostname, a.address)
        result[name] = ExpectedProvider(
            name=name, address=a.address, pf_address=a.gpu,
            type_name=a.type_name, resource_class=a.resource_class,
            total=_mdev_total(report, a.address, a.type_id,
                              config.max_instances),
            traits=frozenset(a.traits))
    return result


def custom_classes(providers: dict[str, ExpectedProvider]) -> set[str]:
    return {p.resource_class for p in providers.values()
            if p.resource_class.startswith('CUSTOM_')}


def custom_traits(providers: dict[str, ExpectedProvider]) -> set[str]:
    return {t for p in providers.values() for t in p.traits
            if t.startswith('CUSTOM_')}


def is_mig_backed(type_name: str) -> bool:
    parsed = vgpu_types.parse(type_name)
    return bool(parsed and parsed.mig_backed)
