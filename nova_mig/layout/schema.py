# SPDX-License-Identifier: Apache-2.0

"""The layout file: its JSON schema, and reading a file into a layout.

The schema checks the form of the document; the few rules it cannot say
(``count`` with ``placement``, the MIG mode against ``gpu_instances`` and
``time_sliced``) are checked while the entries are built.  Every error
names the file, the key (``gpus[1].gpu_instances[0].count``) and why.

A schema node may carry ``x-reason``, the reason given when the node
fails, formatted with ``value`` (the value found) and ``key`` (its key).
"""

import collections.abc
import dataclasses
import typing
import uuid as uuid_mod

from oslo_utils import uuidutils

from nova_mig import exception
from nova_mig import fileutils
from nova_mig.layout import spec
from nova_mig.model import constants

if typing.TYPE_CHECKING:
    import jsonschema

Schema = dict[str, typing.Any]
Path = list[str | int]

_GPU_UUID_PREFIXES = ('gpu-', 'mig-')


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuidutils.is_uuid_like(value))


def _is_gpu_uuid(value: object) -> bool:
    return not isinstance(value, str) or _is_uuid(_split_gpu_uuid(value)[1])


def _is_pci_address(value: object) -> bool:
    return not isinstance(value, str) or constants.is_pci_address(
        value.lower())


def _is_device_id(value: object) -> bool:
    if not isinstance(value, (str, int)):
        return True
    try:
        spec.device_id(value)
    except ValueError:
        return False
    return True


def _split_gpu_uuid(value: str) -> tuple[str, str]:
    """``("gpu-", uuid)`` from a GPU UUID with or without its prefix."""
    text = value.lower()
    if text.startswith(_GPU_UUID_PREFIXES):
        return text[:4], text[4:]
    return 'gpu-', text


def _canonical_uuid(value: str) -> str:
    return str(uuid_mod.UUID(value))


# -- building blocks --------------------------------------------------------
def integer(minimum: int, nullable: bool = False,
            maximum: int | None = None) -> Schema:
    """An integer from ``minimum`` (to ``maximum``, when given)."""
    node: Schema = {'type': ['integer', 'null'] if nullable else 'integer',
                    'minimum': minimum,
                    'x-reason': 'expected an integer >= %d, found %%(value)r'
                                % minimum}
    if maximum is not None:
        node['maximum'] = maximum
        node['x-reason'] = ('expected an integer from %d to %d, found '
                            '%%(value)r' % (minimum, maximum))
    return node


def choice(*choices: str) -> Schema:
    return {'enum': list(choices),
            'x-reason': 'expected one of %s, found %%(value)r'
                        % ', '.join(choices)}


def mapping(properties: Schema, required: tuple[str, ...] = (),
            nullable: bool = False) -> Schema:
    return {'type': ['object', 'null'] if nullable else 'object',
            'additionalProperties': False, 'required': list(required),
            'properties': properties,
            'x-reason': 'expected a mapping, found %(value)r'}


def device_ids(reason: str) -> Schema:
    """A PCI device ID (``"0x20B510DE"``) or a list of them."""
    one = {'type': ['string', 'integer'], 'format': 'pci-device-id',
           'x-reason': reason}
    return {**one, 'type': ['string', 'integer', 'array'], 'items': one}


# -- the layout file --------------------------------------------------------
_VGPU = {
    'uuid': {'type': ['string', 'null'], 'format': 'uuid',
             'x-reason': 'not a UUID: %(value)r'},
    'type': {'type': ['string', 'null'],
             'x-reason': 'expected a vGPU type name, found %(value)r'},
    'vf': integer(0, nullable=True, maximum=constants.MAX_SRIOV_VFS - 1),
}
_PROFILE = {'type': 'string', 'minLength': 1,
            'x-reason': 'expected a MIG profile name (1g.10gb), found '
                        '%(value)r'}
