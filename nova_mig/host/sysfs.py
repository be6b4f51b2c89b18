# SPDX-License-Identifier: Apache-2.0

"""Read the host's PCI, SR-IOV, mdev and vendor-specific VFIO state from sysfs.

Everything here only reads, under a configurable root (``[host]sysfs_root``)
so the same code runs on a real ``/sys`` and on a generated tree; paths
are composed and files read through the gateway, :mod:`nova_mig.sysfs_gateway`.
It follows symlinks the way the kernel lays them out (see the kernel's
``Documentation/driver-api/vfio-mediated-device.rst``).
"""

import dataclasses
import errno
import logging
import os

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.model import host_records
from nova_mig import sysfs_gateway

LOG = logging.getLogger(__name__)

# The gateway's names, for the readers that compose paths with them.
MDEV_BUS_CLASS = sysfs_gateway.MDEV_BUS_CLASS
MDEV_DEVICES = sysfs_gateway.MDEV_DEVICES
PCI_DEVICES = sysfs_gateway.PCI_DEVICES
SUPPORTED_TYPES = sysfs_gateway.SUPPORTED_TYPES
VENDOR_DIR = sysfs_gateway.VENDOR_DIR
CREATABLE_TYPES = sysfs_gateway.CREATABLE_TYPES
CURRENT_TYPE = sysfs_gateway.CURRENT_TYPE
#: Per-VF files of vendor-specific VFIO besides the two above (operator
#: reports, not NVIDIA documentation): the GPU instance the VF's vGPU sits
#: on (ENXIO until a vGPU exists), its placement and its parameters.
GPU_INSTANCE_ID = sysfs_gateway.GPU_INSTANCE_ID
PLACEMENT_ID = sysfs_gateway.PLACEMENT_ID
VGPU_PARAMS = sysfs_gateway.VGPU_PARAMS
#: What those files raise or hold while they have nothing to say.
_NO_ANSWER_ERRNOS = (errno.ENXIO, errno.ENOENT, errno.ENODEV, errno.EINVAL)
_read_file = sysfs_gateway.read_file


