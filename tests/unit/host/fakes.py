# SPDX-License-Identifier: Apache-2.0

"""Fakes for the host tests: a hand-built sysfs tree, libvirt, a backend."""

import os

import fixtures
import libvirt

from nova_mig.gpu import backend_api
from nova_mig import sysfs_gateway

# -- libvirt XML ----------------------------------------------------------
DOMAIN = """
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>%(name)s</name>
    <memory>1048576</memory><vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    %(metadata)s
    <devices>%(devices)s</devices>
    <test:runstate>%(state)d</test:runstate>
  </domain>"""
NOVA_METADATA = """<metadata>
      <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
        <nova:name>vm</nova:name>
      </nova:instance></metadata>"""
MDEV = """<hostdev mode='subsystem' type='mdev' model='vfio-pci'>
        <source><address uuid='%s'/></source></hostdev>"""
PCI = """<hostdev mode='subsystem' type='pci' managed='no'>
        <source><address domain='0x0000' bus='0xc1' slot='0x00'
                         function='0x4'/></source></hostdev>"""
PARENT = """
  <device>
    <name>pci_0000_41_00_4</name>
    <parent>computer</parent>
    <capability type='pci'>
      <domain>0</domain><bus>65</bus><slot>0</slot><function>4</function>
      <product id='0x20b5'>GA100</product>
      <vendor id='0x10de'>NVIDIA Corporation</vendor>
      <capability type='mdev_types'>
        <type id='nvidia-700'><name>NVIDIA A100D-1-10C</name>
          <deviceAPI>vfio-pci</deviceAPI>
          <availableInstances>0</availableInstances></type>
      </capability>
    </capability>
  </device>"""
MDEV_DEVICE = """
  <device>
    <name>%(name)s</name>
    <parent>pci_0000_41_00_4</parent>
    <capability type='mdev'>
      <type id='nvidia-700'/>
      <uuid>%(uuid)s</uuid>
      <iommuGroup number='12'/>
    </capability>
  </device>"""


def domain_xml(name: str, devices: str = '', nova: bool = True,
               state: int = libvirt.VIR_DOMAIN_RUNNING) -> str:
    """A domain XML the test driver accepts, as a string."""
    return DOMAIN % dict(name=name, metadata=NOVA_METADATA if nova else '',
                         devices=devices, state=state)


def mdev_device_xml(name: str, uuid: str) -> str:
    return MDEV_DEVICE % dict(name=name, uuid=uuid)


# -- libvirt ----------------------------------------------------------------
def libvirt_error(code: int, message: str = 'boom') -> libvirt.libvirtError:
    """A libvirtError carrying ``code``, as libvirt raises them."""
    error = libvirt.libvirtError(message)
    error.err = (code, 0, message, 0, '', '', '', 0, 0)
    return error


class FakeDomain:
    """The few ``virDomain`` calls nova-mig makes."""

    def __init__(self, name, xml, state=libvirt.VIR_DOMAIN_RUNNING,
                 uuid=None, persistent=True):
        self._name, self.xml, self._state = name, xml, state
        self.uuid = uuid or '0d000000-0000-4000-8000-%012d' % len(name)
        self.persistent = persistent

    def name(self):
        return self._name

    def UUIDString(self):
        return self.uuid

    def state(self):
        return [self._state, 0]

    def isPersistent(self):
        return int(self.persistent)

    def XMLDesc(self, flags=0):
        return self.xml


class FakeNodeDevice:
    """A ``virNodeDevice``; ``undefine_error`` makes undefine fail."""

    def __init__(self, name, xml='<device/>', undefine_error=None):
        self._name, self.xml = name, xml
        self.undefine_error = undefine_error
        self.autostart = None
        self.undefined = False

    def name(self):
        return self._name

    def XMLDesc(self, flags=0):
        return self.xml

    def setAutostart(self, value):
        self.autostart = value

    def undefine(self, flags=0):
        if self.undefine_error is not None:
            raise self.undefine_error
        self.undefined = True


