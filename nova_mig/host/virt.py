# SPDX-License-Identifier: Apache-2.0

"""nova-mig's one libvirt wrapper: guests and mdev node devices.

Every libvirt connection nova-mig opens is opened here: read-only to list
domains (in every state) and mdev node devices, read-write to define,
autostart and undefine an mdev's node device.  libvirt's errors leave as
:class:`nova_mig.exception.LibvirtError`.

Drivers without node-device definitions (libvirt < 7.3, the test driver)
answer ``VIR_ERR_NO_SUPPORT``; :class:`NodeDevices` then logs at debug level
and skips persistence, since the boot restore re-creates the devices anyway.
"""

import collections.abc
import html
import logging
import os
import re
import typing
from xml.etree import ElementTree

import libvirt

from nova_mig import exception
from nova_mig.model import constants
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

#: Namespace of the metadata Nova writes in an instance's domain XML.
NOVA_NS = 'http://openstack.org/xmlns/libvirt/nova/1.1'

_STATES = {
    libvirt.VIR_DOMAIN_NOSTATE: 'nostate',
    libvirt.VIR_DOMAIN_RUNNING: 'running',
    libvirt.VIR_DOMAIN_BLOCKED: 'blocked',
    libvirt.VIR_DOMAIN_PAUSED: 'paused',
    libvirt.VIR_DOMAIN_SHUTDOWN: 'shutdown',
    libvirt.VIR_DOMAIN_SHUTOFF: 'shutoff',
    libvirt.VIR_DOMAIN_CRASHED: 'crashed',
    libvirt.VIR_DOMAIN_PMSUSPENDED: 'pmsuspended',
}

# mdev_<uuid with _> or, since libvirt 7.7, mdev_<uuid with _>_<parent>.
_MDEV_NAME_RE = re.compile(
    r'^mdev_(?P<uuid>[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_'
    r'[0-9a-f]{12})(?:_(?P<parent>[0-9a-f]{4}_[0-9a-f]{2}_[0-9a-f]{2}_'
    r'[0-9a-f]))?$', re.IGNORECASE)

_MDEV_XML = """<device>
  <parent>%(parent)s</parent>
  <capability type='mdev'>
    <type id='%(type)s'/>
    <uuid>%(uuid)s</uuid>
  </capability>
</device>
"""

#: Outcomes of :meth:`LibvirtHost.undefine_node_device`.
UNDEFINED = 'undefined'
#: No node device of any of the names.
ABSENT = 'absent'
#: The driver cannot persist node devices (``VIR_ERR_NO_SUPPORT``), or
#: the device vanished between lookup and undefine.
UNSUPPORTED = 'unsupported'
#: The node device exists but is not persistent: nothing to undefine.
TRANSIENT = 'transient'


# -- names and XML ------------------------------------------------------------
def mdev_names(uuid: str, parent: str | None) -> list[str]:
    """Both node-device names libvirt may give an mdev, long form first."""
    names = [constants.libvirt_mdev_name(uuid)]
    if parent:
        names.insert(0, constants.libvirt_mdev_name(uuid, parent))
    return names


def parse_mdev_device_name(name: str) -> tuple[str, str | None] | None:
    """Split an mdev node-device name into (uuid, parent address).

    Both of libvirt's forms are accepted: ``mdev_<uuid_>`` and
    ``mdev_<uuid_>_<parent>``.

    :returns: ``(uuid, parent or None)``, or None for other names.
    """
    match = _MDEV_NAME_RE.match(name)
    if not match:
        return None
    uuid = match['uuid'].replace('_', '-').lower()
    parent = match['parent']
    if parent:
        dom, bus, slot, func = parent.lower().split('_')
        parent = '%s:%s:%s.%s' % (dom, bus, slot, func)
    return uuid, parent


def mdev_device_xml(uuid: str, parent: str, mdev_type: str) -> str:
    """The node-device XML defining an mdev of ``mdev_type`` on ``parent``."""
    parent_name = constants.libvirt_pci_name(parent)
    return _MDEV_XML % {'parent': html.escape(parent_name, quote=False),
                        'type': html.escape(mdev_type),  # an attribute
                        'uuid': html.escape(uuid, quote=False)}


def _pci_address(element: ElementTree.Element) -> str | None:
    try:
        return '%04x:%02x:%02x.%x' % tuple(
            int(element.get(key, ''), 16)
            for key in ('domain', 'bus', 'slot', 'function'))
    except ValueError:
        return None


