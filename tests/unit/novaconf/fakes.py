# SPDX-License-Identifier: Apache-2.0

"""Hand-built host reports for the nova-config tests."""

from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records

P = gpu_records.Placement
PF0 = '0000:41:00.0'
PF1 = '0000:81:00.0'
T4_PF = '0000:3b:00.0'


def _profile(pid, name, slices, count, placements):
    return gpu_records.GpuInstanceProfile(
        pid, name, slices, 10000 * slices, count, 14 * slices,
        tuple(P(s, n) for s, n in placements))


#: A100 80GB profiles; IDs deliberately not NVIDIA's to prove nothing
#: depends on them.
A100_80 = (
    _profile(119, '1g.10gb', 1, 7, [(i, 1) for i in range(7)]),
    _profile(120, '1g.10gb+me', 1, 1, [(i, 1) for i in range(7)]),
    _profile(115, '1g.20gb', 1, 4, [(0, 2), (2, 2), (4, 2), (6, 2)]),
    _profile(114, '2g.20gb', 2, 3, [(0, 2), (2, 2), (4, 2)]),
    _profile(109, '3g.40gb', 3, 2, [(0, 4), (4, 4)]),
    _profile(100, '7g.80gb', 7, 1, [(0, 8)]),
)

#: mdev type ID -> name, as a VF of an A100 80GB lists them. The IDs are
#: not in name order, and a Q-series and an ME type share 1g profiles.
A100_TYPES = {
    'nvidia-900': 'NVIDIA A100D-1-10CME',
    'nvidia-901': 'NVIDIA A100D-1-10Q',
    'nvidia-902': 'NVIDIA A100D-3-40C',
    'nvidia-903': 'NVIDIA A100D-2-20C',
    'nvidia-904': 'NVIDIA A100D-1-10C',
    'nvidia-905': 'NVIDIA A100D-7-80C',
    'nvidia-910': 'NVIDIA A100D-20C',
}

T4_TYPES = {
    'nvidia-222': 'GRID T4-4Q',
    'nvidia-223': 'GRID T4-8Q',
    'nvidia-224': 'GRID T4-16Q',
}


def gi(gi_id, profile, start, size):
    pid = {p.name: p.id for p in A100_80}[profile]
    return gpu_records.GpuInstance(gi_id, pid, profile, P(start, size))


def a100(address=PF0, gis=(), mig=True, active=(), vgpu_types=None,
         index=0):
    return gpu_records.Gpu(
        index=index, pci_address=address, uuid='GPU-%d' % index,
        name='NVIDIA A100 80GB PCIe', pci_device_id=0x20B510DE,
        memory_total_mb=81920, compute_capability=(8, 0),
        mig_current=int(mig), mig_pending=int(mig), profiles=A100_80,
        gpu_instances=tuple(gis), vgpu_types=vgpu_types,
        active_vgpus=tuple(active))


def t4(address=T4_PF, index=0):
    return gpu_records.Gpu(
        index=index, pci_address=address, uuid='GPU-T4-%d' % index,
        name='Tesla T4', pci_device_id=0x1EB810DE, memory_total_mb=16384,
        compute_capability=(7, 5), mig_current=0, mig_pending=0,
        vgpu_types=(gpu_records.VgpuType(224, 'GRID T4-16Q', None, 16384, 1),))


def vfs(pf, count):
    """VF addresses of a PF: function 4 of the PF's slot, then onwards."""
    domain_bus = pf.rsplit(':', 1)[0]
    result = []
    for n in range(count):
        slot, func = divmod(4 + n, 8)
        result.append('%s:%02x.%d' % (domain_bus, slot, func))
    return result


def mdev_type(type_id, name, available=1, max_instance=1):
    return host_records.MdevType(
        id=type_id, name=name,
        description={'max_instance': str(max_instance)},
        available_instances=available, device_api='vfio-pci', devices=())


def mdev_parents(pf, addresses, types=None, max_instance=1):
    types = types or A100_TYPES
    types = tuple(mdev_type(t, n, max_instance=max_instance)
                  for t, n in sorted(types.items()))
    return [host_records.VgpuParent(address=a, pf_address=pf,
                                    mode=constants.MODE_MDEV, types=types)
            for a in addresses]


def vendor_parents(pf, current):
    """Vendor-VFIO VFs: address -> current type ID (0 = none)."""
    creatable = ((1414, 'NVIDIA A100D-1-10C'), (1416, 'NVIDIA A100D-3-40C'))
    return [host_records.VgpuParent(
        address=a, pf_address=pf, mode=constants.MODE_VENDOR_VFIO,
        types=tuple(host_records.MdevType(str(i), n, {}, 1, 'vfio-pci', ())
                    for i, n in creatable),
        current_type=t) for a, t in current.items()]


