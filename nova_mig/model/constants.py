# SPDX-License-Identifier: Apache-2.0

"""Constants and name patterns shared by every layer: one definition each.

Device modes, the MIG profile name, PCI addresses and UUIDs as sysfs
spells them, and the names Nova and libvirt give GPU devices and their
resource providers.
"""

import re

from nova_mig import sysfs_gateway

#: How a host exposes vGPUs: the mdev bus ...
MODE_MDEV = 'mdev'
#: ... or NVIDIA's vendor-specific VFIO (``nvidia/current_vgpu_type``).
MODE_VENDOR_VFIO = 'vendor-vfio'
#: Neither: no vGPU manager, or no SR-IOV VF yet.
MODE_NONE = 'none'
#: A layout leaves the choice to what the host offers.
MODE_AUTO = 'auto'
#: The modes a host can be in when it offers vGPUs.
DEVICE_MODES = (MODE_MDEV, MODE_VENDOR_VFIO)

#: Input limits, checked before anything is built from a count: what the
#: largest card can hold. No MIG-capable GPU has more than 7 compute slices
#: (so 7 GPU instances) or 8 memory slices (placements 0-7) ...
MAX_GPU_INSTANCES = 7
MAX_PLACEMENT = 7
#: vGPUs one GPU instance holds at most (time-sliced MIG-backed types
#: hold 1 to 3 on an RTX PRO 6000); the driver's own maximum is checked too.
MAX_VGPUS_PER_GPU_INSTANCE = 8

#: Traits Nova puts on the providers of the PCI devices it reports in
#: Placement (vendor-specific VFIO vGPUs), and on those whose device spec
#: says ``live_migratable``: the spec tag is read from Nova 2025.1
#: (31.0.0), the trait reported only from 2026.2 (34.0.0).
PCI_PROVIDER_TRAIT = 'COMPUTE_MANAGED_PCI_DEVICE'
PCI_LIVE_MIGRATABLE_TRAIT = 'HW_PCI_LIVE_MIGRATABLE'
#: ... nor offers more than 256 SR-IOV VFs (one PCI bus of functions), nor
#: more than 64 time-sliced vGPUs.
MAX_SRIOV_VFS = 256
MAX_TIME_SLICED_VGPUS = 64

#: The resource class Nova's libvirt driver uses for vGPUs by default.
VGPU = 'VGPU'

#: Suffix of a MIG-backed vGPU type name -> suffix of the MIG profile name.
#: NVIDIA's type names spell ``+me`` as ``ME``, ``-me`` as ``NOME``.
MIG_SUFFIXES = {
    '': '',
    'ME': '+me',          # one media extension (NVDEC/NVJPG/OFA)
    'MEALL': '+me.all',   # all media extensions
    'NOME': '-me',        # no media extension
    'GFX': '+gfx',        # graphics-capable slice
}

#: A MIG GPU-instance profile name: ``1g.10gb``, ``1g.10gb+me``.
PROFILE_RE = re.compile(
    r'^(?P<slices>[1-9])g\.(?P<gb>[1-9][0-9]*)gb'
    r'(?P<suffix>' + '|'.join(re.escape(s) for s in sorted(
        (s for s in MIG_SUFFIXES.values() if s), key=len, reverse=True))
    + r')?$')

#: A PCI address as sysfs spells it, ``DDDD:BB:SS.F`` in lower-case hex
#: (the sysfs gateway's pattern). Unanchored and without groups, to build
#: longer patterns from.
_PCI_PARTS = sysfs_gateway.PCI_PARTS
PCI_ADDRESS = sysfs_gateway.PCI_ADDRESS
#: The same, anchored, with groups ``domain``, ``bus``, ``slot``,
#: ``function``.
PCI_ADDRESS_RE = re.compile(
    r'^(?P<domain>%s):(?P<bus>%s):(?P<slot>%s)\.(?P<function>%s)$'
    % _PCI_PARTS)
#: A UUID in canonical lower-case form. Unanchored, without groups.
UUID = sysfs_gateway.UUID
UUID_RE = re.compile('^%s$' % UUID)


def is_profile(name: str | None) -> bool:
    """True for a MIG profile name such as ``1g.10gb`` or ``1g.10gb+me``."""
    return bool(PROFILE_RE.match(name or ''))


def is_pci_address(text: object) -> bool:
    """True for a PCI address in sysfs form, ``0000:41:00.4``."""
    return isinstance(text, str) and bool(PCI_ADDRESS_RE.match(text))


def is_uuid(text: object) -> bool:
    """True for a canonical lower-case UUID."""
    return isinstance(text, str) and bool(UUID_RE.match(text))


def _underscored(address: str) -> str:
    return re.sub(r'[:.]', '_', address)


def libvirt_pci_name(address: str) -> str:
    """libvirt's node-device name of a PCI function: ``pci_0000_41_00_4``."""
    return 'pci_' + _underscored(address)


def libvirt_mdev_name(uuid: str, parent: str | None = None) -> str:
    """libvirt's node-device name of an mdev.

    ``mdev_<uuid_>``, or with ``parent`` the form of libvirt 7.7 and later,
    ``mdev_<uuid_>_<parent_>``.
    """
    name = 'mdev_' + uuid.replace('-', '_')
    return name + '_' + _underscored(parent) if parent else name


def mdev_provider_name(hostname: str, address: str) -> str:
    """Nova's provider of an mdev parent: ``cn1_pci_0000_41_00_4``.

    The libvirt driver names it after the parent's node device; an empty
    ``address`` gives the prefix every such provider of the host shares.
    """
    return '%s_%s' % (hostname, libvirt_pci_name(address))


def pci_provider_name(hostname: str, pf_address: str) -> str:
    """Nova's PCI-in-Placement provider of a PF: ``cn1_0000:41:00.0``.

    Every VF of the PF is counted there (vendor-specific VFIO).
    """
    return '%s_%s' % (hostname, pf_address.upper())


def provider_address(hostname: str, name: str) -> str | None:
    """The PCI address a GPU provider of ``hostname`` is named after.

    The reverse of :func:`mdev_provider_name` (``cn1_pci_0000_41_00_4`` ->
    ``0000:41:00.4``) and :func:`pci_provider_name` (``cn1_0000:41:00.0``,
    returned as spelt there); None for any other name.
    """
    if not name.startswith(hostname + '_'):
        return None
    rest = name[len(hostname) + 1:]
    if rest.startswith('pci_'):
        parts = rest[len('pci_'):].split('_')
        if len(parts) == 4:
            return '%s:%s:%s.%s' % tuple(parts)
        return None
    return rest if rest.count(':') == 2 and '.' in rest else None