def parse_domain_xml(xml: str) -> tuple[tuple[str, ...], tuple[str, ...],
                                        bool]:
    """The mdev UUIDs and PCI addresses a domain XML references.

    :returns: ``(mdev uuids, pci addresses, is a Nova instance)``.
    """
    root = ElementTree.fromstring(xml)
    mdevs, pcis = [], []
    for hostdev in root.iterfind('./devices/hostdev'):
        address = hostdev.find('./source/address')
        if address is None:
            continue
        if hostdev.get('type') == 'mdev':
            uuid = address.get('uuid')
            if uuid:
                mdevs.append(uuid.lower())
        elif hostdev.get('type') == 'pci':
            pci = _pci_address(address)
            if pci:
                pcis.append(pci)
    nova = root.find('./metadata/{%s}instance' % NOVA_NS) is not None
    return tuple(mdevs), tuple(pcis), nova


def _domain(dom: typing.Any, xml: str) -> host_records.Domain:
    mdevs, pcis, nova = parse_domain_xml(xml)
    return host_records.Domain(
        name=dom.name(), uuid=dom.UUIDString(),
        state=_STATES.get(dom.state()[0], 'unknown'),
        persistent=bool(dom.isPersistent()), nova_instance=nova,
        mdev_uuids=mdevs, pci_addresses=pcis)


def _code(error: libvirt.libvirtError) -> int:
    return int(error.get_error_code())


def _quiet(ctx: object, err: object) -> None:
    """libvirt prints every error on stderr unless told otherwise."""


# -- the connection -----------------------------------------------------------
def _test_driver_file(uri: str) -> str | None:
    """The file of a ``test:///<path>`` URI (libvirt's test driver)."""
    prefix = 'test://'
    if not uri.startswith(prefix) or uri == 'test:///default':
        return None
    return uri[len(prefix):] or None


class LibvirtHost:
    """A libvirt daemon, connected to on first use.

    :param uri: a libvirt URI, e.g. ``qemu:///system`` or ``test:///f.xml``.
    :param read_only: open a read-only connection; node-device definitions
        need a read-write one.
    """

    def __init__(self, uri: str, read_only: bool = True):
        self.uri = uri
        self.read_only = read_only
        self._conn: typing.Any = None

    def __enter__(self) -> 'LibvirtHost':
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _error(self, error: libvirt.libvirtError) -> exception.LibvirtError:
        return exception.LibvirtError(uri=self.uri,
                                      reason=error.get_error_message())

    def _connect(self) -> typing.Any:
        if self._conn is None:
            # nova-mig reports errors itself.
            libvirt.registerErrorHandler(_quiet, None)
            path = _test_driver_file(self.uri)
            if path is not None and not os.path.exists(path):
                # libxml2 would print an "I/O warning" to stderr first.
                raise exception.LibvirtError(
                    uri=self.uri, reason='no such file: %s' % path)
            try:
                if self.read_only:
                    self._conn = libvirt.openReadOnly(self.uri)
                else:
                    self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as e:
                raise self._error(e)
        return self._conn

    def close(self) -> None:
        """Close the connection; closing is best effort."""
        if self._conn is not None:
            try:
                self._conn.close()
            except libvirt.libvirtError:
                pass
            self._conn = None

    # -- domains -------------------------------------------------------------
    def domains(self) -> list[host_records.Domain]:
        """Every domain: running, paused, shut off and merely defined.

        :raises: :class:`nova_mig.exception.LibvirtError`.
        """
        conn = self._connect()
        try:
            result = [_domain(dom, dom.XMLDesc(0))
                      for dom in conn.listAllDomains(0)]
        except libvirt.libvirtError as e:
            raise self._error(e)
        return sorted(result, key=lambda d: d.name)

    def domains_using(self, mdev_uuid: str | None = None,
                      pci_address: str | None = None
                      ) -> list[host_records.Domain]:
        """Every domain (any state) referencing an mdev or a PCI address.

        Only the domains whose XML contains the device's UUID or PCI bus
        are parsed, so re-checking one device on a host with thousands of
        defined domains costs one ``XMLDesc`` each and a few parses.

        :raises: :class:`nova_mig.exception.LibvirtError`.
        """
        if mdev_uuid is not None:
            needle = mdev_uuid.lower()
        elif pci_address is not None:
            bus = pci_address.replace('.', ':').split(':')[1]
            needle = '0x%02x' % int(bus, 16)
        else:
            return []
        conn = self._connect()
        result = []
        try:
            for dom in conn.listAllDomains(0):
                xml = dom.XMLDesc(0)
                if needle not in xml.lower():
                    continue
                domain = _domain(dom, xml)
                if (mdev_uuid in domain.mdev_uuids or
                        pci_address in domain.pci_addresses):
                    result.append(domain)
        except libvirt.libvirtError as e:
            raise self._error(e)
        return result

    # -- node devices ------------------------------------------------------
    def mdev_node_devices(self) -> list[host_records.MdevNodeDevice]:
        """Every node device of the mdev capability.

        :raises: :class:`nova_mig.exception.LibvirtError`.
        """
        conn = self._connect()
        result = []
        try:
            devices = conn.listAllDevices(
                libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV)
            for dev in devices:
                parsed = parse_mdev_device_name(dev.name())
                if parsed is None:
                    LOG.debug('Ignoring node device %s', dev.name())
                    continue
                uuid, parent = parsed
                root = ElementTree.fromstring(dev.XMLDesc(0))
                type_el = root.find('./capability/type')
                if parent is None:
                    addr = root.findtext('./capability/parent_addr')
                    parent = addr.lower() if addr else None
                result.append(host_records.MdevNodeDevice(
                    name=dev.name(), uuid=uuid, parent=parent,
                    type_id=type_el.get('id') if type_el is not None
                    else None))
        except libvirt.libvirtError as e:
            raise self._error(e)
        return sorted(result, key=lambda d: d.uuid)

    def define_mdev(self, uuid: str, parent: str, mdev_type: str) -> bool:
        """Define an mdev as a node device and mark it autostart.

        :returns: False when the driver cannot define node devices.
        :raises: :class:`nova_mig.exception.LibvirtError` for any other
            failure.
        """
        try:
            dev = self._connect().nodeDeviceDefineXML(
                mdev_device_xml(uuid, parent, mdev_type), 0)
            dev.setAutostart(1)
        except libvirt.libvirtError as e:
            if _code(e) == libvirt.VIR_ERR_NO_SUPPORT:
                LOG.debug('libvirt at %s cannot define node devices: %s',
                          self.uri, e.get_error_message())
                return False
            raise self._error(e)
        return True

    def undefine_node_device(self, names: collections.abc.Iterable[str]
                             ) -> str:
        """Undefine the first of ``names`` that is a node device.

        :returns: :data:`UNDEFINED`, :data:`ABSENT`, :data:`UNSUPPORTED` or
            :data:`TRANSIENT`.
        :raises: :class:`nova_mig.exception.LibvirtError` when libvirt
            cannot be reached or fails otherwise.
        """
        conn = self._connect()
        for name in names:
            try:
                dev = conn.nodeDeviceLookupByName(name)
            except libvirt.libvirtError as e:
                if _code(e) == libvirt.VIR_ERR_NO_NODE_DEVICE:
                    continue
                raise self._error(e)
            try:
                dev.undefine(0)
            except libvirt.libvirtError as e:
                code = _code(e)
                LOG.debug('libvirt cannot undefine %s: %s', name,
                          e.get_error_message())
                if code in (libvirt.VIR_ERR_NO_SUPPORT,
                            libvirt.VIR_ERR_NO_NODE_DEVICE):
                    return UNSUPPORTED
                if code == libvirt.VIR_ERR_OPERATION_INVALID:
                    return TRANSIENT
                raise self._error(e)
            LOG.info('Undefined libvirt node device %s', name)
            return UNDEFINED
        return ABSENT


