# SPDX-License-Identifier: Apache-2.0

"""PCI addresses, SR-IOV VF layout and identifiers of the simulated host."""

import uuid

from nova_mig.model import constants

#: Routing function of the first VF and distance between VFs, as on
#: NVIDIA data-centre GPUs (PF 0000:41:00.0 -> VFs 0000:41:00.4, .5 ...).
VF_OFFSET = 4
VF_STRIDE = 1

#: IOMMU groups: the PF of GPU n is in FIRST_PF_GROUP + n * GROUPS_PER_GPU,
#: its VF i in the next groups; mdevs get groups from FIRST_MDEV_GROUP on.
FIRST_PF_GROUP = 20
GROUPS_PER_GPU = 40
FIRST_MDEV_GROUP = 1000

#: Namespace of the deterministic UUIDs the simulator invents.
UUID_NAMESPACE = uuid.UUID('8f1c5e2a-6b0d-4d7e-9a51-3c2b7e4f1d90')


def split(address: str) -> tuple[int, int, int, int]:
    """``0000:41:00.4`` -> ``(0, 0x41, 0, 4)``."""
    match = constants.PCI_ADDRESS_RE.match(address)
    if not match:
        raise ValueError('not a PCI address: %r' % address)
    return (int(match['domain'], 16), int(match['bus'], 16),
            int(match['slot'], 16), int(match['function']))


def join(domain: int, bus: int, slot: int, function: int) -> str:
    return '%04x:%02x:%02x.%d' % (domain, bus, slot, function)


def vf_address(pf_address: str, vf_index: int) -> str:
    """Address of VF ``vf_index`` (0-based) of the PF at ``pf_address``."""
    domain, bus, slot, function = split(pf_address)
    devfn = (slot << 3 | function) + VF_OFFSET + vf_index * VF_STRIDE
    if bus + (devfn >> 8) > 0xff:
        raise ValueError('VF %d of %s would lie past bus ff'
                         % (vf_index, pf_address))
    return join(domain, bus + (devfn >> 8), (devfn >> 3) & 0x1f, devfn & 7)


def device_dir(address: str) -> str:
    """Directory of a PCI device below ``sys/``, relative.

    The root port is made up from the bus: bus 0x41 hangs below the root
    complex ``pci0000:40`` through bridge ``0000:40:01.1``.
    """
    domain, bus, _slot, _function = split(address)
    root_bus = bus & 0xf0
    return 'devices/pci%04x:%02x/%04x:%02x:01.1/%s' % (
        domain, root_bus, domain, root_bus, address)


def pf_iommu_group(gpu_index: int) -> int:
    return FIRST_PF_GROUP + gpu_index * GROUPS_PER_GPU


def vf_iommu_group(gpu_index: int, vf_index: int) -> int:
    return pf_iommu_group(gpu_index) + 1 + vf_index


def gpu_uuid(hostname: str, address: str) -> str:
    """NVML-style GPU UUID, stable for a host name and PCI address."""
    value = uuid.uuid5(UUID_NAMESPACE, '%s/%s' % (hostname, address))
    return 'GPU-%s' % value


def domain_uuid(hostname: str, name: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, '%s/domain/%s' % (hostname, name)))


def libvirt_mdev_name(mdev_uuid: str, parent: str, form: str) -> str:
    """libvirt node-device name of an mdev in the given form.

    :param form: ``uuid`` (``mdev_<uuid_>``) or ``uuid_parent``
        (``mdev_<uuid_>_<parent_>``, libvirt >= 7.7).
    """
    return constants.libvirt_mdev_name(
        mdev_uuid, parent if form == 'uuid_parent' else None)
