"""The layout file: parsing, checking its form, selecting GPUs, dumping."""

import dataclasses
import fnmatch
import re
import typing

import yaml

from nova_mig import exception
from nova_mig.model import gpu as gpu_model

VERSION = 1
DEVICE_MODES = ('auto', 'mdev', 'vendor-vfio')
VGPU_DEFAULTS = ('all', 'none')
_PCI_RE = re.compile(r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$')
_UUID_RE = re.compile(r'^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$')
_GPU_KEYS = {'select', 'mig', 'device_mode', 'sriov_vfs', 'vgpus',
             'gpu_instances', 'time_sliced', 'comment'}
_GI_KEYS = {'profile', 'placement', 'count', 'vgpu'}
_VGPU_KEYS = {'uuid', 'type', 'vf'}
_SELECT_KEYS = {'pci_address', 'uuid', 'index', 'model', 'pci_device_id',
                'all'}


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

    def matches(self, gpu: gpu_model.Gpu) -> bool:
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

    def as_dict(self) -> dict:
        result: dict[str, typing.Any] = {}
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

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items()
                if v is not None}


@dataclasses.dataclass(frozen=True)
class GiSpec:
    """One GPU instance wanted."""

    profile: str
    placement: int | None = None
    #: None: the GPU's ``vgpus`` default; False: no vGPU device.
    vgpu: VgpuSpec | bool | None = None

    def as_dict(self) -> dict:
        result: dict[str, typing.Any] = {'profile': self.profile}
        if self.placement is not None:
            result['placement'] = self.placement
        if isinstance(self.vgpu, VgpuSpec):
            result['vgpu'] = self.vgpu.as_dict() or True
        elif self.vgpu is not None:
            result['vgpu'] = self.vgpu
        return result


@dataclasses.dataclass(frozen=True)
class TimeSlicedSpec:
    """vGPU devices of one time-sliced type on a GPU without MIG."""

    type: str
    count: int
    devices: tuple[VgpuSpec, ...] = ()

    def as_dict(self) -> dict:
        result: dict[str, typing.Any] = {'type': self.type,
                                         'count': self.count}
        if self.devices:
            result['devices'] = [d.as_dict() for d in self.devices]
        return result


@dataclasses.dataclass(frozen=True)
class GpuSpec:
    """What one entry of ``gpus`` asks of the GPUs it selects."""

    selector: Selector
    where: str
    mig: bool | None = None
    device_mode: str = 'auto'
    #: ``'all'``, a count, or None to leave SR-IOV as it is.
    sriov_vfs: str | int | None = 'all'
    vgpus: str = 'all'
    gpu_instances: tuple[GiSpec, ...] | None = None
    time_sliced: TimeSlicedSpec | None = None
    comment: str | None = None

    def as_dict(self) -> dict:
        result: dict[str, typing.Any] = {'select': self.selector.as_dict()}
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

    def as_dict(self) -> dict:
        result: dict[str, typing.Any] = {'version': VERSION}
        if self.description:
            result['description'] = self.description
        result['gpus'] = [g.as_dict() for g in self.gpus]
        return result

    def dump(self) -> str:
        return yaml.safe_dump(self.as_dict(), sort_keys=False,
                              default_flow_style=False)