class FakeConnection:
    """A libvirt connection over in-memory domains and node devices.

    ``error`` makes every call fail with it; ``define_error`` only
    ``nodeDeviceDefineXML``.
    """

    def __init__(self, domains=(), devices=(), error=None,
                 define_error=None):
        self.domains = list(domains)
        self.devices = {d.name(): d for d in devices}
        self.error, self.define_error = error, define_error
        self.defined = []
        self.closed = False

    def _check(self):
        if self.error is not None:
            raise self.error

    def listAllDomains(self, flags=0):
        self._check()
        return list(self.domains)

    def listAllDevices(self, flags=0):
        self._check()
        assert flags == libvirt.VIR_CONNECT_LIST_NODE_DEVICES_CAP_MDEV
        return [d for d in self.devices.values()
                if d.name().startswith('mdev_')]

    def nodeDeviceLookupByName(self, name):
        self._check()
        if name not in self.devices:
            raise libvirt_error(libvirt.VIR_ERR_NO_NODE_DEVICE,
                                'no node device %s' % name)
        return self.devices[name]

    def nodeDeviceDefineXML(self, xml, flags=0):
        self._check()
        if self.define_error is not None:
            raise self.define_error
        self.defined.append(xml)
        device = FakeNodeDevice('defined-%d' % len(self.defined), xml)
        self.devices[device.name()] = device
        return device

    def close(self):
        self.closed = True


class FakeLibvirt(fixtures.Fixture):
    """Makes ``libvirt.open`` and ``openReadOnly`` answer a fake connection.

    ``opened`` records ``(function, uri)`` of every connection opened;
    ``open_error`` makes opening fail.
    """

    def __init__(self, conn=None, open_error=None):
        super().__init__()
        self.conn = conn or FakeConnection()
        self.open_error = open_error
        self.opened = []

    def _opener(self, kind):
        def _open(uri):
            self.opened.append((kind, uri))
            if self.open_error is not None:
                raise self.open_error
            return self.conn
        return _open

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(
            libvirt, 'open', self._opener('open')))
        self.useFixture(fixtures.MockPatchObject(
            libvirt, 'openReadOnly', self._opener('openReadOnly')))


# -- sysfs ------------------------------------------------------------------
class Tree:
    """Builds a small sysfs tree: real directories, kernel-style symlinks."""

    def __init__(self, root):
        self.root = root
        for d in ('devices/pci0000:40/0000:40:01.1', 'bus/pci/devices',
                  'class/mdev_bus', 'bus/mdev/devices', 'kernel/iommu_groups'):
            os.makedirs(os.path.join(root, d), exist_ok=True)

    def _write(self, path, value):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('%s\n' % value)

    def dev_dir(self, address):
        return os.path.join(self.root, 'devices/pci0000:40/0000:40:01.1',
                            address)

    def pci(self, address, pf=None, total_vfs=None):
        d = self.dev_dir(address)
        self._write(os.path.join(d, 'vendor'), '0x10de')
        os.symlink(os.path.relpath(d, os.path.join(self.root,
                                                   'bus/pci/devices')),
                   os.path.join(self.root, 'bus/pci/devices', address))
        if total_vfs is not None:
            self._write(os.path.join(d, 'sriov_totalvfs'), total_vfs)
            self._write(os.path.join(d, 'sriov_numvfs'), 0)
        if pf is not None:
            os.symlink('../' + pf, os.path.join(d, 'physfn'))
            pf_dir = self.dev_dir(pf)
            n = len([e for e in os.listdir(pf_dir)
                     if e.startswith('virtfn')])
            os.symlink('../' + address, os.path.join(pf_dir, 'virtfn%d' % n))
            self._write(os.path.join(pf_dir, 'sriov_numvfs'), n + 1)
        return d

    def mdev_parent(self, address, types):
        d = self.dev_dir(address)
        os.symlink(os.path.relpath(d, os.path.join(self.root,
                                                   'class/mdev_bus')),
                   os.path.join(self.root, 'class/mdev_bus', address))
        for type_id, (name, avail) in types.items():
            t = os.path.join(d, 'mdev_supported_types', type_id)
            self._write(os.path.join(t, 'name'), name)
            self._write(os.path.join(t, 'description'),
                        'num_heads=1, frl_config=60, framebuffer=10240M, '
                        'max_resolution=4096x2400, max_instance=1')
            self._write(os.path.join(t, 'available_instances'), avail)
            self._write(os.path.join(t, 'device_api'), 'vfio-pci')
            os.makedirs(os.path.join(t, 'devices'))

    def mdev(self, parent, type_id, uuid, group):
        pdir = self.dev_dir(parent)
        d = os.path.join(pdir, uuid)
        os.makedirs(d)
        os.symlink('../mdev_supported_types/' + type_id,
                   os.path.join(d, 'mdev_type'))
        os.makedirs(os.path.join(self.root, 'kernel/iommu_groups',
                                 str(group)), exist_ok=True)
        os.symlink(os.path.join(self.root, 'kernel/iommu_groups', str(group)),
                   os.path.join(d, 'iommu_group'))
        os.symlink(os.path.relpath(d, os.path.join(self.root,
                                                   'bus/mdev/devices')),
                   os.path.join(self.root, 'bus/mdev/devices', uuid))
        tdev = os.path.join(pdir, 'mdev_supported_types', type_id, 'devices')
        os.symlink('../../../' + uuid, os.path.join(tdev, uuid))

    def vendor_vf(self, address, creatable, current=0, gpu_instance=None,
                  placement=None, params=None, colon=True):
        d = self.dev_dir(address)
        line = '%d : %s' if colon else '%d %s'
        self._write(os.path.join(d, 'nvidia/creatable_vgpu_types'),
                    '\n'.join(line % c for c in creatable))
        self._write(os.path.join(d, 'nvidia/current_vgpu_type'), current)
        for name, value in (('gpu_instance_id', gpu_instance),
                            ('placement_id', placement),
                            ('vgpu_params', params)):
            if value is not None:
                self._write(os.path.join(d, 'nvidia', name), value)


