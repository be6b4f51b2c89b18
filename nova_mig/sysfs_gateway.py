# SPDX-License-Identifier: Apache-2.0

"""The one gateway to sysfs: path composition, reads and writes.

Every sysfs path nova-mig reads or writes is composed here, below a root
(``/sys`` on a real host, a generated tree otherwise), and every file is
read and written through :func:`read_file` and :func:`write_attribute`.
The unprivileged side (discovery, the layout, the reaper) and the
privileged daemon (:mod:`nova_mig.privsep.sysfs_writes`) use the same code.

:class:`Writer` changes the host by intent (the VF count of a PF, a vGPU
of a type on a parent, a vendor-VFIO VF's vGPU type) and treats every
argument as untrusted: PCI addresses, UUIDs and type names must match
their patterns, numbers must be in their range, and each attribute,
resolved (``realpath``), must lie inside the NVIDIA PCI device (vendor
``0x10de``) it names. A ``..``, a symlink leaving the device or a device
of another vendor is refused with ``EACCES`` before anything is written.
"""

import errno
import os
import re

#: Folders of a sysfs tree (see the kernel's
#: Documentation/driver-api/vfio-mediated-device.rst).
MDEV_BUS_CLASS = 'class/mdev_bus'
MDEV_DEVICES = 'bus/mdev/devices'
PCI_DEVICES = 'bus/pci/devices'
SUPPORTED_TYPES = 'mdev_supported_types'
#: A PCI function's attributes nova-mig reads or writes.
VENDOR = 'vendor'
SRIOV_NUMVFS = 'sriov_numvfs'
SRIOV_TOTALVFS = 'sriov_totalvfs'
#: Vendor-specific VFIO: the ``nvidia/`` folder of a VF and its files.
VENDOR_DIR = 'nvidia'
CREATABLE_TYPES = 'creatable_vgpu_types'
CURRENT_TYPE = 'current_vgpu_type'
GPU_INSTANCE_ID = 'gpu_instance_id'
PLACEMENT_ID = 'placement_id'
VGPU_PARAMS = 'vgpu_params'
#: The only vendor whose devices nova-mig changes.
NVIDIA_VENDOR = 0x10de

#: A PCI address as sysfs spells it, ``DDDD:BB:SS.F`` in lower-case hex:
#: slot 00-1f (5 bits), function 0-7 (3 bits); the parts, then the whole,
#: unanchored and without groups (:mod:`nova_mig.model.constants` builds
#: its patterns from these).
PCI_PARTS = ('[0-9a-f]{4}', '[0-9a-f]{2}', '[01][0-9a-f]', '[0-7]')
PCI_ADDRESS = r'%s:%s:%s\.%s' % PCI_PARTS
#: A UUID in canonical lower-case form. Unanchored, without groups.
UUID = r'[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}'
#: Untrusted arguments, matched whole (``fullmatch``: a ``$`` would let a
#: trailing newline in).
PCI_ADDRESS_RE = re.compile(PCI_ADDRESS)
UUID_RE = re.compile(UUID)
#: An NVIDIA mdev type folder: ``nvidia-<vGPU type ID>``.
MDEV_TYPE_RE = re.compile(r'nvidia-[1-9][0-9]{0,9}')
#: Largest vGPU type ID (NVML's are unsigned 32-bit integers).
MAX_TYPE_ID = 0xFFFFFFFF
#: SR-IOV allows at most 65535 VFs per PF.
MAX_VFS = 0xFFFF
#: Bytes per read(2): a sysfs attribute is at most a page.
_CHUNK = 65536


class Unreadable(OSError):
    """A sysfs file that is not UTF-8 text (an ``EILSEQ`` OSError)."""


def refused(what: str, reason: str) -> PermissionError:
    """The error of an argument outside its domain: ``EACCES``, one line.

    Its ``strerror`` names the argument, so the message survives privsep,
    which carries an OSError across as ``(errno, strerror)`` only.
    """
    return PermissionError(errno.EACCES, 'refused %s: %s' % (what, reason))


