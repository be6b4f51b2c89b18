# SPDX-License-Identifier: Apache-2.0

"""A read-only hardware self-check: do NVML, sysfs, libvirt and the catalog
agree about this host?

``nova-mig self-check`` runs it first thing on new hardware. Each source
nova-mig reads tells part of the story: NVML the GPUs, their MIG profiles
and the vGPU types with the GPU-instance profile behind each; sysfs the PCI
functions, their driver, the SR-IOV VFs, the vGPU types and devices the
kernel offers; libvirt the mdev node devices and the guests holding them;
nova-mig's GPU catalog (the simulator's reference of each card, by PCI
device ID) what NVIDIA's published tables say the card has. Every
disagreement is one :class:`Finding` naming both sides. Nothing is written
to the host.

The catalog arrives as plain data (:func:`reference_from`) so that this
module does not depend on the simulator: the command line loads it
through the ``nova_mig.reference_catalogs`` entry point.
"""

import collections.abc
import dataclasses
import os
import typing

from nova_mig import exception
from nova_mig.host import sysfs
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import host_records
from nova_mig.model import vgpu_types

#: Finding statuses: the sources agree; they disagree (a bug to report, or
#: a host to fix); worth knowing, not wrong; the catalog does not know
#: the card (new hardware: send the capture).
OK = 'ok'
DIFFERS = 'differs'
NOTE = 'note'
UNKNOWN = 'unknown'

#: The kernel driver of a GPU nova-mig manages.
NVIDIA_DRIVER = 'nvidia'
NVIDIA_VENDOR = '0x10de'
#: Profile suffixes nvidia-ml-py older than 12.575 cannot list.
NEWER_PROFILE_SUFFIXES = ('+gfx', '-me', '+me.all')

#: One reference card: ``key``, ``pci_device`` (16-bit), ``nvml_name``,
#: ``profiles`` (``id``, ``name``, ``instances``) and ``vgpu_types``
#: (``name`` bare, ``profile`` name or None).
Reference = dict[str, typing.Any]


@dataclasses.dataclass(frozen=True)
class Finding:
    """One comparison and its outcome."""

    check: str
    subject: str
    status: str
    detail: str

    def row(self) -> tuple[str, str, str, str]:
        return (self.check, self.subject, self.status, self.detail)


