# SPDX-License-Identifier: Apache-2.0

"""Render the simulated host as a sysfs tree laid out like the kernel's.

Device directories live under ``devices/pci<dom>:<bus>/...``; the
``bus/``, ``class/`` and ``kernel/iommu_groups/`` entries are relative
symlinks to them, so every sysfs reader that follows links (libvirt,
mdevctl, Nova, nova-mig) reads the tree as it reads ``/sys``.
"""

import contextlib
import logging
import os
import shutil
import typing

from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import vgpu_types
from nova_mig.simulator import live_state
from nova_mig.simulator import pci

LOG = logging.getLogger(__name__)

NVIDIA_VENDOR = '0x10de'
#: PCI class of a 3D controller (data-centre GPUs and their VFs).
GPU_CLASS = '0x030200'
DRIVER = 'nvidia'
DEVICE_API = 'vfio-pci'
WRITE_ONLY = 0o200
#: Header line of the vendor-VFIO ``creatable_vgpu_types`` file.
VGPU_TYPES_HEADER = 'ID    : vGPU Name'

#: The entries of a rendering (see :class:`_Tree`): a directory, a file
#: (text, mode) and a relative symlink (target).
DirEntry = tuple[typing.Literal['d']]
FileEntry = tuple[typing.Literal['f'], str, int]
LinkEntry = tuple[typing.Literal['l'], str]
Entry = DirEntry | FileEntry | LinkEntry


def type_dir_name(type_id: int) -> str:
    return 'nvidia-%d' % type_id


def description(vgpu_type: gpu_records.VgpuType, max_instance: int) -> str:
    """The ``description`` file, in NVIDIA's format."""
    # "DC-2-12CME": the series is C, the suffix ME.
    parsed = vgpu_types.parse(vgpu_type.name)
    series = (parsed.series if parsed is not None
              else vgpu_types.bare_name(vgpu_type.name)[-1])
    heads = 4 if series in 'QB' else 1
    # C-series (compute) types print 4096x2160, the others 4096x2400.
    resolution = '4096x2160' if series == 'C' else '4096x2400'
    return ('num_heads=%d, frl_config=60, framebuffer=%dM, '
            'max_resolution=%s, max_instance=%d'
            % (heads, vgpu_type.framebuffer_mb, resolution, max_instance))


def format_vgpu_types(types: typing.Iterable[gpu_records.VgpuType]) -> str:
    """Vendor-VFIO ``creatable_vgpu_types`` content."""
    lines = [VGPU_TYPES_HEADER]
    lines += ['%-5d : %s' % (t.id, t.name) for t in types]
    return '\n'.join(lines) + '\n'