def mdev(uuid, type_id, parent):
    return host_records.Mdev(uuid=uuid, type_id=type_id, parent=parent,
                             iommu_group=None)


def report(gpus, parents, mdevs=(), mode=constants.MODE_MDEV, hostname='cn1'):
    sriov = {}
    for gpu in gpus:
        children = tuple(p.address for p in parents
                         if p.pf_address == gpu.pci_address and
                         p.address != gpu.pci_address)
        if children:
            sriov[gpu.pci_address] = host_records.SriovPf(
                gpu.pci_address, 32, len(children), children)
    return host_records.HostReport(
        hostname=hostname, device_mode=mode, gpus=list(gpus),
        parents=list(parents), mdevs=list(mdevs), sriov=sriov, domains=[],
        node_devices=[])


def mixed_report():
    """An A100 with a 3g.40gb and two 1g.10gb GPU instances, 6 VFs."""
    return a100_report(6, [gi(1, '3g.40gb', 0, 4), gi(2, '1g.10gb', 4, 1),
                           gi(3, '1g.10gb', 5, 1)])


def a100_report(vf_count, gis):
    """One MIG-enabled A100 with ``gis`` and ``vf_count`` mdev VFs."""
    addresses = vfs(PF0, vf_count)
    return report([a100(gis=gis)], mdev_parents(PF0, addresses)), addresses


# -- RTX PRO 6000 Blackwell Server Edition (IDs made up) ---------------------
RTX_PF = '0000:61:00.0'
RTX_PRO = (
    _profile(14, '1g.24gb', 1, 4, [(i, 1) for i in range(4)]),
    _profile(47, '1g.24gb+gfx', 1, 4, [(i, 1) for i in range(4)]),
    _profile(21, '2g.48gb', 2, 2, [(0, 2), (2, 2)]),
    _profile(35, '2g.48gb+gfx', 2, 2, [(0, 2), (2, 2)]),
    _profile(32, '4g.96gb+gfx', 4, 1, [(0, 4)]),
)
#: Its MIG-backed types run on +gfx instances only, and no name says so;
#: DC-1-8Q and DC-2-12C share their GPU instance (3 and 2 per instance).
RTX_TYPES = (
    gpu_records.VgpuType(1401, 'NVIDIA RTX Pro 6000 Blackwell DC-1-24Q', 47,
                         24576, 4, 1),
    gpu_records.VgpuType(1402, 'NVIDIA RTX Pro 6000 Blackwell DC-1-8Q', 47,
                         8192, 12, 3),
    gpu_records.VgpuType(1403, 'NVIDIA RTX Pro 6000 Blackwell DC-2-12C', 35,
                         12288, 4, 2),
    gpu_records.VgpuType(1410, 'NVIDIA RTX Pro 6000 Blackwell DC-24Q', None,
                         24576, 4),
)


def rtx_gi(gi_id, profile, start):
    found = {p.name: p for p in RTX_PRO}[profile]
    return gpu_records.GpuInstance(gi_id, found.id, profile,
                                   P(start, found.placements[0].size))


def rtx_pro_6000(gis=(), vgpu_types=RTX_TYPES, address=RTX_PF):
    return gpu_records.Gpu(
        index=0, pci_address=address, uuid='GPU-RTX-0',
        name='NVIDIA RTX PRO 6000 Blackwell Server Edition',
        pci_device_id=0x2BB510DE, memory_total_mb=97887,
        compute_capability=(12, 0), mig_current=1, mig_pending=1,
        profiles=RTX_PRO, gpu_instances=tuple(gis), vgpu_types=vgpu_types)


def rtx_report(vf_count, gis, current=None, vgpu_types=RTX_TYPES):
    """A vendor-VFIO RTX PRO 6000; ``current``: VF index -> type ID."""
    addresses = vfs(RTX_PF, vf_count)
    creatable = tuple(host_records.MdevType(str(t.id), t.name, {}, 1,
                                            'vfio-pci', ())
                      for t in RTX_TYPES if t.gpu_instance_profile_id)
    parents = [host_records.VgpuParent(
        address=a, pf_address=RTX_PF, mode=constants.MODE_VENDOR_VFIO,
        types=creatable, current_type=(current or {}).get(n, 0))
        for n, a in enumerate(addresses)]
    gpu = rtx_pro_6000(gis, vgpu_types)
    return (report([gpu], parents, mode=constants.MODE_VENDOR_VFIO),
            addresses)
