"""Render the simulated host as a sysfs tree laid out like the kernel's.

Device directories live under ``devices/pci<dom>:<bus>/...``; the
``bus/``, ``class/`` and ``kernel/iommu_groups/`` entries are relative
symlinks to them, so every sysfs reader that follows links (libvirt,
mdevctl, Nova, nova-mig) reads the tree as it reads ``/sys``.
"""

import os

from oslo_log import log as logging

from nova_mig.gpu import base
from nova_mig.simulator import catalog as catalog_mod
from nova_mig.simulator import pci
from nova_mig.simulator import state as state_mod

LOG = logging.getLogger(__name__)

NVIDIA_VENDOR = '0x10de'
#: PCI class of a 3D controller (data-centre GPUs and their VFs).
GPU_CLASS = '0x030200'
DRIVER = 'nvidia'
DEVICE_API = 'vfio-pci'
WRITE_ONLY = 0o200
#: Header line of the vendor-VFIO ``creatable_vgpu_types`` file.
VGPU_TYPES_HEADER = 'ID    : vGPU Name'


def type_dir_name(type_id: int) -> str:
    return 'nvidia-%d' % type_id


def description(vgpu_type: base.VgpuType, max_instance: int) -> str:
    """The ``description`` file, in NVIDIA's format."""
    series = catalog_mod.short_type_name(vgpu_type.name)[-1]
    heads = 4 if series in 'QB' else 1
    return ('num_heads=%d, frl_config=60, framebuffer=%dM, '
            'max_resolution=4096x2400, max_instance=%d'
            % (heads, vgpu_type.framebuffer_mb, max_instance))


def format_vgpu_types(types) -> str:
    """Vendor-VFIO ``creatable_vgpu_types`` content."""
    lines = [VGPU_TYPES_HEADER]
    lines += ['%-5d : %s' % (t.id, t.name) for t in types]
    return '\n'.join(lines) + '\n'


class _Tree:
    """Writes files and relative symlinks below one root directory.

    A rendering writes thousands of small files, so it remembers the
    directories it made and writes with bare system calls.
    """

    def __init__(self, root: str):
        self.root = root
        self.made = {root}

    def path(self, rel: str) -> str:
        return os.path.join(self.root, rel)

    def _parent(self, target: str) -> None:
        parent = os.path.dirname(target)
        if parent not in self.made:
            os.makedirs(parent, exist_ok=True)
            while parent not in self.made and parent != self.root:
                self.made.add(parent)
                parent = os.path.dirname(parent)

    def mkdir(self, rel: str) -> None:
        self._parent(os.path.join(self.path(rel), '.'))

    def write(self, rel: str, content, mode: int = 0o644) -> None:
        target = self.path(rel)
        self._parent(target)
        text = '' if content is None else str(content)
        if text and not text.endswith('\n'):
            text += '\n'
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            os.write(fd, text.encode('utf-8'))
        finally:
            os.close(fd)

    def link(self, rel: str, target_rel: str) -> None:
        link = self.path(rel)
        self._parent(link)
        os.symlink(os.path.relpath(self.path(target_rel),
                                   os.path.dirname(link)), link)


def _pci_function(tree: _Tree, address: str, device: int, group: int,
                  driver: bool = True) -> str:
    rel = pci.device_dir(address)
    tree.write(rel + '/vendor', NVIDIA_VENDOR)
    tree.write(rel + '/device', '0x%04x' % device)
    tree.write(rel + '/class', GPU_CLASS)
    tree.write(rel + '/subsystem_vendor', NVIDIA_VENDOR)
    tree.write(rel + '/numa_node', '0')
    tree.link('bus/pci/devices/' + address, rel)
    tree.link(rel + '/iommu_group', 'kernel/iommu_groups/%d' % group)
    tree.link('kernel/iommu_groups/%d/devices/%s' % (group, address), rel)
    if driver:
        tree.link(rel + '/driver', 'bus/pci/drivers/' + DRIVER)
        tree.link('bus/pci/drivers/%s/%s' % (DRIVER, address), rel)
    return rel