def read_file(path: str) -> str:
    """A whole small file as stripped text, in as few system calls as can be.

    :raises: OSError from the system calls; :class:`Unreadable` for text
        that is not UTF-8.

    A sysfs attribute is at most a page; discovery reads thousands of them
    (four per vGPU type per VF), where ``open()``'s buffered text layer
    costs more than the read itself.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = [os.read(fd, _CHUNK)]
        while len(chunks[-1]) == _CHUNK:  # a regular file can be longer
            chunks.append(os.read(fd, _CHUNK))
    finally:
        os.close(fd)
    try:
        return b''.join(chunks).decode('utf-8').strip()
    except UnicodeDecodeError:
        raise Unreadable(errno.EILSEQ, 'not UTF-8 text', path)


def write_attribute(path: str, value: str) -> None:
    """Write ``value`` to an existing attribute, in one write at offset 0.

    Opened as a shell's ``echo value > path`` opens it (``O_TRUNC``, which
    sysfs ignores and a copy of the tree needs), never following a link.

    :raises: ``OSError`` with the kernel's errno.
    """
    fd = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC |
                 os.O_NOFOLLOW)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def below(path: str, folder: str, resolve: bool = True) -> bool:
    """Whether ``path`` lies strictly below ``folder``, both resolved.

    The one containment check of nova-mig's privileged side.

    :param resolve: resolve ``path`` (False: the caller resolved it, e.g.
        all but its last component).
    """
    top = os.path.realpath(folder).rstrip(os.sep) + os.sep
    return (os.path.realpath(path) if resolve else path).startswith(top)


def check_pci_address(address: object) -> str:
    if not isinstance(address, str) or not PCI_ADDRESS_RE.fullmatch(address):
        raise refused('PCI address %r' % (address,),
                      'not of the form 0000:41:00.4')
    return address


def check_uuid(uuid: object) -> str:
    if not isinstance(uuid, str) or not UUID_RE.fullmatch(uuid):
        raise refused('UUID %r' % (uuid,), 'not a lower-case canonical UUID')
    return uuid


def check_mdev_type(type_id: object) -> str:
    if not isinstance(type_id, str) or not MDEV_TYPE_RE.fullmatch(type_id):
        raise refused('mdev type %r' % (type_id,),
                      'not of the form nvidia-<number>')
    return type_id


def check_int(what: str, value: object, low: int, high: int) -> int:
    if (not isinstance(value, int) or isinstance(value, bool) or
            not low <= value <= high):
        raise refused('%s %r' % (what, value),
                      'not an integer from %d to %d' % (low, high))
    return value


class Sysfs:
    """Composes and confines the paths of a sysfs tree.

    :param root: the sysfs mount point, ``/sys`` on a real host.
    """

    def __init__(self, root: str):
        self.root = root

    def path(self, *parts: str) -> str:
        """A path below the root (composition only, nothing checked)."""
        return os.path.join(self.root, *parts)

    def pci(self, address: str, *parts: str) -> str:
        """A path below a PCI function's ``bus/pci/devices`` entry."""
        return os.path.join(self.root, PCI_DEVICES, address, *parts)

    def mdev(self, uuid: str, *parts: str) -> str:
        """A path below a mediated device's ``bus/mdev/devices`` entry."""
        return os.path.join(self.root, MDEV_DEVICES, uuid, *parts)

    # -- confinement ----------------------------------------------------
    def _device_dir(self, entry: str, what: str) -> str:
        """The resolved folder of a device entry, inside ``devices/``."""
        if not os.path.lexists(entry):
            # Gone (or never there): what the kernel says of a device
            # removed under a writer, ENOENT.
            raise FileNotFoundError(errno.ENOENT, 'no %s' % what)
        real = os.path.realpath(entry)
        if not below(real, self.path('devices')) or not os.path.isdir(real):
            raise refused(what, 'no such device below %s' % self.root)
        return real

    def nvidia_device(self, address: str) -> str:
        """The resolved folder of an NVIDIA PCI function.

        :raises: ``EACCES`` PermissionError for a malformed address, an
            entry leading out of ``devices/`` or a device of another
            vendor; ``ENOENT`` for an absent device.
        """
        check_pci_address(address)
        what = 'PCI device %s' % address
        real = self._device_dir(self.pci(address), what)
        try:
            vendor = int(read_file(os.path.join(real, VENDOR)), 16)
        except (OSError, ValueError):
            raise refused(what, 'its vendor cannot be read')
        if vendor != NVIDIA_VENDOR:
            raise refused(what, 'vendor 0x%04x is not NVIDIA' % vendor)
        return real

    def attribute(self, device: str, *parts: str) -> str:
        """An existing regular file below a resolved device folder.

        :raises: ``EACCES`` PermissionError for a part that is ``..`` or
            holds a slash, and for a file whose real path leaves ``device``
            (a symlink out); ``ENOENT`` when it does not exist.
        """
        for part in parts:
            if part in ('', '.', '..') or os.sep in part or '\0' in part:
                raise refused('path part %r' % part,
                              'not a plain name below %s' % device)
        path = os.path.join(device, *parts)
        real = os.path.realpath(path)
        if not below(real, device):
            raise refused(path, 'it resolves to %s, outside the device %s'
                          % (real, device))
        if not os.path.isfile(real):
            raise FileNotFoundError(errno.ENOENT,
                                    'no such attribute %s' % path)
        return real

    def mdev_parent(self, uuid: str) -> str:
        """The resolved folder of a mediated device on an NVIDIA parent."""
        check_uuid(uuid)
        real = self._device_dir(self.mdev(uuid), 'mdev %s' % uuid)
        parent = os.path.basename(os.path.dirname(real))
        if self.nvidia_device(parent) != os.path.dirname(real):
            raise refused('mdev %s' % uuid,
                          'it is not below its parent %s' % parent)
        return real


