# SPDX-License-Identifier: Apache-2.0

"""What a layout asks: its GPU entries, and which GPUs each one selects."""

import dataclasses
import fnmatch
import typing

from nova_mig.documents import layout_file
from nova_mig.documents import validation
from nova_mig.model import constants
from nova_mig.model import gpu_records

# The layout file's version and key values, from its document module.
VERSION = layout_file.VERSION
DEVICE_MODES = layout_file.DEVICE_MODES
VGPUS_ALL = layout_file.VGPUS_ALL
ALL_VFS = layout_file.ALL_VFS

Document = dict[str, typing.Any]
device_id = validation.device_id


@dataclasses.dataclass(frozen=True)
class Selector:
    """Which GPUs an entry applies to; every key given must match."""

    pci_address: str | None = None
    uuid: str | None = None
    index: int | None = None
    #: Glob on the NVML name, case-insensitive ("*A100*80GB*").
    model: str | None = None
    pci_device_ids: tuple[int, ...] = ()
    all: bool = False

    @property
    def exact(self) -> bool:
        """True when it names one GPU (address, UUID or index)."""
        return (self.pci_address is not None or self.uuid is not None or
                self.index is not None)

    @property
    def rank(self) -> int:
        """How specific the selector is; the most specific entry wins."""
        if self.pci_address or self.uuid:
            return 3
        if self.index is not None:
            return 2
        if self.model or self.pci_device_ids:
            return 1
        return 0

    def matches(self, gpu: gpu_records.Gpu) -> bool:
        if self.pci_address and gpu.pci_address != self.pci_address:
            return False
        if self.uuid and gpu.uuid.lower() != self.uuid:
            return False
        if self.index is not None and gpu.index != self.index:
            return False
        if self.model and not fnmatch.fnmatch(gpu.name.lower(),
                                              self.model.lower()):
            return False
        if (self.pci_device_ids and
                gpu.pci_device_id not in self.pci_device_ids):
            return False
        return True

    def as_dict(self) -> Document:
        result: Document = {}
        for key in ('pci_address', 'uuid', 'index', 'model'):
            if getattr(self, key) is not None:
                result[key] = getattr(self, key)
        if self.pci_device_ids:
            result['pci_device_id'] = ['0x%08X' % i
                                       for i in self.pci_device_ids]
        if self.all or not result:
            result['all'] = True
        return result

    def describe(self) -> str:
        return ', '.join('%s=%s' % item for item in self.as_dict().items())


@dataclasses.dataclass(frozen=True)
class VgpuSpec:
    """A vGPU device to pre-create; unset fields are chosen by nova-mig."""

    uuid: str | None = None
    type: str | None = None
    vf: int | None = None

    def as_dict(self) -> Document:
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v is not None}


@dataclasses.dataclass(frozen=True)
class GiSpec:
    """One GPU instance wanted."""

    profile: str
    placement: int | None = None
    #: None: the GPU's ``vgpus`` default; False: no vGPU device.
    vgpu: VgpuSpec | bool | None = None
    #: vGPU devices on the instance (time-sliced MIG-backed types: up to
    #: the type's per-instance maximum).
    vgpus: int = 1
    #: False: the instance has no compute instance and none is created.
    compute_instance: bool = True

    def as_dict(self) -> Document:
        result: Document = {'profile': self.profile}
        if self.placement is not None:
            result['placement'] = self.placement
        if isinstance(self.vgpu, VgpuSpec):
            result['vgpu'] = self.vgpu.as_dict() or True
        elif self.vgpu is not None:
            result['vgpu'] = self.vgpu
        if self.vgpus != 1:
            result['vgpus'] = self.vgpus
        if not self.compute_instance:
            result['compute_instance'] = False
        return result


@dataclasses.dataclass(frozen=True)
class TimeSlicedSpec:
    """vGPU devices of one time-sliced type on a GPU without MIG."""

    type: str
    count: int
    devices: tuple[VgpuSpec, ...] = ()

    def as_dict(self) -> Document:
        result: Document = {'type': self.type, 'count': self.count}
        if self.devices:
            result['devices'] = [d.as_dict() for d in self.devices]
        return result


@dataclasses.dataclass(frozen=True)
class GpuSpec:
    """What one entry of ``gpus`` asks of the GPUs it selects."""

    selector: Selector
    where: str
    mig: bool | None = None
    device_mode: str = constants.MODE_AUTO
    #: ``'all'``, a count, or None to leave SR-IOV as it is.
    sriov_vfs: str | int | None = ALL_VFS
    vgpus: str = VGPUS_ALL
    gpu_instances: tuple[GiSpec, ...] | None = None
    time_sliced: TimeSlicedSpec | None = None
    comment: str | None = None

    def as_dict(self) -> Document:
        result: Document = {'select': self.selector.as_dict()}
        if self.comment:
            result['comment'] = self.comment
        if self.mig is not None:
            result['mig'] = 'enabled' if self.mig else 'disabled'
        result['device_mode'] = self.device_mode
        if self.sriov_vfs is not None:
            result['sriov_vfs'] = self.sriov_vfs
        result['vgpus'] = self.vgpus
        if self.gpu_instances is not None:
            result['gpu_instances'] = [g.as_dict()
                                       for g in self.gpu_instances]
        if self.time_sliced is not None:
            result['time_sliced'] = self.time_sliced.as_dict()
        return result


@dataclasses.dataclass(frozen=True)
class Layout:
    """A parsed layout file."""

    gpus: tuple[GpuSpec, ...]
    source: str = '<layout>'
    description: str | None = None

    def as_dict(self) -> Document:
        result: Document = {'version': VERSION}
        if self.description:
            result['description'] = self.description
        result['gpus'] = [g.as_dict() for g in self.gpus]
        return result

    def dump(self) -> str:
        """The layout file's text.

        Written by the layout file's one writer,
        :func:`nova_mig.documents.layout_file.dumps`.
        """
        return layout_file.dumps(self.as_dict())


def select(layout: Layout, gpus: list[gpu_records.Gpu]
           ) -> tuple[list[tuple[gpu_records.Gpu, GpuSpec]], list[str]]:
    """Pair each GPU with the most specific entry selecting it.

    :returns: ``(pairs in GPU order, errors)``; errors name exact
        selectors matching no GPU and GPUs claimed by two entries of the
        same rank.
    """
    errors = []
    pairs = []
    for spec in layout.gpus:
        if spec.selector.exact and not any(spec.selector.matches(g)
                                           for g in gpus):
            errors.append('%s: no GPU of this host matches %s' % (
                spec.where, spec.selector.describe()))
    for gpu in gpus:
        matching = [s for s in layout.gpus if s.selector.matches(gpu)]
        if not matching:
            continue
        best = max(s.selector.rank for s in matching)
        chosen = [s for s in matching if s.selector.rank == best]
        if len(chosen) > 1:
            where = ' and '.join(s.where for s in chosen)
            errors.append('GPU %s (%s): selected by %s alike; make one more '
                          'specific' % (gpu.pci_address, gpu.name, where))
            continue
        pairs.append((gpu, chosen[0]))
    return pairs, errors
