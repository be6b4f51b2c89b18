# SPDX-License-Identifier: Apache-2.0

"""sysfs writes on the simulated host, with the kernel's answers.

:class:`SysfsWriter` is what the simulated backend hands out as its sysfs
writer.  A path is resolved as the kernel resolves it (symlinks followed),
so ``bus/pci/devices/<VF>/...``, ``class/mdev_bus/<VF>/...`` and the real
``devices/...`` path reach the same attribute.  Accepted writes change the
live state, which is saved and rendered again; refused writes raise
``OSError`` with the kernel's errno and change nothing.
"""

import errno
import logging
import os
import re

from nova_mig.model import constants
from nova_mig.simulator import live_state
from nova_mig.simulator import simulated_host
from nova_mig import sysfs_gateway

LOG = logging.getLogger(__name__)

_BDF = constants.PCI_ADDRESS
_UUID = constants.UUID
CREATE_RE = re.compile(r'^devices/.*/(?P<parent>%s)/mdev_supported_types/'
                       r'nvidia-(?P<type_id>\d+)/create$' % _BDF)
REMOVE_RE = re.compile(r'^devices/.*/(?P<parent>%s)/(?P<uuid>%s)/remove$'
                       % (_BDF, _UUID))
CURRENT_TYPE_RE = re.compile(r'^devices/.*/(?P<vf>%s)/nvidia/'
                             r'current_vgpu_type$' % _BDF)
NUMVFS_RE = re.compile(r'^devices/.*/(?P<pf>%s)/sriov_numvfs$' % _BDF)


def _error(code: int, path: str, reason: str) -> OSError:
    return OSError(code, '%s: %s' % (os.strerror(code), reason), path)


def _text(value: str | bytes | int) -> str:
    if isinstance(value, bytes):
        value = value.decode('ascii', 'replace')
    return str(value).strip()


def _integer(value: str, path: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise _error(errno.EINVAL, path, 'not a number: %r' % value)


class SysfsWriter(sysfs_gateway.Writer):
    """Writes to the simulated host's sysfs tree.

    The intent-named changes are the gateway's (:class:`nova_mig.sysfs_gateway.
    Writer`, the same checks as on a real host); their one attribute write,
    and :meth:`write` of any path (tests), go to the simulated kernel.

    :param host: the :class:`nova_mig.simulator.simulated_host.SimulatedHost`.
    """

    def __init__(self, host: simulated_host.SimulatedHost) -> None:
        super().__init__(host.sysfs_root)
        self.host = host

    def write_path(self, path: str, value: str) -> None:
        self.write(path, value)

    def sriov_manage(self, tool: str, pf: str, enable: bool) -> None:
        """NVIDIA's ``sriov-manage -e|-d <PF>`` on the simulated host.

        The tool must exist (a test installs one); all VFs or none, and the
        re-bind wipes the PF's GPU instances.
        """
        if not os.path.isfile(tool):
            raise _error(errno.ENOENT, tool, 'sriov-manage is not installed')
        self.sysfs.nvidia_device(pf)
        with self.host.transaction() as state:
            found = state.locate(pf)
            if found is None or found[1] is not None:
                raise _error(errno.ENODEV, pf, 'not a PF')
            state.sriov_manage_run(found[0], enable)

    def _relative(self, path: str) -> str:
        resolved = os.path.realpath(path)
        for root in self.host.tree_roots():
            root = os.path.realpath(root)
            if resolved.startswith(root + os.sep):
                if os.path.isdir(resolved):
                    raise _error(errno.EISDIR, path, 'is a directory')
                if not os.path.exists(resolved):
                    raise _error(errno.ENOENT, path, 'no such attribute')
                return os.path.relpath(resolved, root)
        raise _error(errno.EACCES, path,
                     'not inside the simulated sysfs tree %s'
                     % self.host.sysfs_root)

    def write(self, path: str, value: str | bytes | int) -> None:
        """Write ``value`` to the sysfs attribute at ``path``.

        :raises: ``OSError`` with the kernel's errno: EINVAL (bad value),
            EEXIST, ENOSPC, ENODEV, EBUSY, ERANGE, EACCES (read-only or
            unknown attribute), ENOENT.
        """
        rel = self._relative(path)
        text = _text(value)
        LOG.debug('Simulated sysfs write %r -> %s', text, rel)
        with self.host.transaction() as state:
            self._apply(state, rel, text, path)

    def _apply(self, state: live_state.HostState, rel: str, text: str,
               path: str) -> None:
        match = CREATE_RE.match(rel)
        if match:
            state.create_vgpu(match['parent'], int(match['type_id']), text)
            return
        match = REMOVE_RE.match(rel)
        if match:
            if text != '1':
                raise _error(errno.EINVAL, path, 'write 1 to remove')
            state.remove_vgpu(match['uuid'])
            return
        match = CURRENT_TYPE_RE.match(rel)
        if match:
            self._kernel_current_type(state, match['vf'],
                                      _integer(text, path), path)
            return
        match = NUMVFS_RE.match(rel)
        if match:
            found = state.locate(match['pf'])
            if found is None:
                raise _error(errno.ENODEV, path, 'no device')
            state.set_numvfs(found[0], _integer(text, path))
            return
        raise _error(errno.EACCES, path, 'attribute is not writable')

    @staticmethod
    def _kernel_current_type(state: live_state.HostState, vf: str,
                             type_id: int, path: str) -> None:
        """Vendor-specific VFIO: create (type ID) or delete (0) a vGPU."""
        found = state.locate(vf)
        if found is None:
            raise _error(errno.ENODEV, path, 'no device')
        gpu = found[0]
        carried = state.vgpus_on(vf)
        if type_id == 0:
            if carried:
                state.remove_vgpu(carried[0]['uuid'])
            return
        if carried:
            raise _error(errno.EBUSY, path, '%s already carries vGPU type %d;'
                         ' write 0 first' % (vf, carried[0]['type_id']))
        creatable = [t.id for t in state.creatable_types(gpu, vf)]
        if type_id not in creatable:
            raise _error(errno.EINVAL, path, 'type %d is not creatable on %s'
                         ' now; creatable: %s' % (type_id, vf, ', '.join(
                             str(i) for i in creatable) or 'none'))
        state.create_vgpu(vf, type_id, state.new_vgpu_uuid(vf))
