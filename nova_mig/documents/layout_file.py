# SPDX-License-Identifier: Apache-2.0

"""The layout file (``nova-mig layout``): version, schema, reader, writer.

Written by ``nova-mig layout export``, the boot checkpoint and the
rebalance planner (each through :meth:`nova_mig.layout.spec.Layout.dump`,
which calls :func:`dumps`), and by operators; read by ``layout plan``,
``layout apply``, ``rebalance apply`` and ``retype`` through
:mod:`nova_mig.layout.schema`, which reads the file with :func:`read` and
builds a :class:`nova_mig.layout.spec.Layout` from what it returns.

The schema checks the form of the document; the few rules it cannot say
(``count`` with ``placement``, the MIG mode against ``gpu_instances`` and
``time_sliced``) are checked while the entries are built. A file is read
through :func:`nova_mig.bounded_input.read_input` (a regular file, bounded)
and :func:`nova_mig.bounded_input.load_yaml` (bounded nesting, values and
alias expansion); every error names the file, the key and why, in one
line. ``version`` is required: a layout file has carried it since the
format was first published.
"""

from nova_mig import bounded_input
from nova_mig.documents import validation
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.model import constants

#: The version this nova-mig writes and reads.
VERSION = 1
#: ``device_mode``: what the host offers, or one mode it must run.
DEVICE_MODES = (constants.MODE_AUTO,) + constants.DEVICE_MODES
#: ``vgpus``: one vGPU device per GPU instance, or bare GPU instances.
VGPUS_ALL = 'all'
VGPUS_NONE = 'none'
VGPU_DEFAULTS = (VGPUS_ALL, VGPUS_NONE)
#: ``sriov_vfs``: every VF the GPU offers.
ALL_VFS = 'all'

_VGPU = {
    'uuid': {'type': ['string', 'null'], 'format': 'uuid',
             'x-reason': 'not a UUID: %(value)r'},
    'type': {'type': ['string', 'null'],
             'x-reason': 'expected a vGPU type name, found %(value)r'},
    'vf': validation.integer(0, nullable=True,
                             maximum=constants.MAX_SRIOV_VFS - 1),
}
_PROFILE = {'type': 'string', 'minLength': 1,
            'x-reason': 'expected a MIG profile name (1g.10gb), found '
                        '%(value)r'}
_GPU_INSTANCE = {
    **validation.mapping({
        'profile': _PROFILE,
        'placement': validation.integer(0, nullable=True,
                                        maximum=constants.MAX_PLACEMENT),
        'count': validation.integer(1, maximum=constants.MAX_GPU_INSTANCES),
        'vgpus': validation.integer(
            1, maximum=constants.MAX_VGPUS_PER_GPU_INSTANCE),
        'compute_instance': {
            'type': 'boolean',
            'x-reason': 'expected true or false, found %(value)r'},
        'vgpu': {**validation.mapping(_VGPU),
                 'type': ['object', 'boolean', 'null'],
                 'x-reason': 'expected true, false or a mapping, found '
                             '%(value)r'}},
        required=('profile',)),
    # A bare profile name is short for {profile: NAME}.
    'type': ['string', 'object'], 'minLength': 1,
    'x-reason': 'expected a profile name or a mapping, found %(value)r'}
_SELECT = {
    **validation.mapping({
        'pci_address': {'type': ['string', 'null'], 'format': 'pci-address',
                        'x-reason': 'not a PCI address (0000:41:00.0): '
                                    '%(value)r'},
        'uuid': {'type': ['string', 'null'], 'format': 'gpu-uuid',
                 'x-reason': 'not a GPU UUID (GPU-...): %(value)r'},
        'index': validation.integer(0, nullable=True),
        'model': {},
        'pci_device_id': {
            **validation.device_ids('not a hexadecimal PCI device ID '
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
    'device_mode': validation.choice(*DEVICE_MODES),
    # "all", a count or null; pattern and minimum each apply to one type.
    'sriov_vfs': {'type': ['string', 'integer', 'null'],
                  'pattern': '^%s$' % ALL_VFS, 'minimum': 0,
                  'maximum': constants.MAX_SRIOV_VFS,
                  'x-reason': 'expected "all", null or an integer from 0 '
                              'to %d, found %%(value)r'
                              % constants.MAX_SRIOV_VFS},
    'vgpus': validation.choice(*VGPU_DEFAULTS),
    'gpu_instances': {'type': ['array', 'null'], 'items': _GPU_INSTANCE,
                      'maxItems': constants.MAX_GPU_INSTANCES,
                      'x-reason': 'expected a list of at most %d profiles, '
                                  'found %%(value)r'
                                  % constants.MAX_GPU_INSTANCES},
    'time_sliced': validation.mapping({
        'type': {'type': 'string', 'minLength': 1,
                 'x-reason': 'expected a time-sliced vGPU type name '
                             '(T4-4C), found %(value)r'},
        'count': validation.integer(
            0, maximum=constants.MAX_TIME_SLICED_VGPUS),
        'devices': {'type': ['array', 'null'],
                    'items': validation.mapping(_VGPU),
                    'maxItems': constants.MAX_TIME_SLICED_VGPUS,
                    'x-reason': 'expected a list of at most %d vGPU '
                                'devices, found %%(value)r'
                                % constants.MAX_TIME_SLICED_VGPUS}},
        required=('type',), nullable=True),
    'comment': {},
}
#: Keys only an entry of ``gpus`` may have, not ``defaults``.
_ENTRY_ONLY = ('select', 'gpu_instances', 'time_sliced')

#: The layout file.
SCHEMA: validation.Schema = validation.mapping({
    'version': validation.version(VERSION),
    'description': {},
    'defaults': validation.mapping({k: s for k, s in _GPU.items()
                                    if k not in _ENTRY_ONLY},
                                   nullable=True),
    'gpus': {'type': 'array', 'minItems': 1, 'items': validation.mapping(_GPU),
             'x-reason': 'expected a non-empty list of GPUs'},
}, required=('version', 'gpus'))

_CHECKER = validation.validator(SCHEMA)


def failure(path: str) -> bounded_input.Fail:
    """The error of a layout file: path, key and reason in one line."""
    def fail(where: str, reason: str) -> exception.LayoutFileError:
        return exception.LayoutFileError(path=path, where=where,
                                         reason=reason)
    return fail


def check(document: object, path: str = '<layout>') -> validation.Document:
    """``document`` when it is a valid layout document.

    :raises: :class:`nova_mig.exception.LayoutFileError` naming the key.
    """
    return validation.check(_CHECKER, document, failure(path))


def loads(text: str | bytes, path: str = '<layout>') -> validation.Document:
    """Parse and check layout text (YAML)."""
    return check(bounded_input.load_yaml(text, failure(path)), path)


def read(path: str) -> validation.Document:
    """Read, parse and check the layout file at ``path``."""
    return loads(bounded_input.read_input(path, failure(path)), path)


def dumps(document: validation.Document) -> str:
    """The YAML text of a layout document, which must be valid.

    :raises: ValueError when it is not (a bug of the writer).
    """
    return validation.dump_yaml(validation.checked(_CHECKER, document))


def write(path: str, document: validation.Document, header: str = '') -> bool:
    """Write a layout file atomically, ``header`` (comment lines) first.

    :returns: False when the file already held this content.
    """
    return fileutils.write_if_changed(path, header + dumps(document))