class _Checker:

    def __init__(self, report: host_records.HostReport, sysfs_root: str,
                 reference: list[Reference] | None):
        self.report = report
        self.reader = sysfs.SysfsReader(sysfs_root)
        self.reference = reference
        self.findings: list[Finding] = []

    def add(self, check: str, subject: str, status: str, detail: str,
            *args: object) -> None:
        self.findings.append(Finding(check, subject, status,
                                     detail % args if args else detail))

    def read(self, *parts: str) -> str | None:
        try:
            return self.reader.read(self.reader.path(*parts)).strip()
        except exception.NovaMigException:
            return None

    # -- NVML against sysfs ---------------------------------------------
    def pci_function(self, gpu: gpu_records.Gpu) -> None:
        where = self.reader.path(sysfs.PCI_DEVICES, gpu.pci_address)
        if not os.path.isdir(where):
            self.add('pci function', gpu.pci_address, DIFFERS,
                     'NVML lists GPU %s (%s); sysfs has no %s', gpu.uuid,
                     gpu.name, where)
            return
        vendor = self.read(sysfs.PCI_DEVICES, gpu.pci_address, 'vendor')
        device = self.read(sysfs.PCI_DEVICES, gpu.pci_address, 'device')
        nvml_device = '0x%04x' % (gpu.pci_device_id >> 16)
        if vendor is None or device is None:
            self.add('pci id', gpu.pci_address, DIFFERS,
                     'sysfs vendor/device unreadable; NVML says %s',
                     nvml_device)
        elif (vendor.lower(), device.lower()) != (NVIDIA_VENDOR, nvml_device):
            self.add('pci id', gpu.pci_address, DIFFERS,
                     'sysfs says %s:%s, NVML says %s:%s (pciDeviceId '
                     '0x%08X)', vendor, device, NVIDIA_VENDOR, nvml_device,
                     gpu.pci_device_id)
        else:
            self.add('pci id', gpu.pci_address, OK, '%s:%s (%s)', vendor,
                     device, gpu.name)
        driver = self.reader.link_name(self.reader.path(
            sysfs.PCI_DEVICES, gpu.pci_address, 'driver'))
        if driver != NVIDIA_DRIVER:
            self.add('driver', gpu.pci_address, DIFFERS,
                     'NVML manages it, sysfs binds it to %s, not %s',
                     driver or 'no driver', NVIDIA_DRIVER)

    def mig_mode(self, gpu: gpu_records.Gpu) -> None:
        if gpu.mig_current is None:
            return
        if gpu.mig_current != gpu.mig_pending:
            self.add('mig mode', gpu.pci_address, NOTE,
                     'current %s, pending %s: the change waits for a GPU '
                     'reset', gpu.mig_current, gpu.mig_pending)

    def sriov(self) -> None:
        for address, pf in sorted(self.report.sriov.items()):
            if pf.num_vfs != len(pf.vfs):
                self.add('sr-iov', address, DIFFERS,
                         'sriov_numvfs says %d, %d virtfn link(s) exist',
                         pf.num_vfs, len(pf.vfs))
            elif pf.num_vfs:
                self.add('sr-iov', address, OK, '%d of %d VF(s) enabled',
                         pf.num_vfs, pf.total_vfs)

    def parent_types(self, gpu: gpu_records.Gpu) -> None:
        nvml = {vgpu_types.bare_name(t.name) for t in gpu.vgpu_types or ()}
        parents = [p for p in self.report.parents
                   if p.pf_address == gpu.pci_address]
        if not nvml or not parents:
            return
        offered = {vgpu_types.bare_name(t.name) for p in parents
                   for t in p.types}
        extra = sorted(offered - nvml)
        if extra:
            self.add('vgpu types', gpu.pci_address, DIFFERS,
                     'sysfs offers %s, which NVML does not list for this GPU',
                     ', '.join(extra))
        gis = {gi.id for gi in gpu.gpu_instances}
        for parent in parents:
            if (parent.gpu_instance_id is not None and
                    parent.gpu_instance_id not in gis):
                self.add('gpu instance', parent.address, DIFFERS,
                         'nvidia/gpu_instance_id says %d; NVML has GPU '
                         'instances %s on %s', parent.gpu_instance_id,
                         sorted(gis) or 'none', gpu.pci_address)

    # -- NVML and libvirt against sysfs -----------------------------------
    def devices(self) -> None:
        mdevs = {m.uuid for m in self.report.mdevs}
        for gpu in self.report.gpus:
            if self.report.device_mode != constants.MODE_MDEV:
                # Vendor-specific VFIO: NVML's UUID is the vGPU's own.
                break
            for active in gpu.active_vgpus:
                if active.mdev_uuid and active.mdev_uuid not in mdevs:
                    self.add('vgpu device', active.mdev_uuid, DIFFERS,
                             'NVML runs it on %s; sysfs has no such mdev',
                             gpu.pci_address)
        nodes = {d.uuid: d for d in self.report.node_devices}
        for uuid in sorted(set(nodes) - mdevs):
            self.add('libvirt', uuid, NOTE,
                     'libvirt defines mdev node device %s, sysfs has no '
                     'such mdev (defined, not started)', nodes[uuid].name)
        if nodes:
            for uuid in sorted(mdevs - set(nodes)):
                self.add('libvirt', uuid, DIFFERS,
                         'sysfs has this mdev, libvirt lists no node device '
                         'for it')
        addresses = {p.address for p in self.report.parents}
        for domain in self.report.domains:
            running = domain.state in ('running', 'paused')
            for uuid in domain.mdev_uuids:
                if uuid not in mdevs:
                    self.add('libvirt', domain.name, DIFFERS if running
                             else NOTE, 'domain (%s) uses mdev %s, which '
                             'sysfs does not have', domain.state, uuid)
            for address in domain.pci_addresses:
                if address in addresses or not running:
                    continue
                if not os.path.isdir(self.reader.path(sysfs.PCI_DEVICES,
                                                      address)):
                    self.add('libvirt', domain.name, DIFFERS,
                             'domain (%s) uses PCI device %s, which sysfs '
                             'does not have', domain.state, address)

    # -- the driver's mapping against the names and the catalog ----------
    def mapping(self, gpu: gpu_records.Gpu) -> None:
        names = {p.name for p in gpu.profiles}
        unnamed = []
        for vtype in gpu.vgpu_types or ():
            found = vgpu_types.backing(vtype.name, gpu)
            bare = vgpu_types.bare_name(vtype.name)
            if found.mapping == vgpu_types.MAPPING_UNKNOWN:
                self.add('mapping', gpu.pci_address, DIFFERS, '%s',
                         found.reason)
                continue
            if found.mapping != vgpu_types.MAPPING_DRIVER:
                continue
            if found.profile is None and vtype.gpu_instance_profile_id \
                    is not None:
                self.add('mapping', gpu.pci_address, DIFFERS,
                         'NVML maps %s to GPU-instance profile %d, which '
                         'NVML\'s profile list lacks (nvidia-ml-py too old '
                         'for the card?)', bare,
                         vtype.gpu_instance_profile_id)
                continue
            by_name = vgpu_types.profile_for(vtype.name, names)
            if found.profile and by_name != found.profile:
                unnamed.append('%s on %s' % (bare, found.profile))
        if unnamed:
            self.add('mapping', gpu.pci_address, NOTE,
                     '%d vGPU type(s) run on a GPU instance their names do '
                     'not give (nova-mig follows NVML): %s', len(unnamed),
                     ', '.join(unnamed))

    def catalog(self, gpu: gpu_records.Gpu) -> None:
        if self.reference is None:
            return
        device = gpu.pci_device_id >> 16
        cards = [c for c in self.reference if c['pci_device'] == device]
        if not cards:
            self.add('catalog', gpu.pci_address, UNKNOWN,
                     'PCI device 0x%04x (%s) is not in nova-mig\'s catalog: '
                     'new hardware, please send the capture', device,
                     gpu.name)
            return
        nvml = {vgpu_types.bare_name(t.name) for t in gpu.vgpu_types or ()}
        card = max(cards, key=lambda c: len(nvml & {
            t['name'] for t in c['vgpu_types']}))
        before = len(self.findings)
        self.catalog_profiles(gpu, card)
        self.catalog_types(gpu, card)
        if len(self.findings) == before:
            self.add('catalog', gpu.pci_address, OK, 'matches %s',
                     card['key'])

    def catalog_profiles(self, gpu: gpu_records.Gpu, card: Reference) -> None:
        if not gpu.profiles:
            return
        ours = {p['name']: (p['id'], p['instances'])
                for p in card['profiles']}
        nvml = {p.name: (p.id, p.instance_count) for p in gpu.profiles}
        for name in sorted(set(ours) | set(nvml)):
            if name not in nvml:
                hint = (' (nvidia-ml-py older than 12.575 lists no %s '
                        'profile)' % '/'.join(NEWER_PROFILE_SUFFIXES)
                        if name.endswith(NEWER_PROFILE_SUFFIXES) else '')
                self.add('catalog', gpu.pci_address, DIFFERS,
                         'catalog %s has profile %s (ID %d), NVML does not%s',
                         card['key'], name, ours[name][0], hint)
            elif name not in ours:
                self.add('catalog', gpu.pci_address, DIFFERS,
                         'NVML has profile %s (ID %d), catalog %s does not',
                         name, nvml[name][0], card['key'])
            elif ours[name] != nvml[name]:
                self.add('catalog', gpu.pci_address, DIFFERS,
                         'profile %s: NVML says ID %d, %d instance(s); '
                         'catalog %s says ID %d, %d', name, nvml[name][0],
                         nvml[name][1], card['key'], ours[name][0],
                         ours[name][1])

    def catalog_types(self, gpu: gpu_records.Gpu, card: Reference) -> None:
        ours = {t['name']: t['profile'] for t in card['vgpu_types']}
        for vtype in gpu.vgpu_types or ():
            bare = vgpu_types.bare_name(vtype.name)
            found = vgpu_types.backing(vtype.name, gpu)
            if found.mapping != vgpu_types.MAPPING_DRIVER:
                continue
            if bare not in ours:
                self.add('catalog', gpu.pci_address, NOTE,
                         'vGPU type %s is not in catalog %s (another '
                         'driver generation?)', bare, card['key'])
            elif ours[bare] != found.profile:
                self.add('catalog', gpu.pci_address, DIFFERS,
                         'vGPU type %s runs on %s (NVML), catalog %s says %s',
                         bare, found.profile or 'no GPU instance',
                         card['key'], ours[bare] or 'no GPU instance')

    def run(self) -> list[Finding]:
        if not self.report.gpus:
            self.add('nvml', self.report.hostname, DIFFERS,
                     'NVML reports no GPU')
        for gpu in sorted(self.report.gpus, key=lambda g: g.pci_address):
            self.pci_function(gpu)
            self.mig_mode(gpu)
            self.parent_types(gpu)
            self.mapping(gpu)
            self.catalog(gpu)
        self.sriov()
        self.devices()
        if self.reference is None:
            self.add('catalog', self.report.hostname, NOTE,
                     'no reference catalog installed: cards not compared')
        return self.findings


def check(report: host_records.HostReport, sysfs_root: str,
          reference: list[Reference] | None) -> list[Finding]:
    """Compare NVML, sysfs, libvirt and the catalog; read-only.

    :param report: the discovered host (NVML, sysfs and libvirt).
    :param sysfs_root: where sysfs was read (``/sys``).
    :param reference: the catalog's cards (:data:`Reference`), None when
        none is installed.
    """
    return _Checker(report, sysfs_root, reference).run()


def disagreements(findings: collections.abc.Iterable[Finding]
                  ) -> list[Finding]:
    """The findings an operator must act on: ``differs`` and ``unknown``."""
    return [f for f in findings if f.status in (DIFFERS, UNKNOWN)]


def capture_header(findings: list[Finding]) -> str:
    """The findings as YAML comment lines, to head the capture file."""
    lines = ['# nova-mig self-check: %d finding(s), %d disagreement(s)'
             % (len(findings), len(disagreements(findings)))]
    lines += ['# %s | %s | %s | %s' % f.row() for f in findings
              if f.status != OK]
    return '\n'.join(lines) + '\n'
