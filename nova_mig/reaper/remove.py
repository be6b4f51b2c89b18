"""Remove one vGPU device: sysfs, then its persistent definition.

An mdev gets ``1`` written to ``remove`` through the backend's sysfs writer
(privsep on a real host), then its libvirt node device is undefined so that
Nova's start-up (which starts every inactive defined mdev) does not bring
it back; where libvirt cannot (no node device, libvirt older than 7.3, the
test driver), mdevctl's definition file is deleted instead. A vendor-VFIO
vGPU gets ``0`` written to its VF's ``nvidia/current_vgpu_type``. Every
step is idempotent, so a removal interrupted half-way can be run again; a
device the kernel says is gone (ENODEV, ENOENT) counts as removed.
"""

import errno
import logging
import os

from oslo_config import cfg

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.host import virt
from nova_mig.model import constants
from nova_mig import privsep
from nova_mig.reaper import decide

LOG = logging.getLogger(__name__)

#: The only tree the privileged daemon deletes mdevctl definitions from.
MDEVCTL_ROOT = '/etc/mdevctl.d'


@privsep.sys_admin_pctxt.entrypoint
def _unlink_definition(path: str) -> None:
    """Delete an mdevctl definition file as root, below /etc/mdevctl.d."""
    root = os.path.realpath(MDEVCTL_ROOT).rstrip(os.sep) + os.sep
    if not os.path.realpath(path).startswith(root):
        raise PermissionError(errno.EACCES, 'refusing to delete outside %s'
                              % MDEVCTL_ROOT, path)
    os.unlink(path)


class Remover:
    """Removes devices of the host behind a backend.

    :param conf: the ConfigOpts (``[reaper]mdevctl_root``).
    :param backend: the GPU backend: sysfs root and writer, libvirt URI.
    """

    def __init__(self, conf: cfg.ConfigOpts, backend):
        self.conf = conf
        self.backend = backend

    def remove(self, facts: decide.DeviceFacts) -> list[str]:
        """Remove a device; return the steps taken, in order.

        :raises: :class:`nova_mig.exception.SysfsWriteError` when a sysfs
            write fails, :class:`nova_mig.exception.LibvirtError` when
            libvirt refuses to undefine.
        """
        if facts.kind == constants.MODE_VENDOR_VFIO:
            return self._vendor_vfio(facts)
        steps = []
        root = self.backend.sysfs_root()
        path = os.path.join(root, sysfs.MDEV_DEVICES, facts.key, 'remove')
        if os.path.exists(os.path.join(root, sysfs.MDEV_DEVICES,
                                       facts.key)) and self._write(path, '1'):
            steps.append('sysfs remove')
        else:
            steps.append('sysfs: already gone')
        steps += self.undefine(facts.key, facts.parent,
                               facts.libvirt_node_device)
        return steps

    def _write(self, path: str, value: str) -> bool:
        """Write; False when the device is already gone."""
        try:
            self.backend.sysfs_writer().write(path, value)
        except OSError as e:
            if e.errno in (errno.ENODEV, errno.ENOENT):
                LOG.info('%s: already gone (%s)', path, e.strerror or e)
                return False
            raise exception.SysfsWriteError(
                path=path, value=value,
                reason='%s (errno %s)' % (e.strerror or e,
                                          errno.errorcode.get(e.errno or 0,
                                                              e.errno)))
        return True

    def _vendor_vfio(self, facts: decide.DeviceFacts) -> list[str]:
        path = os.path.join(self.backend.sysfs_root(), sysfs.PCI_DEVICES,
                            facts.key, sysfs.VENDOR_DIR, sysfs.CURRENT_TYPE)
        reader = sysfs.SysfsReader(self.backend.sysfs_root())
        if reader.read(path) in ('', '0') or not self._write(path, '0'):
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
            self._unlink(path)
            steps.append('mdevctl definition deleted')
        return steps

    def _libvirt_undefine(self, names: list[str]) -> bool:
        with virt.LibvirtHost(self.backend.libvirt_uri(),
                              read_only=False) as host:
            outcome = host.undefine_node_device(names)
        if outcome == virt.UNSUPPORTED:
            LOG.debug('libvirt cannot undefine %s; using mdevctl\'s file',
                      names[0])
        return outcome == virt.UNDEFINED

    def _unlink(self, path: str) -> None:
        default = (os.path.realpath(self.conf.reaper.mdevctl_root) ==
                   os.path.realpath(MDEVCTL_ROOT))
        try:
            if default and os.geteuid() != 0:
                _unlink_definition(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise exception.SysfsWriteError(
                path=path, value='(delete)', reason=e.strerror or e)
