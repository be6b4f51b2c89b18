# SPDX-License-Identifier: Apache-2.0

"""Remove one vGPU device: sysfs, then its persistent definition.

An mdev is removed through the backend's sysfs writer (``remove_mdev``,
privsep on a real host), then its libvirt node device is undefined so that
Nova's start-up (which starts every inactive defined mdev) does not bring
it back; where libvirt cannot (no node device, libvirt older than 7.3, the
test driver), mdevctl's definition file is deleted instead (as root
through :func:`nova_mig.privsep.files.remove_mdevctl_definition`). A
vendor-VFIO vGPU's VF gets its vGPU type cleared (``clear_vgpu_type``). Every
step is idempotent, so a removal interrupted half-way can be run again; a
device the kernel says is gone (ENODEV, ENOENT) counts as removed.
"""

import errno
import logging
import os
import typing

from oslo_config import cfg

from nova_mig import exception
from nova_mig.host import protocols
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig.privsep import files
from nova_mig.reaper import decide

LOG = logging.getLogger(__name__)

MDEVCTL_ROOT = files.MDEVCTL_ROOT


class Remover:
    """Removes devices of the host behind a backend.

    :param conf: the ConfigOpts (``[reaper]mdevctl_root``).
    :param backend: the GPU backend: sysfs root and writer, libvirt URI.
    :param libvirt: opens the libvirt connection that undefines node
        devices (:class:`nova_mig.host.virt.LibvirtHost`).
    """

    def __init__(self, conf: cfg.ConfigOpts, backend: protocols.Backend,
                 libvirt: protocols.LibvirtOpener = virt.LibvirtHost):
        self.conf = conf
        self.backend = backend
        self.libvirt = libvirt

    def remove(self, facts: decide.DeviceFacts) -> list[str]:
        """Remove a device; return the steps taken, in order.

        :raises: :class:`nova_mig.exception.SysfsWriteError` when a sysfs
            write fails, :class:`nova_mig.exception.LibvirtError` when
            libvirt refuses to undefine.
        """
        if facts.kind == constants.MODE_VENDOR_VFIO:
            return self._vendor_vfio(facts)
        steps = []
        writer = self.backend.sysfs_writer()
        reader = sysfs.SysfsReader(self.backend.sysfs_root())
        if reader.mdev_exists(facts.key) and self._write(
                facts.key, '1', lambda: writer.remove_mdev(facts.key)):
            steps.append('sysfs remove')
        else:
            steps.append('sysfs: already gone')
        steps += self.undefine(facts.key, facts.parent,
                               facts.libvirt_node_device)
        return steps

    @staticmethod
    def _write(device: str, value: str,
               change: typing.Callable[[], None]) -> bool:
        """Change through the writer; False when already gone."""
        try:
            change()
        except OSError as e:
            if e.errno in (errno.ENODEV, errno.ENOENT):
                LOG.info('%s: already gone (%s)', device, e.strerror or e)
                return False
            raise exception.SysfsWriteError(
                path=device, value=value,
                reason='%s (errno %s)' % (e.strerror or e,
                                          errno.errorcode.get(e.errno or 0,
                                                              e.errno)))
        return True

    def _vendor_vfio(self, facts: decide.DeviceFacts) -> list[str]:
        reader = sysfs.SysfsReader(self.backend.sysfs_root())
        writer = self.backend.sysfs_writer()
        if reader.current_type(facts.key) in ('', '0') or not self._write(
                facts.key, '0', lambda: writer.clear_vgpu_type(facts.key)):
            return ['current_vgpu_type: already 0']
        return ['current_vgpu_type = 0']

    # -- persistent definitions --------------------------------------------
    def undefine(self, uuid: str, parent: str,
                 name: str | None = None) -> list[str]:
        """Undefine the mdev in libvirt, or delete mdevctl's definition."""
        steps = []
        names = [name] if name else virt.mdev_names(uuid, parent)
        if self._libvirt_undefine(names):
            steps.append('libvirt undefine')
        path = os.path.join(self.conf.reaper.mdevctl_root, parent, uuid)
        if os.path.lexists(path):
            self._unlink(path, parent, uuid)
            steps.append('mdevctl definition deleted')
        return steps

    def _libvirt_undefine(self, names: list[str]) -> bool:
        with self.libvirt(self.backend.libvirt_uri(),
                          read_only=False) as host:
            outcome = host.undefine_node_device(names)
        if outcome == virt.UNSUPPORTED:
            LOG.debug('libvirt cannot undefine %s; using mdevctl\'s file',
                      names[0])
        return outcome == virt.UNDEFINED

    def _unlink(self, path: str, parent: str, uuid: str) -> None:
        default = (os.path.realpath(self.conf.reaper.mdevctl_root) ==
                   os.path.realpath(MDEVCTL_ROOT))
        try:
            if default and os.geteuid() != 0:
                files.remove_mdevctl_definition(parent, uuid)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise exception.SysfsWriteError(
                path=path, value='(delete)', reason=e.strerror or e)