class NodeDevices:
    """Makes vGPU devices persistent as libvirt node devices, best effort.

    A failure is a warning (in :attr:`warnings`), never an error: the vGPU
    exists either way.  Once the driver says it cannot persist node
    devices, no further call reaches it.

    :param uri: the libvirt URI (``backend.libvirt_uri()``).
    """

    def __init__(self, uri: str):
        self.uri = uri
        self.host = LibvirtHost(uri, read_only=False)
        self.supported = True
        self.warnings: list[str] = []

    def close(self) -> None:
        self.host.close()

    def _unsupported(self) -> bool:
        LOG.debug('libvirt at %s cannot persist node devices; the boot '
                  'restore re-creates them', self.uri)
        self.supported = False
        return False

    def _warn(self, message: str) -> bool:
        self.warnings.append(message)
        LOG.warning(message)
        return False

    def define(self, uuid: str, parent: str, mdev_type: str) -> bool:
        """Define the mdev with autostart; False when not done."""
        if not self.supported:
            return False
        try:
            defined = self.host.define_mdev(uuid, parent, mdev_type)
        except exception.LibvirtError as e:
            return self._warn('vGPU %s was created but could not be defined '
                              'in libvirt: %s' % (uuid, e.kwargs['reason']))
        if not defined:
            return self._unsupported()
        LOG.info('Defined vGPU %s as a libvirt node device (autostart)',
                 uuid)
        return True

    def undefine(self, uuid: str, parent: str | None) -> bool:
        """Undefine the mdev so nova-compute does not start it again."""
        if not self.supported:
            return False
        try:
            outcome = self.host.undefine_node_device(mdev_names(uuid, parent))
        except exception.LibvirtError as e:
            return self._warn('vGPU %s: libvirt undefine failed: %s'
                              % (uuid, e.kwargs['reason']))
        if outcome == UNSUPPORTED:
            return self._unsupported()
        return outcome == UNDEFINED