_GPU_INSTANCE = {
    **mapping({'profile': _PROFILE,
               'placement': integer(0, nullable=True,
                                    maximum=constants.MAX_PLACEMENT),
               'count': integer(1, maximum=constants.MAX_GPU_INSTANCES),
               'vgpus': integer(
                   1, maximum=constants.MAX_VGPUS_PER_GPU_INSTANCE),
               'compute_instance': {
                   'type': 'boolean',
                   'x-reason': 'expected true or false, found %(value)r'},
               'vgpu': {**mapping(_VGPU),
                        'type': ['object', 'boolean', 'null'],
                        'x-reason': 'expected true, false or a mapping, '
                                    'found %(value)r'}},
              required=('profile',)),
    # A bare profile name is short for {profile: NAME}.
    'type': ['string', 'object'], 'minLength': 1,
    'x-reason': 'expected a profile name or a mapping, found %(value)r'}
_SELECT = {
    **mapping({
        'pci_address': {'type': ['string', 'null'], 'format': 'pci-address',
                        'x-reason': 'not a PCI address (0000:41:00.0): '
                                    '%(value)r'},
        'uuid': {'type': ['string', 'null'], 'format': 'gpu-uuid',
                 'x-reason': 'not a GPU UUID (GPU-...): %(value)r'},
        'index': integer(0, nullable=True),
        'model': {},
        'pci_device_id': {**device_ids('not a hexadecimal PCI device ID '
                                       '(0x20B510DE): %(value)r'),
                          'type': ['string', 'integer', 'array', 'null']},
        'all': {'type': ['boolean', 'null'],
                'x-reason': 'expected true or false, found %(value)r'}}),
    # "all" (or null) is short for {all: true}.
    'type': ['object', 'string', 'null'], 'pattern': '^all$',
    'x-reason': 'expected "all" or a mapping, found %(value)r'}
_GPU = {
    'select': _SELECT,
    'mig': {'enum': ['enabled', 'disabled', True, False, None],
            'x-reason': 'expected one of enabled, disabled, found '
                        '%(value)r'},
    'device_mode': choice(*spec.DEVICE_MODES),
    # "all", a count or null; pattern and minimum each apply to one type.
    'sriov_vfs': {'type': ['string', 'integer', 'null'],
                  'pattern': '^%s$' % spec.ALL_VFS, 'minimum': 0,
                  'maximum': constants.MAX_SRIOV_VFS,
                  'x-reason': 'expected "all", null or an integer from 0 '
                              'to %d, found %%(value)r'
                              % constants.MAX_SRIOV_VFS},
    'vgpus': choice(*spec.VGPU_DEFAULTS),
    'gpu_instances': {'type': ['array', 'null'], 'items': _GPU_INSTANCE,
                      'maxItems': constants.MAX_GPU_INSTANCES,
                      'x-reason': 'expected a list of at most %d profiles, '
                                  'found %%(value)r'
                                  % constants.MAX_GPU_INSTANCES},
    'time_sliced': mapping({
        'type': {'type': 'string', 'minLength': 1,
                 'x-reason': 'expected a time-sliced vGPU type name '
                             '(T4-4C), found %(value)r'},
        'count': integer(0, maximum=constants.MAX_TIME_SLICED_VGPUS),
        'devices': {'type': ['array', 'null'], 'items': mapping(_VGPU),
                    'maxItems': constants.MAX_TIME_SLICED_VGPUS,
                    'x-reason': 'expected a list of at most %d vGPU '
                                'devices, found %%(value)r'
                                % constants.MAX_TIME_SLICED_VGPUS}},
        required=('type',), nullable=True),
    'comment': {},
}
#: Keys only an entry of ``gpus`` may have, not ``defaults``.
_ENTRY_ONLY = ('select', 'gpu_instances', 'time_sliced')

LAYOUT_SCHEMA: Schema = mapping({
    'version': {'const': spec.VERSION,
                'x-reason': 'unsupported version %%(value)r; this nova-mig '
                            'reads version %d' % spec.VERSION},
    'description': {},
    'defaults': mapping({k: v for k, v in _GPU.items()
                         if k not in _ENTRY_ONLY}, nullable=True),
    'gpus': {'type': 'array', 'minItems': 1, 'items': mapping(_GPU),
             'x-reason': 'expected a non-empty list of GPUs'},
}, required=('version', 'gpus'))