# -- GPU backend ------------------------------------------------------------
class RecordingWriter:
    """A sysfs writer that writes plain files and records each write.

    Its intents write the attribute the gateway names, in a plain folder
    (no device checks: :mod:`tests.unit.privsep.test_sysfs` tests those);
    ``writes`` lists ``(path, value)``.
    """

    def __init__(self, root=None):
        self.writes = []
        self.sysfs = sysfs_gateway.Sysfs(root or '/nonexistent')

    def write(self, path, value):
        self.writes.append((path, value))
        with open(path, 'w') as f:
            f.write(value)

    def set_sriov_numvfs(self, pf, count):
        self.write(self.sysfs.pci(pf, sysfs_gateway.SRIOV_NUMVFS), str(count))

    def create_mdev(self, parent, type_id, uuid):
        self.write(self.sysfs.pci(parent, sysfs_gateway.SUPPORTED_TYPES,
                                  type_id,
                                  'create'), uuid)

    def remove_mdev(self, uuid):
        self.write(self.sysfs.mdev(uuid, 'remove'), '1')

    def set_vgpu_type(self, vf, type_id):
        self.write(self.sysfs.pci(vf, sysfs_gateway.VENDOR_DIR,
                                  sysfs_gateway.CURRENT_TYPE), str(type_id))

    def clear_vgpu_type(self, vf):
        self.set_vgpu_type(vf, 0)


class FakeBackend(backend_api.GpuBackend):
    """A backend over given GPUs, a sysfs root and a libvirt URI.

    Its sysfs writer is a :class:`RecordingWriter`; it changes no GPU.
    """

    def __init__(self, conf, gpus, root, uri='qemu:///system'):
        super().__init__(conf)
        self.gpus, self.root, self.uri = gpus, root, uri
        self.hostname = 'compute-1'
        self.writer = RecordingWriter(root)

    def sysfs_root(self):
        return self.root

    def libvirt_uri(self):
        return self.uri

    def sysfs_writer(self):
        return self.writer

    def list_gpus(self):
        return self.gpus

    def _refuse(self, *args, **kwargs):
        raise NotImplementedError()

    create_gpu_instance = destroy_gpu_instance = _refuse
    create_compute_instance = destroy_compute_instance = _refuse
