# SPDX-License-Identifier: Apache-2.0

"""What the host offers Placement: one GPU provider per configured parent.

Nova's libvirt driver creates one child resource provider per vGPU parent
device it is configured for, named ``<hypervisor hostname>_pci_<address>``
(the libvirt node device name of the parent), with an inventory of the
parent's resource class: the vGPUs it already carries plus those it can
still create. In vendor-specific VFIO mode Nova's PCI-in-Placement makes one
provider per PF holding its VFs. :func:`providers` derives the same
from the Nova configuration plan, with the traits nova-mig adds.
"""

import collections
import dataclasses
import typing

from oslo_config import cfg

from nova_mig.model import constants
from nova_mig.novaconf import type_plan


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


class _Named(typing.Protocol):
    hostname: str


def hypervisor_hostname(conf: cfg.ConfigOpts, host: _Named) -> str:
    """``[nova]hypervisor_hostname``, ``[placement_sync]``'s, or the host's.

    :param host: a :class:`~nova_mig.model.host_records.HostReport` or a
        :class:`~nova_mig.novaconf.type_plan.NovaConfig`.
    """
    for group in ('nova', 'placement_sync'):
        try:
            value: str | None = conf[group].hypervisor_hostname
        except (cfg.NoSuchOptError, cfg.NoSuchGroupError, KeyError):
            continue
        if value:
            return value
    return host.hostname


def provider_name(hostname: str, address: str,
                  mode: str = constants.MODE_MDEV) -> str:
    """The name nova-compute gives the provider of a vGPU parent.

    mdev: the libvirt driver's ``compute1_pci_0000_41_00_4``. Vendor VFIO:
    Nova's PCI-in-Placement puts every VF under its PF's provider,
    ``compute1_0000:41:00.0`` (``address`` is then the PF's).
    """
    if mode == constants.MODE_VENDOR_VFIO:
        return constants.pci_provider_name(hostname, address)
    return constants.mdev_provider_name(hostname, address)


def provider_prefix(hostname: str, mode: str) -> str:
    """The start every GPU provider name of the host shares."""
    return provider_name(hostname, '', mode)


def providers(config: type_plan.NovaConfig, hostname: str
              ) -> dict[str, ExpectedProvider]:
    """Provider name -> what Placement should show for it.

    Which parent carries which type is decided once, by the Nova
    configuration plan (:func:`nova_mig.novaconf.type_plan.build`), so
    Placement is checked against exactly what nova-compute is told.

    :param config: the plan of the host.
    :param hostname: the compute node name; see
        :func:`hypervisor_hostname`.
    """
    result = {}
    if config.device_mode == constants.MODE_VENDOR_VFIO:
        by_pf = collections.defaultdict(list)
        for a in config.assignments:
            by_pf[a.gpu].append(a)
        for pf, assigned in sorted(by_pf.items()):
            first = assigned[0]
            name = provider_name(hostname, pf, constants.MODE_VENDOR_VFIO)
            result[name] = ExpectedProvider(
                name=name, address=pf, pf_address=pf,
                type_name=first.type_name,
                resource_class=first.resource_class,
                total=sum(a.capacity for a in assigned),
                traits=frozenset(first.traits))
        return result
    for a in sorted(config.assignments, key=lambda a: a.address):
        name = provider_name(hostname, a.address)
        total = a.capacity
        if a.type_id in config.max_instances:
            total = min(total, config.max_instances[a.type_id])
        result[name] = ExpectedProvider(
            name=name, address=a.address, pf_address=a.gpu,
            type_name=a.type_name, resource_class=a.resource_class,
            total=total, traits=frozenset(a.traits))
    return result


def custom_classes(providers: dict[str, ExpectedProvider]) -> set[str]:
    return {p.resource_class for p in providers.values()
            if p.resource_class.startswith('CUSTOM_')}


def custom_traits(providers: dict[str, ExpectedProvider]) -> set[str]:
    return {t for p in providers.values() for t in p.traits
            if t.startswith('CUSTOM_')}
