# SPDX-License-Identifier: Apache-2.0

"""A small sysfs tree laid out like the kernel's, with hostile entries.

NVIDIA PF ``0000:41:00.0`` (SR-IOV, 16 VFs at most, one mdev type and one
mdev), its vendor-VFIO VF ``0000:41:00.4``, an Intel PF ``0000:61:00.0``
with an mdev of its own, and the attacks: a ``bus/pci/devices`` entry and
an mdev leading out of the tree, attributes that are symlinks out of
their device, an mdev type folder that is another device's.
"""

import os

NVIDIA_PF = '0000:41:00.0'
NVIDIA_VF = '0000:41:00.4'
INTEL_PF = '0000:61:00.0'
#: A bus/pci/devices entry whose device lies outside the tree.
ESCAPED = '0000:42:00.0'
#: A PF whose sriov_numvfs is a symlink to a file outside the device.
LINKED = '0000:43:00.0'
MDEV = 'c0ffee00-0000-4000-8000-000000000001'
INTEL_MDEV = 'c0ffee00-0000-4000-8000-000000000002'
ESCAPED_MDEV = 'c0ffee00-0000-4000-8000-000000000003'
TYPE = 'nvidia-500'
#: A type folder of the NVIDIA PF that is a symlink to the Intel PF's.
FOREIGN_TYPE = 'nvidia-501'


def _file(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    os.chmod(path, mode)


def build(top: str) -> dict[str, str]:
    """Write the tree as ``top/sys``; return the interesting paths.

    ``outside`` is a file outside the tree every attack aims at; it holds
    ``keep`` and must keep it.
    """
    sys_root = os.path.join(top, 'sys')
    paths = {'sys': sys_root, 'outside': os.path.join(top, 'outside')}
    _file(paths['outside'], 'keep')

    def device(address: str, vendor: str, where: str | None = None) -> str:
        dev = where or os.path.join(sys_root, 'devices', 'pci0000:%s'
                                    % address[5:7], address)
        _file(os.path.join(dev, 'vendor'), vendor + '\n', 0o444)
        link = os.path.join(sys_root, 'bus', 'pci', 'devices', address)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(dev, os.path.dirname(link)), link)
        return dev

    def mdev(parent_dir: str, uuid: str) -> str:
        dev = os.path.join(parent_dir, uuid)
        _file(os.path.join(dev, 'remove'), '', 0o200)
        link = os.path.join(sys_root, 'bus', 'mdev', 'devices', uuid)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(dev, os.path.dirname(link)), link)
        return dev

    pf = device(NVIDIA_PF, '0x10de')
    _file(os.path.join(pf, 'sriov_totalvfs'), '16\n', 0o444)
    _file(os.path.join(pf, 'sriov_numvfs'), '0\n')
    types = os.path.join(pf, 'mdev_supported_types')
    _file(os.path.join(types, TYPE, 'create'), '', 0o200)
    _file(os.path.join(types, TYPE, 'name'), 'GRID A100-4C\n', 0o444)
    paths['pf'] = pf
    paths['mdev'] = mdev(pf, MDEV)
    vf = device(NVIDIA_VF, '0x10de')
    _file(os.path.join(vf, 'nvidia', 'current_vgpu_type'), '0\n')
    paths['vf'] = vf
    intel = device(INTEL_PF, '0x8086')
    _file(os.path.join(intel, 'sriov_totalvfs'), '16\n', 0o444)
    _file(os.path.join(intel, 'sriov_numvfs'), '0\n')
    _file(os.path.join(intel, 'mdev_supported_types', TYPE, 'create'), '',
          0o200)
    os.symlink(os.path.join(intel, 'mdev_supported_types', TYPE),
               os.path.join(types, FOREIGN_TYPE))
    paths['intel'] = intel
    paths['intel_mdev'] = mdev(intel, INTEL_MDEV)
    # Out of the tree: a whole NVIDIA-looking device, and an mdev.
    escaped = device(ESCAPED, '0x10de', os.path.join(top, 'escaped'))
    _file(os.path.join(escaped, 'sriov_totalvfs'), '16\n')
    _file(os.path.join(escaped, 'sriov_numvfs'), '0\n')
    paths['escaped'] = escaped
    mdev(os.path.join(top, 'escaped'), ESCAPED_MDEV)
    linked = device(LINKED, '0x10de')
    _file(os.path.join(linked, 'sriov_totalvfs'), '16\n', 0o444)
    os.symlink(paths['outside'], os.path.join(linked, 'sriov_numvfs'))
    return paths


def read(path: str) -> str:
    with open(path) as f:
        return f.read()