class Writer:
    """Changes the host's NVIDIA devices by intent.

    Each method validates its arguments, composes the one attribute it
    writes through :class:`Sysfs` and writes it with :meth:`write_path`
    (overridden by the simulated kernel).

    :param root: the sysfs mount point.
    :raises: ``OSError``: ``EACCES`` for a refused argument (nothing
        written), else the kernel's errno.
    """

    def __init__(self, root: str):
        self.sysfs = Sysfs(root)

    def write_path(self, path: str, value: str) -> None:
        """Write one attribute (the simulated kernel overrides this)."""
        write_attribute(path, value)

    def _write(self, path: str, value: str) -> None:
        try:
            self.write_path(path, value)
        except OSError as e:
            # The path goes into the message: privsep carries an OSError
            # across as (errno, strerror) only.
            raise OSError(e.errno, '%s: %s' % (path, e.strerror or e)) from e

    def set_sriov_numvfs(self, pf: str, count: int) -> None:
        """Set the number of SR-IOV VFs of an NVIDIA PF."""
        device = self.sysfs.nvidia_device(pf)
        total = self.sysfs.attribute(device, SRIOV_TOTALVFS)
        limit = int(read_file(total) or 0)
        check_int('VF count of %s' % pf, count, 0, min(limit, MAX_VFS))
        self._write(self.sysfs.attribute(device, SRIOV_NUMVFS), str(count))

    def create_mdev(self, parent: str, type_id: str, uuid: str) -> None:
        """Create the mdev ``uuid`` of an NVIDIA type on an NVIDIA parent."""
        check_mdev_type(type_id)
        check_uuid(uuid)
        device = self.sysfs.nvidia_device(parent)
        path = self.sysfs.attribute(device, SUPPORTED_TYPES, type_id,
                                    'create')
        self._write(path, uuid)

    def remove_mdev(self, uuid: str) -> None:
        """Remove a mediated device of an NVIDIA parent."""
        device = self.sysfs.mdev_parent(uuid)
        self._write(self.sysfs.attribute(device, 'remove'), '1')

    def set_vgpu_type(self, vf: str, type_id: int) -> None:
        """Give a vendor-VFIO VF a vGPU type (create its vGPU)."""
        check_int('vGPU type ID', type_id, 1, MAX_TYPE_ID)
        self._write_current_type(vf, type_id)

    def clear_vgpu_type(self, vf: str) -> None:
        """Write 0 to a vendor-VFIO VF's vGPU type (remove its vGPU)."""
        self._write_current_type(vf, 0)

    def _write_current_type(self, vf: str, type_id: int) -> None:
        device = self.sysfs.nvidia_device(vf)
        path = self.sysfs.attribute(device, VENDOR_DIR, CURRENT_TYPE)
        self._write(path, str(type_id))