class _Tree:
    """Collects the entries of a rendering: files, directories, symlinks.

    Entries are keyed by their path relative to the tree's root: ``('d',)``
    for a directory, ``('f', text, mode)`` for a file and ``('l', target)``
    for a relative symlink. :func:`sync` writes them to disk.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _dirs(self, rel: str) -> None:
        while rel and rel not in self.entries:
            self.entries[rel] = ('d',)
            rel = os.path.dirname(rel)

    def mkdir(self, rel: str) -> None:
        self._dirs(rel)

    def write(self, rel: str, content: str | int | None,
              mode: int = 0o644) -> None:
        self._dirs(os.path.dirname(rel))
        text = '' if content is None else str(content)
        if text and not text.endswith('\n'):
            text += '\n'
        self.entries[rel] = ('f', text, mode)

    def link(self, rel: str, target_rel: str) -> None:
        self._dirs(os.path.dirname(rel))
        self.entries[rel] = ('l', _relative(target_rel,
                                            os.path.dirname(rel)))


def _relative(target: str, start: str) -> str:
    """``os.path.relpath`` for clean relative paths, without its cost."""
    to, frm = target.split('/'), start.split('/') if start else []
    common = 0
    for a, b in zip(to, frm):
        if a != b:
            break
        common += 1
    return '/'.join(['..'] * (len(frm) - common) + to[common:]) or '.'


def _depth(rel: str) -> int:
    return rel.count('/')


def _remove(path: str, kind: str) -> None:
    try:
        if kind == 'd' and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    except FileNotFoundError:
        pass


def sync(root: str, old: dict[str, Entry], new: dict[str, Entry]) -> int:
    """Make the tree under ``root`` go from rendering ``old`` to ``new``.

    Only the entries that differ are touched, as the kernel changes a few
    attributes of a live sysfs. Files are replaced (unlinked and created)
    so read-only attributes can change too.

    :returns: the number of entries written or removed.
    """
    gone = [rel for rel, entry in old.items()
            if rel not in new or new[rel][0] != entry[0]]
    for rel in sorted(gone, key=_depth, reverse=True):
        _remove(os.path.join(root, rel), old[rel][0])
    different = [rel for rel, entry in new.items() if old.get(rel) != entry]
    for rel in sorted(different, key=_depth):
        entry = new[rel]
        path = os.path.join(root, rel)
        if entry[0] == 'd':
            os.makedirs(path, exist_ok=True)
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        if entry[0] == 'l':
            os.symlink(entry[1], path)
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, entry[2])
        try:
            os.write(fd, entry[1].encode('utf-8'))
        finally:
            os.close(fd)
    return len(gone) + len(different)


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


def _mdev_types(tree: _Tree, state: live_state.HostState,
                gpu: live_state.GpuRecord, address: str, rel: str) -> None:
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
        # Its VFIO device file (iommufd kernels): /dev/vfio/devices/vfioN;
        # the simulator numbers it as its IOMMU group.
        tree.mkdir('%s/vfio-dev/vfio%d' % (mdev_rel, group))
        tree.link('bus/mdev/devices/' + vgpu['uuid'], mdev_rel)


def _vendor_vfio(tree: _Tree, state: live_state.HostState,
                 gpu: live_state.GpuRecord, address: str, rel: str) -> None:
    model = state.model(gpu)
    carried = state.vgpus_on(address)
    tree.write(rel + '/nvidia/creatable_vgpu_types', format_vgpu_types(
        state.creatable_types(gpu, address)), 0o444)
    tree.write(rel + '/nvidia/supported_vgpu_types', format_vgpu_types(
        model.vgpu_types), 0o444)
    tree.write(rel + '/nvidia/current_vgpu_type',
               carried[0]['type_id'] if carried else 0, 0o644)
    tree.write(rel + '/nvidia/vgpu_params', None, 0o644)
    if not carried:
        # The driver answers ENXIO here until the VF carries a vGPU; a
        # plain file cannot, so the simulated tree leaves them out (the
        # reader takes both alike).
        return
    vgpu = carried[0]
    gi = (state.gpu_instance(gpu, vgpu['gpu_instance_id'])
          if vgpu['gpu_instance_id'] is not None else None)
    if gi is not None:
        tree.write(rel + '/nvidia/gpu_instance_id', gi['id'], 0o444)
    # The simulator's choice: the GPU instance's placement start, or the
    # vGPU's rank on the GPU for a time-sliced type.
    tree.write(rel + '/nvidia/placement_id', gi['start'] if gi is not None
               else state.vgpus_of(gpu).index(vgpu), 0o444)


def render(state: live_state.HostState, root: str) -> None:
    """Write the sysfs tree of ``state`` into the empty directory ``root``."""
    sync(root, {}, entries(state))


def entries(state: live_state.HostState) -> dict[str, Entry]:
    """Every entry of the sysfs tree of ``state``; see :class:`_Tree`."""
    tree = _Tree()
    for rel in ('bus/pci/devices', 'bus/pci/drivers/' + DRIVER,
                'kernel/iommu_groups', 'devices/system'):
        tree.mkdir(rel)
    if state.device_mode == constants.MODE_MDEV:
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
            if state.device_mode == constants.MODE_MDEV:
                _mdev_types(tree, state, gpu, vf, vf_rel)
                continue
            _vendor_vfio(tree, state, gpu, vf, vf_rel)
            if state.vgpus_on(vf):
                # Bound to vfio-pci with a vGPU: its VFIO device file.
                tree.mkdir('%s/vfio-dev/vfio%d' % (vf_rel, pci.vf_iommu_group(
                    gpu['index'], vf_index)))
        if pf in parents:
            _mdev_types(tree, state, gpu, pf, pf_rel)
    return tree.entries
