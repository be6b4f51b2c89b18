"""Read the guests and mediated node devices libvirt knows about."""

import dataclasses
import re
from xml.etree import ElementTree

import libvirt
from oslo_log import log as logging

from nova_mig import exception

LOG = logging.getLogger(__name__)

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


@dataclasses.dataclass(frozen=True)
class Domain:
    """A libvirt domain and the host devices it references."""

    name: str
    uuid: str
    state: str
    persistent: bool
    #: True when the domain carries Nova's metadata (an instance).
    nova_instance: bool
    mdev_uuids: tuple[str, ...]
    pci_addresses: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class MdevNodeDevice:
    """A libvirt node device of the ``mdev`` capability."""

    name: str
    uuid: str
    parent: str | None         # PCI address of the parent when known
    type_id: str | None


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


def _pci_address(element) -> str | None:
    try:
        return '%04x:%02x:%02x.%x' % tuple(
            int(element.get(key), 16)
            for key in ('domain', 'bus', 'slot', 'function'))
    except (TypeError, ValueError):
        return None


def parse_domain_xml(xml: str) -> tuple[tuple[str, ...], tuple[str, ...],
                                        bool]:
    """The mdev UUIDs and PCI addresses a domain XML references.

    :returns: ``(mdev uuids, pci addresses, is a Nova instance)``.
    """
    root = ElementTree.fromstring(xml)
    mdevs, pcis = [], []
    for hostdev in root.iterfind('./devices/hostdev'):
        if hostdev.get('type') == 'mdev':
            address = hostdev.find('./source/address')
            if address is not None and address.get('uuid'):
                mdevs.append(address.get('uuid').lower())
        elif hostdev.get('type') == 'pci':
            address = hostdev.find('./source/address')
            if address is not None:
                pci = _pci_address(address)
                if pci:
                    pcis.append(pci)
    nova = root.find('./metadata/{%s}instance' % NOVA_NS) is not None
    return tuple(mdevs), tuple(pcis), nova


class LibvirtHost:
    """Read-only view of a libvirt daemon.

    :param uri: a libvirt URI, e.g. ``qemu:///system`` or ``test:///f.xml``.
    """

    def __init__(self, uri: str):
        self.uri = uri
        self._conn = None

    def _connect(self):
        if self._conn is None:
            # libvirt prints every error on stderr unless told otherwise;
            # nova-mig reports errors itself.
            libvirt.registerErrorHandler(lambda ctx, err: None, None)
            try:
                self._conn = libvirt.openReadOnly(self.uri)
            except libvirt.libvirtError as e:
                raise exception.LibvirtError(uri=self.uri,
                                             reason=e.get_error_message())
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except libvirt.libvirtError:
                pass
            self._conn = None

    def domains(self) -> list[Domain]:
        """Every domain: running, paused, shut off and merely defined."""
        conn = self._connect()
        result = []
        try:
            for dom in conn.listAllDomains(0):
                state = dom.state()[0]
                mdevs, pcis, nova = parse_domain_xml(dom.XMLDesc(0))
                result.append(Domain(
                    name=dom.name(), uuid=dom.UUIDString(),
                    state=_STATES.get(state, 'unknown'),
                    persistent=bool(dom.isPersistent()),
                    nova_instance=nova, mdev_uuids=mdevs,
                    pci_addresses=pcis))
        except libvirt.libvirtError as e:
            raise exception.LibvirtError(uri=self.uri,
                                         reason=e.get_error_message())
        return sorted(result, key=lambda d: d.name)

    def mdev_node_devices(self) -> list[MdevNodeDevice]:
        """Every node device of the mdev capability."""
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
                result.append(MdevNodeDevice(
                    name=dev.name(), uuid=uuid, parent=parent,
                    type_id=type_el.get('id') if type_el is not None
                    else None))
        except libvirt.libvirtError as e:
            raise exception.LibvirtError(uri=self.uri,
                                         reason=e.get_error_message())
        return sorted(result, key=lambda d: d.uuid)