# -- errors -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Problem:
    """What is wrong with a document: where, and why."""

    path: Path
    reason: str

    @property
    def where(self) -> str:
        """The key path: ``gpus[1].gpu_instances[0].count``."""
        text = ''
        for part in self.path:
            if isinstance(part, int):
                text += '[%d]' % part
            else:
                text += '.%s' % part if text else str(part)
        return text or 'top level'


#: The formats of this module's schemas, by name.
_FORMAT_CHECKS: dict[str, typing.Callable[[object], bool]] = {
    'uuid': _is_uuid, 'gpu-uuid': _is_gpu_uuid,
    'pci-address': _is_pci_address, 'pci-device-id': _is_device_id}


class Validator:
    """A validator of one schema, knowing this module's formats.

    jsonschema is imported and the validator built at the first check:
    a command reading no layout or host file does not pay for it.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._checker: 'jsonschema.protocols.Validator | None' = None

    def iter_errors(self, document: typing.Any
                    ) -> typing.Iterator['jsonschema.ValidationError']:
        if self._checker is None:
            import jsonschema
            formats = jsonschema.FormatChecker(formats=())
            for name, check in _FORMAT_CHECKS.items():
                formats.checks(name)(check)
            self._checker = jsonschema.Draft202012Validator(
                self.schema, format_checker=formats)
        return self._checker.iter_errors(document)


def validator(schema: Schema) -> Validator:
    """A validator of ``schema`` knowing this module's formats.

    The schemas are checked against the metaschema by the unit tests, not
    at import.
    """
    return Validator(schema)


def _explain(error: 'jsonschema.ValidationError') -> Problem:
    path: Path = list(error.path)
    node = typing.cast(Schema, error.schema)
    value: typing.Any = error.instance
    if error.validator == 'additionalProperties' and \
            isinstance(value, collections.abc.Mapping):
        known = node.get('properties', {})
        return Problem(path, 'unknown key(s) %s; allowed: %s' % (
            ', '.join(sorted(str(k) for k in value if k not in known)),
            ', '.join(sorted(known))))
    if error.validator == 'required':
        key = next(k for k in typing.cast(list[str], error.validator_value)
                   if k not in value)
        path.append(key)
        node = node['properties'][key]
        value = None
    reason = node.get('x-reason')
    if reason is None:
        return Problem(path, error.message)
    return Problem(path, reason % {'value': value,
                                   'key': path[-1] if path else ''})


def first_problem(checker: Validator,
                  document: object) -> Problem | None:
    """The problem to report first: the one nearest the top.

    A wrong ``version`` comes before its siblings: the rest of a file of
    another version is not expected to fit.
    """
    problems = [_explain(e) for e in checker.iter_errors(
        typing.cast(typing.Any, document))]
    if not problems:
        return None
    return min(problems, key=lambda p: (len(p.path), p.path != ['version']))


_LAYOUT = validator(LAYOUT_SCHEMA)


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
            prefix, bare = _split_gpu_uuid(gpu_uuid)
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
    problem = first_problem(_LAYOUT, document)
    if problem is not None:
        raise exception.LayoutFileError(path=path, where=problem.where,
                                        reason=problem.reason)
    return _Builder(path).layout(typing.cast(dict[str, typing.Any],
                                             document))


def _failure(path: str) -> fileutils.Fail:
    def fail(where: str, reason: str) -> exception.LayoutFileError:
        return exception.LayoutFileError(path=path, where=where,
                                         reason=reason)
    return fail


def loads(text: str | bytes, path: str = '<layout>') -> spec.Layout:
    """Parse layout text (YAML), bounded by :func:`fileutils.load_yaml`."""
    return parse(fileutils.load_yaml(text, _failure(path)), path)


def load(path: str) -> spec.Layout:
    """Read and parse a layout file."""
    return loads(fileutils.read_input(path, _failure(path)), path)