class SysfsReader:
    """Reads the host's devices under ``root``.

    :param root: the sysfs mount point, ``/sys`` on a real host.
    """

    def __init__(self, root: str):
        self.root = root
        self.sysfs = sysfs_gateway.Sysfs(root)

    # -- low level ------------------------------------------------------
    def path(self, *parts: str) -> str:
        return self.sysfs.path(*parts)

    def read(self, path: str) -> str:
        """Read a sysfs attribute, stripped."""
        try:
            return _read_file(path)
        except OSError as e:
            raise exception.SysfsError(path=path, reason=e.strerror or e)

    def read_int(self, path: str, base: int = 10) -> int:
        value = self.read(path)
        try:
            return int(value, base)
        except ValueError:
            raise exception.SysfsError(
                path=path, reason='expected an integer, found %r' % value)

    def listdir(self, path: str) -> list[str]:
        """Entries of a directory; an absent directory is empty."""
        try:
            return sorted(os.listdir(path))
        except FileNotFoundError:
            return []
        except OSError as e:
            raise exception.SysfsError(path=path, reason=e.strerror or e)

    def link_name(self, path: str) -> str | None:
        """Basename of a symlink's target, None when there is no link."""
        try:
            return os.path.basename(os.readlink(path))
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.EINVAL):
                return None
            raise exception.SysfsError(path=path, reason=e.strerror or e)

    # -- SR-IOV ---------------------------------------------------------
    def pf_of(self, address: str) -> str:
        """The PF address of a VF, or ``address`` itself for a PF."""
        pf = self.link_name(self.path(PCI_DEVICES, address, 'physfn'))
        return pf or address

    def sriov(self, address: str) -> host_records.SriovPf | None:
        """SR-IOV state of a PF, None when it has no SR-IOV capability."""
        dev = self.path(PCI_DEVICES, address)
        if not os.path.exists(os.path.join(dev, 'sriov_totalvfs')):
            return None
        vfs = []
        for entry in self.listdir(dev):
            if not entry.startswith('virtfn'):
                continue
            link = self.link_name(os.path.join(dev, entry))
            if link is not None:
                vfs.append((int(entry[len('virtfn'):]), link))
        return host_records.SriovPf(
            address=address,
            total_vfs=self.read_int(os.path.join(dev, 'sriov_totalvfs')),
            num_vfs=self.read_int(os.path.join(dev, 'sriov_numvfs')),
            vfs=tuple(vf for _, vf in sorted(vfs)))

    def vf_address(self, pf: str, index: int) -> str:
        """The address of VF number ``index`` of a PF (its ``virtfn<N>``)."""
        link = self.sysfs.pci(pf, 'virtfn%d' % index)
        name = self.link_name(link)
        if name is None:
            raise exception.SysfsError(path=link, reason='no such VF')
        return name

    def vfs(self, pf: str) -> list[str]:
        """The addresses of a PF's VFs, in no particular order."""
        dev = self.sysfs.pci(pf)
        return [name for name in (self.link_name(os.path.join(dev, entry))
                                  for entry in self.listdir(dev)
                                  if entry.startswith('virtfn'))
                if name]

    # -- mdev ------------------------------------------------------------
    def mdev_exists(self, uuid: str) -> bool:
        return os.path.exists(self.sysfs.mdev(uuid))

    def mdev_type_named(self, parent: str, type_name: str) -> str:
        """The mdev type folder (``nvidia-<id>``) of a type NAME on a parent.

        :raises: :class:`~nova_mig.exception.SysfsError` when the parent
            offers no type of that name.
        """
        types = self.sysfs.pci(parent, SUPPORTED_TYPES)
        for entry in self.listdir(types):
            name = self.read(os.path.join(types, entry, 'name'))
            if name.split()[-1:] == [type_name]:
                return entry
        raise exception.SysfsError(
            path=types, reason='no vGPU type %s offered on %s' % (
                type_name, parent))

    @staticmethod
    def parse_description(text: str) -> dict[str, str]:
        """Parse NVIDIA's ``key=value, key=value`` type description."""
        result = {}
        for item in text.replace('\n', ',').split(','):
            key, sep, value = item.strip().partition('=')
            if sep:
                result[key.strip()] = value.strip()
        return result

    def mdev_type(self, type_dir: str,
                  devices: tuple[str, ...] | None = None
                  ) -> host_records.MdevType:
        """One ``mdev_supported_types`` entry.

        :param devices: the UUIDs of its mdevs when already known (from
            ``bus/mdev/devices``); otherwise its ``devices`` directory is
            listed.
        """
        # Plain concatenation: discovery reads four files per type per VF.
        prefix = type_dir + os.sep
        # Optional in the mdev ABI.
        description = self.read_optional(prefix + 'description') or ''
        return host_records.MdevType(
            id=os.path.basename(type_dir),
            name=self.read(prefix + 'name'),
            description=self.parse_description(description),
            available_instances=self.read_int(
                prefix + 'available_instances'),
            device_api=self.read(prefix + 'device_api'),
            devices=(devices if devices is not None
                     else tuple(self.listdir(prefix + 'devices'))))

    def mdev_parents(self) -> list[host_records.VgpuParent]:
        """Every parent on the mdev bus with its supported types."""
        # Each type's devices from the mdev bus, in one listing instead of
        # one per type per VF (the kernel links each mdev in both places).
        by_type: dict[tuple[str, str], list[str]] = {}
        for mdev in self.mdevs():
            by_type.setdefault((mdev.parent, mdev.type_id),
                               []).append(mdev.uuid)
        # A type's name, description and device_api belong to the type on
        # its GPU: read on the first VF of a PF, they are not read again on
        # its other VFs (three files of four, per type, per VF).
        first: dict[tuple[str, str], host_records.MdevType] = {}
        parents = []
        for address in self.listdir(self.path(MDEV_BUS_CLASS)):
            pf_address = self.pf_of(address)
            types_dir = self.path(MDEV_BUS_CLASS, address, SUPPORTED_TYPES)
            types = []
            for type_id in self.listdir(types_dir):
                type_dir = os.path.join(types_dir, type_id)
                devices = tuple(sorted(by_type.get((address, type_id), ())))
                seen = first.get((pf_address, type_id))
                if seen is None:
                    found = self.mdev_type(type_dir, devices)
                    first[(pf_address, type_id)] = found
                else:
                    found = dataclasses.replace(
                        seen, devices=devices,
                        available_instances=self.read_int(
                            type_dir + os.sep + 'available_instances'))
                types.append(found)
            parents.append(host_records.VgpuParent(
                address=address, pf_address=pf_address,
                mode=constants.MODE_MDEV, types=tuple(types)))
        return parents

    def mdevs(self) -> list[host_records.Mdev]:
        """Every existing mediated device."""
        result = []
        for uuid in self.listdir(self.path(MDEV_DEVICES)):
            dev = self.path(MDEV_DEVICES, uuid)
            real = os.path.realpath(dev)
            group = self.link_name(os.path.join(dev, 'iommu_group'))
            result.append(host_records.Mdev(
                uuid=uuid,
                type_id=self.link_name(os.path.join(dev, 'mdev_type')) or '',
                parent=os.path.basename(os.path.dirname(real)),
                iommu_group=int(group) if group and group.isdigit()
                else None))
        return result

    # -- vendor-specific VFIO --------------------------------------------
    @staticmethod
    def parse_creatable(text: str) -> list[tuple[int, str]]:
        """Parse ``creatable_vgpu_types``.

        Lines are ``<id> : <name>``; some drivers write ``<id> <name>``.
        The header (``ID    : vGPU Name``), blank lines and lines without a
        numeric ID or a name are skipped.
        """
        result = []
        for line in text.splitlines():
            type_id, sep, name = line.partition(':')
            if not sep:
                type_id, _sep, name = line.strip().partition(' ')
            type_id, name = type_id.strip(), name.strip()
            if type_id.isdigit() and name:
                result.append((int(type_id), name))
        return result

    @staticmethod
    def parse_params(text: str) -> dict[str, str]:
        """Parse ``vgpu_params``: ``key=value`` items, by comma or line."""
        result = {}
        for item in text.replace('\n', ',').split(','):
            key, sep, value = item.strip().partition('=')
            if sep and key.strip():
                result[key.strip()] = value.strip()
        return result

    def read_optional(self, path: str) -> str | None:
        """An optional attribute, None while it has nothing to say.

        A vGPU type's ``description`` may be absent; a VF's
        ``gpu_instance_id`` reads ENXIO until the VF carries a vGPU, and an
        absent file (older drivers) reads the same.
        """
        try:
            return _read_file(path)
        except OSError as e:
            if e.errno in _NO_ANSWER_ERRNOS:
                return None
            raise exception.SysfsError(path=path, reason=e.strerror or e)

    def _optional_int(self, path: str) -> int | None:
        value = self.read_optional(path)
        if not value:
            return None
        try:
            return int(value, 0)
        except ValueError:
            raise exception.SysfsError(
                path=path, reason='expected an integer, found %r' % value)

    def creatable_id(self, vf: str, type_name: str) -> int:
        """The ID of a vGPU type NAME a vendor-VFIO VF can take now.

        :raises: :class:`~nova_mig.exception.SysfsError` when it cannot.
        """
        path = self.sysfs.pci(vf, VENDOR_DIR, CREATABLE_TYPES)
        for type_id, name in self.parse_creatable(self.read(path)):
            if name.split()[-1:] == [type_name]:
                return type_id
        raise exception.SysfsError(path=path, reason='vGPU type %s is not '
                                   'creatable on %s now' % (type_name, vf))

    def current_type(self, vf: str) -> str:
        """A vendor-VFIO VF's ``current_vgpu_type`` ('0' or '' for none)."""
        return self.read(self.sysfs.pci(vf, VENDOR_DIR, CURRENT_TYPE))

    def vendor_vfio_parents(self) -> list[host_records.VgpuParent]:
        """Every PCI function with NVIDIA's vendor-specific VFIO files."""
        parents = []
        for address in self.listdir(self.path(PCI_DEVICES)):
            vendor = self.path(PCI_DEVICES, address, VENDOR_DIR)
            if not os.path.exists(os.path.join(vendor, CURRENT_TYPE)):
                continue
            creatable = self.parse_creatable(
                self.read(os.path.join(vendor, CREATABLE_TYPES)))
            types = tuple(
                host_records.MdevType(
                    id=str(type_id), name=name, description={},
                    available_instances=1, device_api='vfio-pci', devices=())
                for type_id, name in creatable)
            current = self.read_int(os.path.join(vendor, CURRENT_TYPE))
            params = self.read_optional(os.path.join(vendor, VGPU_PARAMS))
            parents.append(host_records.VgpuParent(
                address=address, pf_address=self.pf_of(address),
                mode=constants.MODE_VENDOR_VFIO, types=types,
                current_type=current,
                gpu_instance_id=self._optional_int(
                    os.path.join(vendor, GPU_INSTANCE_ID)) if current
                else None,
                placement_id=self._optional_int(
                    os.path.join(vendor, PLACEMENT_ID)) if current else None,
                vgpu_params=self.parse_params(params or '')))
        return parents

    def device_mode(self) -> str:
        """``mdev``, ``vendor-vfio`` or ``none``; see :func:`mode_of`."""
        return mode_of(self.mdev_parents() + self.vendor_vfio_parents())


def mode_of(parents: list[host_records.VgpuParent]) -> str:
    """The host's device mode, from its vGPU parents.

    Parents on the mdev bus (a non-empty ``/sys/class/mdev_bus``) mean mdev;
    otherwise VFs with NVIDIA's ``nvidia/`` folder mean vendor-specific VFIO.
    """
    modes = {parent.mode for parent in parents}
    if constants.MODE_MDEV in modes:
        return constants.MODE_MDEV
    if constants.MODE_VENDOR_VFIO in modes:
        return constants.MODE_VENDOR_VFIO
    return constants.MODE_NONE