class _Parser:
    """Turns the YAML document into a :class:`Layout`, naming bad keys."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, reason: str) -> exception.LayoutFileError:
        return exception.LayoutFileError(path=self.path, where=where,
                                         reason=reason)

    def mapping(self, value, where: str, keys: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, 'expected a mapping, found %r' % (value,))
        unknown = sorted(set(value) - keys)
        if unknown:
            raise self.fail(where, 'unknown key(s) %s; allowed: %s' % (
                ', '.join(map(str, unknown)), ', '.join(sorted(keys))))
        return value

    def integer(self, value, where: str, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or \
                value < minimum:
            raise self.fail(where, 'expected an integer >= %d, found %r'
                            % (minimum, value))
        return value

    def choice(self, value, where: str, choices) -> str:
        if value not in choices:
            raise self.fail(where, 'expected one of %s, found %r' % (
                ', '.join(choices), value))
        return value

    def uuid(self, value, where: str) -> str:
        text = str(value).lower()
        if not _UUID_RE.match(text):
            raise self.fail(where, 'not a UUID: %r' % (value,))
        return text

    def selector(self, value, where: str) -> Selector:
        if value in ('all', None):
            return Selector(all=True)
        data = self.mapping(value, where, _SELECT_KEYS)
        pci = data.get('pci_address')
        if pci is not None:
            pci = str(pci).lower()
            if not _PCI_RE.match(pci):
                raise self.fail(where + '.pci_address',
                                'not a PCI address (0000:41:00.0): %r' % pci)
        gpu_uuid = data.get('uuid')
        if gpu_uuid is not None:
            gpu_uuid = str(gpu_uuid).lower()
            if not gpu_uuid.startswith(('gpu-', 'mig-')):
                gpu_uuid = 'gpu-' + gpu_uuid
            self.uuid(gpu_uuid[4:], where + '.uuid')
        index = data.get('index')
        if index is not None:
            index = self.integer(index, where + '.index')
        ids = data.get('pci_device_id')
        if ids is None:
            ids = []
        elif not isinstance(ids, list):
            ids = [ids]
        device_ids = []
        for item in ids:
            try:
                device_ids.append(int(str(item), 16))
            except ValueError:
                raise self.fail(where + '.pci_device_id',
                                'not a hexadecimal PCI device ID (0x20B510DE)'
                                ': %r' % (item,))
        model = data.get('model')
        return Selector(pci_address=pci, uuid=gpu_uuid, index=index,
                        model=None if model is None else str(model),
                        pci_device_ids=tuple(device_ids),
                        all=bool(data.get('all', False)))

    def vgpu(self, value, where: str) -> VgpuSpec:
        data = self.mapping(value, where, _VGPU_KEYS)
        return VgpuSpec(
            uuid=(self.uuid(data['uuid'], where + '.uuid')
                  if data.get('uuid') is not None else None),
            type=str(data['type']) if data.get('type') else None,
            vf=(self.integer(data['vf'], where + '.vf')
                if data.get('vf') is not None else None))

    def gpu_instances(self, value, where: str) -> tuple[GiSpec, ...]:
        if not isinstance(value, list):
            raise self.fail(where, 'expected a list of profiles')
        result = []
        for i, item in enumerate(value):
            here = '%s[%d]' % (where, i)
            if isinstance(item, str):
                item = {'profile': item}
            data = self.mapping(item, here, _GI_KEYS)
            if not data.get('profile'):
                raise self.fail(here, 'a GPU instance needs a "profile"')
            placement = data.get('placement')
            if placement is not None:
                placement = self.integer(placement, here + '.placement')
            count = self.integer(data.get('count', 1), here + '.count', 1)
            if count > 1 and placement is not None:
                raise self.fail(here, '"count" and "placement" exclude each '
                                'other')
            vgpu = data.get('vgpu')
            if isinstance(vgpu, dict):
                vgpu = self.vgpu(vgpu, here + '.vgpu')
                if count > 1 and (vgpu.uuid or vgpu.vf is not None):
                    raise self.fail(here, 'a vGPU "uuid" or "vf" needs '
                                    'count 1')
            elif vgpu is not None and not isinstance(vgpu, bool):
                raise self.fail(here + '.vgpu',
                                'expected true, false or a mapping')
            result += [GiSpec(str(data['profile']), placement, vgpu)] * count
        return tuple(result)

    def time_sliced(self, value, where: str) -> TimeSlicedSpec:
        data = self.mapping(value, where, {'type', 'count', 'devices'})
        if not data.get('type'):
            raise self.fail(where, 'a vGPU "type" is needed')
        devices = tuple(self.vgpu(d, '%s.devices[%d]' % (where, i))
                        for i, d in enumerate(data.get('devices') or ()))
        count = self.integer(data.get('count', len(devices) or 1),
                             where + '.count')
        if count < len(devices):
            raise self.fail(where, 'count %d is below the %d devices listed'
                            % (count, len(devices)))
        return TimeSlicedSpec(str(data['type']), count, devices)

    def gpu(self, value, where: str, defaults: dict) -> GpuSpec:
        data = dict(defaults)
        data.update(self.mapping(value, where, _GPU_KEYS))
        mig = data.get('mig')
        if mig is not None:
            if isinstance(mig, bool):
                mig = 'enabled' if mig else 'disabled'
            mig = self.choice(mig, where + '.mig',
                              ('enabled', 'disabled')) == 'enabled'
        gis = data.get('gpu_instances')
        if gis is not None:
            gis = self.gpu_instances(gis, where + '.gpu_instances')
            if mig is None:
                mig = True
            elif not mig and gis:
                raise self.fail(where, 'GPU instances need "mig: enabled"')
        sliced = data.get('time_sliced')
        if sliced is not None:
            sliced = self.time_sliced(sliced, where + '.time_sliced')
            if mig:
                raise self.fail(where, '"time_sliced" vGPUs need "mig: '
                                'disabled"')
            mig = False if mig is None else mig
        vfs = data.get('sriov_vfs', 'all')
        if vfs not in ('all', None):
            vfs = self.integer(vfs, where + '.sriov_vfs')
        return GpuSpec(
            selector=self.selector(data.get('select'), where + '.select'),
            where=where, mig=mig,
            device_mode=self.choice(data.get('device_mode', 'auto'),
                                    where + '.device_mode', DEVICE_MODES),
            sriov_vfs=vfs,
            vgpus=self.choice(data.get('vgpus', 'all'), where + '.vgpus',
                              VGPU_DEFAULTS),
            gpu_instances=gis, time_sliced=sliced,
            comment=data.get('comment'))

    def layout(self, document) -> Layout:
        data = self.mapping(document, 'top level',
                            {'version', 'description', 'defaults', 'gpus'})
        if data.get('version') != VERSION:
            raise self.fail('version', 'unsupported version %r; this '
                            'nova-mig reads version %d' % (
                                data.get('version'), VERSION))
        defaults = self.mapping(data.get('defaults') or {}, 'defaults',
                                _GPU_KEYS - {'select', 'gpu_instances',
                                             'time_sliced'})
        gpus = data.get('gpus')
        if not isinstance(gpus, list) or not gpus:
            raise self.fail('gpus', 'expected a non-empty list of GPUs')
        return Layout(
            gpus=tuple(self.gpu(g, 'gpus[%d]' % i, defaults)
                       for i, g in enumerate(gpus)),
            source=self.path, description=data.get('description'))


def parse(document, path: str = '<layout>') -> Layout:
    """Build a layout from a loaded YAML document.

    :raises: :class:`nova_mig.exception.LayoutFileError` naming the key.
    """
    return _Parser(path).layout(document)


def loads(text: str, path: str = '<layout>') -> Layout:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise exception.LayoutFileError(path=path, where='YAML', reason=e)
    return parse(document, path)


def load(path: str) -> Layout:
    """Read and parse a layout file."""
    try:
        with open(path, encoding='utf-8') as stream:
            text = stream.read()
    except OSError as e:
        raise exception.LayoutFileError(path=path, where='file',
                                        reason=e.strerror)
    return loads(text, path)


def select(layout: Layout, gpus: list[gpu_model.Gpu]
           ) -> tuple[list[tuple[gpu_model.Gpu, GpuSpec]], list[str]]:
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
