# SPDX-License-Identifier: Apache-2.0

"""Reading a layout file into a :class:`nova_mig.layout.spec.Layout`.

The file is read and checked against its JSON schema by its document
module, :mod:`nova_mig.documents.layout_file`; the few rules the schema
cannot say (``count`` with ``placement``, the MIG mode against
``gpu_instances`` and ``time_sliced``) are checked here while the entries
are built.  Every error names the file, the key
(``gpus[1].gpu_instances[0].count``) and why.
"""

import typing
import uuid as uuid_mod

from nova_mig.documents import layout_file
from nova_mig.documents import validation
from nova_mig import exception
from nova_mig.layout import spec
from nova_mig.model import constants


def _canonical_uuid(value: str) -> str:
    return str(uuid_mod.UUID(value))


# -- building the layout ----------------------------------------------------
def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _int(value: object) -> int | None:
    return None if value is None else int(typing.cast(int, value))


class _Builder:
    """Turns a valid document into a :class:`spec.Layout`."""

    def __init__(self, path: str):
        self.path = path

    def fail(self, where: str, reason: str) -> exception.LayoutFileError:
        return exception.LayoutFileError(path=self.path, where=where,
                                         reason=reason)

    @staticmethod
    def selector(value: typing.Any) -> spec.Selector:
        if not isinstance(value, dict):
            return spec.Selector(all=True)
        gpu_uuid = value.get('uuid')
        if gpu_uuid is not None:
            prefix, bare = validation.split_gpu_uuid(gpu_uuid)
            gpu_uuid = prefix + _canonical_uuid(bare)
        ids = value.get('pci_device_id')
        if ids is None:
            ids = []
        elif not isinstance(ids, list):
            ids = [ids]
        pci = value.get('pci_address')
        return spec.Selector(
            pci_address=None if pci is None else pci.lower(),
            uuid=gpu_uuid, index=_int(value.get('index')),
            model=_text(value.get('model')),
            pci_device_ids=tuple(spec.device_id(i) for i in ids),
            all=bool(value.get('all', False)))

    @staticmethod
    def vgpu(data: dict[str, typing.Any]) -> spec.VgpuSpec:
        dev_uuid = data.get('uuid')
        return spec.VgpuSpec(
            uuid=None if dev_uuid is None else _canonical_uuid(dev_uuid),
            type=data.get('type') or None, vf=_int(data.get('vf')))

    def gpu_instances(self, items: list[typing.Any], where: str
                      ) -> tuple[spec.GiSpec, ...]:
        result: list[spec.GiSpec] = []
        total = sum(item.get('count', 1) if isinstance(item, dict) else 1
                    for item in items)
        if total > constants.MAX_GPU_INSTANCES:
            raise self.fail(where, '%d GPU instances asked; no GPU holds '
                            'more than %d' % (total,
                                              constants.MAX_GPU_INSTANCES))
        for i, item in enumerate(items):
            here = '%s[%d]' % (where, i)
            data: dict[str, typing.Any] = (
                {'profile': item} if isinstance(item, str) else item)
            placement = _int(data.get('placement'))
            count = int(data.get('count', 1))
            if count > 1 and placement is not None:
                raise self.fail(here, '"count" and "placement" exclude each '
                                'other')
            vgpu: spec.VgpuSpec | bool | None = data.get('vgpu')
            vgpus = int(data.get('vgpus', 1))
            if isinstance(data.get('vgpu'), dict):
                vgpu = self.vgpu(data['vgpu'])
                if (count > 1 or vgpus > 1) and (vgpu.uuid or
                                                 vgpu.vf is not None):
                    raise self.fail(here, 'a vGPU "uuid" or "vf" needs '
                                    '%s 1' % ('count' if count > 1
                                              else 'vgpus'))
            if vgpus > 1 and vgpu is False:
                raise self.fail(here, '"vgpus: %d" and "vgpu: false" '
                                'exclude each other' % vgpus)
            result += [spec.GiSpec(
                data['profile'], placement, vgpu, vgpus,
                compute_instance=data.get('compute_instance', True))] * count
        return tuple(result)

    def time_sliced(self, data: dict[str, typing.Any], where: str
                    ) -> spec.TimeSlicedSpec:
        devices = tuple(self.vgpu(d) for d in data.get('devices') or ())
        count = int(data.get('count', len(devices) or 1))
        if count < len(devices):
            raise self.fail(where, 'count %d is below the %d devices listed'
                            % (count, len(devices)))
        return spec.TimeSlicedSpec(data['type'], count, devices)

    def gpu(self, data: dict[str, typing.Any], where: str) -> spec.GpuSpec:
        mig = data.get('mig')
        if isinstance(mig, str):
            mig = mig == 'enabled'
        gis = None
        if data.get('gpu_instances') is not None:
            gis = self.gpu_instances(data['gpu_instances'],
                                     where + '.gpu_instances')
            if mig is None:
                mig = True
            elif not mig and gis:
                raise self.fail(where, 'GPU instances need "mig: enabled"')
        sliced = None
        if data.get('time_sliced') is not None:
            sliced = self.time_sliced(data['time_sliced'],
                                      where + '.time_sliced')
            if mig:
                raise self.fail(where, '"time_sliced" vGPUs need "mig: '
                                'disabled"')
            mig = False
        vfs = data.get('sriov_vfs', spec.ALL_VFS)
        return spec.GpuSpec(
            selector=self.selector(data.get('select')), where=where,
            mig=mig,
            device_mode=data.get('device_mode', constants.MODE_AUTO),
            sriov_vfs=vfs if vfs in (spec.ALL_VFS, None) else int(vfs),
            vgpus=data.get('vgpus', spec.VGPUS_ALL), gpu_instances=gis,
            time_sliced=sliced, comment=_text(data.get('comment')))

    def layout(self, document: dict[str, typing.Any]) -> spec.Layout:
        defaults = document.get('defaults') or {}
        return spec.Layout(
            gpus=tuple(self.gpu(dict(defaults, **entry), 'gpus[%d]' % i)
                       for i, entry in enumerate(document['gpus'])),
            source=self.path,
            description=_text(document.get('description')))


def parse(document: object, path: str = '<layout>') -> spec.Layout:
    """Build a layout from a loaded YAML document.

    :raises: :class:`nova_mig.exception.LayoutFileError` naming the key.
    """
    return _Builder(path).layout(layout_file.check(document, path))


def loads(text: str | bytes, path: str = '<layout>') -> spec.Layout:
    """Parse layout text (YAML), bounded by :func:`bounded_input.load_yaml`."""
    return _Builder(path).layout(layout_file.loads(text, path))


def load(path: str) -> spec.Layout:
    """Read and parse a layout file."""
    return _Builder(path).layout(layout_file.read(path))
