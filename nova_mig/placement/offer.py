"""What the host offers Placement: one GPU provider per configured parent.

Nova's libvirt driver creates one child resource provider per vGPU parent
device it is configured for, named ``<hypervisor hostname>_pci_<address>``
(the libvirt node device name of the parent), with an inventory of the
parent's resource class: the vGPUs it already carries plus those it can
still create. :func:`expected_providers` derives the same from a
:class:`~nova_mig.host.discovery.HostReport`, with the traits nova-mig adds.
"""

import collections
import dataclasses

from oslo_config import cfg

from nova_mig.host import discovery
from nova_mig.host import sysfs
from nova_mig import naming
from nova_mig import vgpu_types


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


def provider_name(hostname: str, address: str) -> str:
    """``compute1_pci_0000_41_00_4`` for VF 0000:41:00.4 of compute1."""
    return '%s_pci_%s' % (hostname,
                          address.replace(':', '_').replace('.', '_'))


def traits_for(conf: cfg.ConfigOpts, report: discovery.HostReport,
               pf_address: str, type_name: str) -> frozenset[str]:
    """MIG profile, GPU model, compute capability and device mode traits."""
    traits = {naming.device_mode_trait(conf, report.device_mode)}
    gpu = report.gpu_by_address(pf_address)
    if gpu is not None:
        traits.add(naming.model_trait(conf, gpu.name))
        traits.add(naming.compute_capability_trait(
            conf, *gpu.compute_capability))
    profile = report.profile_of_type(type_name, gpu)
    if profile:
        traits.add(naming.profile_trait(conf, profile))
    return frozenset(traits)


def assignments(report: discovery.HostReport) -> dict[str, tuple[str, int]]:
    """Parent address -> (type name, total) as nova-mig configures Nova.

    A parent carrying vGPUs keeps their type; its total is those vGPUs
    plus what it can still create of that type. A free MIG-mode VF is
    paired, in address order, with a free GPU instance of its GPU and
    offered the MIG-backed type of that instance's profile.
    """
    names = report.type_names()
    devices = collections.defaultdict(list)
    for dev in report.vgpu_devices():
        devices[dev['parent']].append(dev)
    free_profiles = _free_profiles(report)
    result = {}
    for parent in report.parents:
        if parent.mode == sysfs.MODE_VENDOR_VFIO:
            if parent.current_type:
                type_name = names.get(str(parent.current_type))
                if type_name:
                    result[parent.address] = (type_name, 1)
            continue
        carried = devices.get(parent.address)
        if carried:
            type_name = carried[0]['type_name'] or carried[0]['type']
            avail = sum(t.available_instances for t in parent.types
                        if t.name == type_name)
            result[parent.address] = (type_name, len(carried) + avail)
            continue
        queue = free_profiles.get(parent.pf_address)
        gpu = report.gpu_by_address(parent.pf_address)
        while queue:
            profile = queue[0]
            match = [t for t in parent.types if t.available_instances and
                     report.profile_of_type(t.name, gpu) == profile]
            if match:
                queue.pop(0)
                result[parent.address] = (match[0].name, 1)
                break
            if not any(t.available_instances for t in parent.types):
                break
            queue.pop(0)
    return result


def _free_profiles(report: discovery.HostReport) -> dict[str, list[str]]:
    """PF address -> profiles of its GPU instances that carry no vGPU."""
    used = {(d['gpu'], d['gpu_instance_id']) for d in report.vgpu_devices()
            if d['gpu_instance_id'] is not None}
    result = {}
    for gpu in report.gpus:
        result[gpu.pci_address] = [
            gi.profile_name for gi in sorted(
                gpu.gpu_instances, key=lambda g: g.placement.start)
            if (gpu.pci_address, gi.id) not in used]
    return result


def expected_providers(conf: cfg.ConfigOpts, report: discovery.HostReport,
                       hostname: str | None = None
                       ) -> dict[str, ExpectedProvider]:
    """Provider name -> what Placement should show for it.

    :param hostname: the compute node name; defaults to
        :func:`hypervisor_hostname`.
    """
    hostname = hostname or hypervisor_hostname(conf, report)
    pf_of = {p.address: p.pf_address for p in report.parents}
    result = {}
    for address, (type_name, total) in sorted(assignments(report).items()):
        pf = pf_of.get(address, address)
        name = provider_name(hostname, address)
        result[name] = ExpectedProvider(
            name=name, address=address, pf_address=pf, type_name=type_name,
            resource_class=naming.resource_class_for_type(conf, type_name),
            total=total, traits=traits_for(conf, report, pf, type_name))
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
