# SPDX-License-Identifier: Apache-2.0

"""Privileged sysfs writes, by intent (context ``sysfs_pctxt``).

There is no "write this path" entry point: each one names what it changes
(the VF count of a PF, a vGPU of a type on a parent, a vendor-VFIO VF's
vGPU type) and :class:`nova_mig.sysfs_gateway.Writer` validates its arguments
as untrusted input and composes the one attribute below ``/sys`` it writes.
"""

import logging
import os

from nova_mig import privsep
from nova_mig import sysfs_gateway

LOG = logging.getLogger(__name__)

#: The only tree the privileged daemon writes to.
SYSFS_ROOT = '/sys'


def _writer() -> sysfs_gateway.Writer:
    return sysfs_gateway.Writer(SYSFS_ROOT)


@privsep.sysfs_pctxt.entrypoint
def set_sriov_numvfs(pf: str, count: int) -> None:
    """Set the SR-IOV VF count of an NVIDIA PF (0 to its total)."""
    LOG.debug('Setting %s sriov_numvfs to %r', pf, count)
    _writer().set_sriov_numvfs(pf, count)


@privsep.sysfs_pctxt.entrypoint
def create_mdev(parent: str, type_id: str, uuid: str) -> None:
    """Create mdev ``uuid`` of type ``nvidia-<N>`` on an NVIDIA parent."""
    LOG.debug('Creating mdev %r of %r on %r', uuid, type_id, parent)
    _writer().create_mdev(parent, type_id, uuid)


@privsep.sysfs_pctxt.entrypoint
def remove_mdev(uuid: str) -> None:
    """Remove a mediated device whose parent is an NVIDIA device."""
    LOG.debug('Removing mdev %r', uuid)
    _writer().remove_mdev(uuid)


@privsep.sysfs_pctxt.entrypoint
def set_vgpu_type(vf: str, type_id: int) -> None:
    """Give a vendor-VFIO VF a vGPU type (an ID from 1)."""
    LOG.debug('Setting %s current_vgpu_type to %r', vf, type_id)
    _writer().set_vgpu_type(vf, type_id)


@privsep.sysfs_pctxt.entrypoint
def clear_vgpu_type(vf: str) -> None:
    """Write 0 to a vendor-VFIO VF's vGPU type."""
    LOG.debug('Clearing %s current_vgpu_type', vf)
    _writer().clear_vgpu_type(vf)


class PrivsepSysfsWriter:
    """Changes the host's devices by intent, through privsep for ``/sys``.

    A tree rooted elsewhere (``[host]sysfs_root`` pointing at a copy) is
    written in-process, without privileges, through the same gateway.

    :param root: the configured sysfs root.
    :raises: ``OSError``: ``EACCES`` for a refused argument, else the
        kernel's errno.
    """

    def __init__(self, root: str = SYSFS_ROOT):
        self.root = root

    def _privileged(self) -> bool:
        return os.path.realpath(self.root) == os.path.realpath(SYSFS_ROOT)

    def set_sriov_numvfs(self, pf: str, count: int) -> None:
        if self._privileged():
            set_sriov_numvfs(pf, count)
        else:
            sysfs_gateway.Writer(self.root).set_sriov_numvfs(pf, count)

    def create_mdev(self, parent: str, type_id: str, uuid: str) -> None:
        if self._privileged():
            create_mdev(parent, type_id, uuid)
        else:
            sysfs_gateway.Writer(self.root).create_mdev(parent, type_id, uuid)

    def remove_mdev(self, uuid: str) -> None:
        if self._privileged():
            remove_mdev(uuid)
        else:
            sysfs_gateway.Writer(self.root).remove_mdev(uuid)

    def set_vgpu_type(self, vf: str, type_id: int) -> None:
        if self._privileged():
            set_vgpu_type(vf, type_id)
        else:
            sysfs_gateway.Writer(self.root).set_vgpu_type(vf, type_id)

    def clear_vgpu_type(self, vf: str) -> None:
        if self._privileged():
            clear_vgpu_type(vf)
        else:
            sysfs_gateway.Writer(self.root).clear_vgpu_type(vf)

    def sriov_manage(self, tool: str, pf: str, enable: bool) -> None:
        if not self._privileged():
            raise sysfs_gateway.refused(
                'sriov-manage', 'it changes the real /sys only, not %s'
                % self.root)
        from nova_mig.privsep import nvml_calls
        nvml_calls.sriov_manage(tool, pf, enable)