def _mdev_types(tree: _Tree, state: state_mod.HostState, gpu: dict,
                address: str, rel: str) -> None:
    on_vf = address != gpu['pci_address']
    tree.link('class/mdev_bus/' + address, rel)
    for vgpu_type in state.listed_types(gpu):
        type_rel = '%s/mdev_supported_types/%s' % (
            rel, type_dir_name(vgpu_type.id))
        tree.write(type_rel + '/name', vgpu_type.name)
        tree.write(type_rel + '/description', description(
            vgpu_type, 1 if on_vf else vgpu_type.max_instances))
        tree.write(type_rel + '/available_instances',
                   state.available_instances(gpu, address, vgpu_type))
        tree.write(type_rel + '/device_api', DEVICE_API)
        tree.write(type_rel + '/create', None, WRITE_ONLY)
        tree.mkdir(type_rel + '/devices')
    for vgpu in state.vgpus_on(address):
        mdev_rel = '%s/%s' % (rel, vgpu['uuid'])
        type_rel = '%s/mdev_supported_types/%s' % (
            rel, type_dir_name(vgpu['type_id']))
        tree.link(mdev_rel + '/mdev_type', type_rel)
        tree.link(type_rel + '/devices/' + vgpu['uuid'], mdev_rel)
        group = vgpu['iommu_group']
        tree.link(mdev_rel + '/iommu_group', 'kernel/iommu_groups/%d' % group)
        tree.link('kernel/iommu_groups/%d/devices/%s' % (group, vgpu['uuid']),
                  mdev_rel)
        tree.write(mdev_rel + '/remove', None, WRITE_ONLY)
        tree.link('bus/mdev/devices/' + vgpu['uuid'], mdev_rel)


def _vendor_vfio(tree: _Tree, state: state_mod.HostState, gpu: dict,
                 address: str, rel: str) -> None:
    model = state.model(gpu)
    carried = state.vgpus_on(address)
    tree.write(rel + '/nvidia/creatable_vgpu_types', format_vgpu_types(
        state.creatable_types(gpu, address)), 0o444)
    tree.write(rel + '/nvidia/supported_vgpu_types', format_vgpu_types(
        model.vgpu_types), 0o444)
    tree.write(rel + '/nvidia/current_vgpu_type',
               carried[0]['type_id'] if carried else 0, 0o644)


def render(state: state_mod.HostState, root: str) -> None:
    """Write the sysfs tree of ``state`` into the empty directory ``root``."""
    tree = _Tree(root)
    for rel in ('bus/pci/devices', 'bus/pci/drivers/' + DRIVER,
                'kernel/iommu_groups', 'devices/system'):
        tree.mkdir(rel)
    if state.device_mode == state_mod.MODE_MDEV:
        tree.mkdir('bus/mdev/devices')
        tree.mkdir('class/mdev_bus')
    for gpu in state.gpus:
        model = state.model(gpu)
        pf = gpu['pci_address']
        pf_rel = _pci_function(tree, pf, model.pci_device,
                               pci.pf_iommu_group(gpu['index']))
        parents = state.vgpu_parents(gpu)
        if model.sriov:
            tree.write(pf_rel + '/sriov_totalvfs', model.sriov_totalvfs,
                       0o444)
            tree.write(pf_rel + '/sriov_numvfs', gpu['numvfs'])
            tree.write(pf_rel + '/sriov_offset', pci.VF_OFFSET, 0o444)
            tree.write(pf_rel + '/sriov_stride', pci.VF_STRIDE, 0o444)
        for vf_index, vf in enumerate(state.vf_addresses(gpu)):
            vf_rel = _pci_function(tree, vf, model.pci_device,
                                   pci.vf_iommu_group(gpu['index'],
                                                      vf_index))
            tree.link('%s/virtfn%d' % (pf_rel, vf_index), vf_rel)
            tree.link(vf_rel + '/physfn', pf_rel)
            if vf not in parents:
                continue
            if state.device_mode == state_mod.MODE_MDEV:
                _mdev_types(tree, state, gpu, vf, vf_rel)
            else:
                _vendor_vfio(tree, state, gpu, vf, vf_rel)
        if pf in parents:
            _mdev_types(tree, state, gpu, pf, pf_rel)
    LOG.debug('Rendered sysfs tree of %s into %s', state.hostname, root)
