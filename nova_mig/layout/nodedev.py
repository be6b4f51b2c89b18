"""Make vGPU devices persistent as libvirt node devices (define, autostart).

Only this module opens a read-write libvirt connection, and only when a
device is to be defined or undefined.  Drivers without node-device
definitions (libvirt < 7.3, the test driver) answer ``VIR_ERR_NO_SUPPORT``:
that is logged at debug level and persistence is skipped, since the boot
restore re-creates the devices anyway.
"""

import re
from xml.sax import saxutils

import libvirt
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

_TEMPLATE = """<device>
  <parent>%(parent)s</parent>
  <capability type='mdev'>
    <type id='%(type)s'/>
    <uuid>%(uuid)s</uuid>
  </capability>
</device>
"""


def pci_name(address: str) -> str:
    """libvirt's node-device name of a PCI function."""
    return 'pci_' + re.sub(r'[:.]', '_', address)


def mdev_names(uuid: str, parent: str | None) -> list[str]:
    """Both node-device names libvirt may give an mdev."""
    base = 'mdev_' + uuid.replace('-', '_')
    names = [base]
    if parent:
        names.insert(0, base + '_' + re.sub(r'[:.]', '_', parent))
    return names


def device_xml(uuid: str, parent: str, mdev_type: str) -> str:
    return _TEMPLATE % {'parent': saxutils.escape(pci_name(parent)),
                        'type': saxutils.escape(mdev_type),
                        'uuid': saxutils.escape(uuid)}


class NodeDevices:
    """Defines and undefines mdev node devices through libvirt.

    :param uri: the libvirt URI (``backend.libvirt_uri()``).
    """

    def __init__(self, uri: str):
        self.uri = uri
        self._conn = None
        self.supported = True
        self.warnings: list[str] = []

    def _connect(self):
        if self._conn is None:
            libvirt.registerErrorHandler(lambda ctx, err: None, None)
            self._conn = libvirt.open(self.uri)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing is best effort
                pass
            self._conn = None

    def _unsupported(self, error) -> bool:
        if error.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
            LOG.debug('libvirt at %s cannot persist node devices (%s); '
                      'the boot restore re-creates them', self.uri,
                      error.get_error_message())
            self.supported = False
            return True
        return False

    def define(self, uuid: str, parent: str, mdev_type: str) -> bool:
        """Define the mdev with autostart; False when not done."""
        if not self.supported:
            return False
        try:
            dev = self._connect().nodeDeviceDefineXML(
                device_xml(uuid, parent, mdev_type), 0)
            dev.setAutostart(1)
        except libvirt.libvirtError as e:
            if not self._unsupported(e):
                self.warnings.append(
                    'vGPU %s was created but could not be defined in '
                    'libvirt: %s' % (uuid, e.get_error_message()))
                LOG.warning(self.warnings[-1])
            return False
        LOG.info('Defined vGPU %s as a libvirt node device (autostart)',
                 uuid)
        return True

    def undefine(self, uuid: str, parent: str | None) -> bool:
        """Undefine the mdev so nova-compute does not start it again."""
        if not self.supported:
            return False
        for name in mdev_names(uuid, parent):
            try:
                dev = self._connect().nodeDeviceLookupByName(name)
            except libvirt.libvirtError:
                continue
            try:
                dev.undefine(0)
            except libvirt.libvirtError as e:
                if not self._unsupported(e):
                    self.warnings.append('vGPU %s: libvirt undefine '
                                         'failed: %s' % (
                                             uuid, e.get_error_message()))
                return False
            return True
        return False
