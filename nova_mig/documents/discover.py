# SPDX-License-Identifier: Apache-2.0

"""The discover document (``nova-mig discover -f json``): its schema, I/O.

``nova-mig discover -f json`` writes it (:meth:`nova_mig.model.host_records.
HostReport.as_dict`, whose ``version`` is :data:`VERSION`); the rebalance
planner reads it through :func:`read`. A discover document is gathered
from a compute host by the operator's fleet tool, so it is treated as
untrusted: it is read through :func:`nova_mig.bounded_input.read_input` (a
regular file, at most :data:`MAX_DOCUMENT_BYTES`), parsed by
:func:`nova_mig.bounded_input.load_json` (UTF-8, no ``NaN`` or ``Infinity``,
bounded nesting and integers) and validated against
:data:`SCHEMA` before the planner looks at it. The schema checks
what the planner uses: the host name (it becomes a file name and a line
of the generated layout, so it must be a DNS host name), the GPUs' PCI
addresses, profile tables and GPU instances, with every count and
placement within what a MIG GPU has, and its ``version``: a document
without one (written before documents were versioned) is read as version
1 with a deprecation warning, a newer one is refused. Other keys are left
alone.
"""

import json
import logging
import re
import typing

from nova_mig import bounded_input
from nova_mig.documents import validation
from nova_mig.model import constants
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

#: The version this nova-mig writes and reads.
VERSION = host_records.DOCUMENT_VERSION

#: Largest discover document read, in bytes (a host with 16 GPUs and
#: hundreds of vGPUs writes well under 1 MiB).
MAX_DOCUMENT_BYTES = 8 * 1024 * 1024
#: A DNS host name (RFC 1123 labels; ``_`` tolerated), at most 253
#: characters: no ``/``, no ``..``, no white space, no line break.
HOSTNAME_RE = re.compile(
    r'^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?'
    r'(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)*$')
#: Most GPUs of one host, profiles of one GPU, placements of a profile.
MAX_GPUS = 64
MAX_PROFILES = 64
MAX_SLICES = constants.MAX_PLACEMENT + 1
MAX_VGPU_DEVICES = 4096
#: Longest free text (model, type name, UUID) the planner copies.
MAX_TEXT = 256


def is_hostname(name: object) -> bool:
    """True for a DNS host name safe as a file name and YAML text."""
    return isinstance(name, str) and bool(HOSTNAME_RE.match(name))


def _text(nullable: bool = False) -> validation.Schema:
    return {'type': ['string', 'null'] if nullable else 'string',
            'maxLength': MAX_TEXT,
            'x-reason': 'expected text of at most %d characters, found '
                        '%%(value).80r' % MAX_TEXT}


def _list(items: validation.Schema, most: int) -> validation.Schema:
    return {'type': 'array', 'items': items, 'maxItems': most,
            'x-reason': 'expected a list of at most %d entries, found '
                        '%%(value).80r' % most}


def _object(properties: validation.Schema,
            required: tuple[str, ...] = ()) -> validation.Schema:
    return {'type': 'object', 'properties': properties,
            'required': list(required),
            'x-reason': 'expected a mapping, found %(value).80r'}


_BOOL = {'type': 'boolean', 'x-reason': 'expected true or false, found '
                                        '%(value).80r'}
_PROFILE_NAME = {'type': 'string', 'pattern': constants.PROFILE_RE.pattern,
                 'x-reason': 'expected a MIG profile name (1g.10gb), found '
                             '%(value).80r'}
_PLACEMENT = _object({
    'start': validation.integer(0, maximum=constants.MAX_PLACEMENT),
    'size': validation.integer(1, maximum=MAX_SLICES),
}, required=('start', 'size'))
_PROFILE = _object({
    'id': validation.integer(0, maximum=1024),
    'name': _PROFILE_NAME,
    'slices': validation.integer(1, maximum=MAX_SLICES),
    'memory_mb': validation.integer(0, maximum=10 ** 7),
    'instances': validation.integer(0, maximum=constants.MAX_GPU_INSTANCES),
    'multiprocessors': validation.integer(0, maximum=10 ** 5),
    'placements': _list(_PLACEMENT, MAX_SLICES),
}, required=('id', 'name', 'slices', 'instances', 'placements'))
_GPU_INSTANCE = _object({
    'id': validation.integer(0, maximum=1024),
    'profile': _PROFILE_NAME,
    'placement_start': validation.integer(0, maximum=constants.MAX_PLACEMENT),
    'placement_size': validation.integer(1, maximum=MAX_SLICES),
    'in_use': _BOOL,
}, required=('id', 'profile', 'placement_start', 'placement_size'))
_GPU = _object({
    'pci_address': {'type': 'string', 'format': 'pci-address',
                    'x-reason': 'not a PCI address (0000:41:00.0): '
                                '%(value).80r'},
    'model': _text(),
    'uuid': _text(nullable=True),
    'mig_capable': {'type': ['boolean', 'null'],
                    'x-reason': 'expected true or false, found '
                                '%(value).80r'},
    'mig_mode': _text(nullable=True),
    'sriov_vfs': {**_object({'enabled': validation.integer(
        0, maximum=constants.MAX_SRIOV_VFS)}, required=('enabled',)),
        'type': ['object', 'null']},
    'profiles': _list(_PROFILE, MAX_PROFILES),
    'gpu_instances': {**_list(_GPU_INSTANCE, constants.MAX_GPU_INSTANCES),
                      'type': ['array', 'null']},
}, required=('pci_address', 'model'))
_DEVICE = _object({
    'gpu': _text(nullable=True),
    'gpu_instance_id': validation.integer(0, nullable=True, maximum=1024),
    'uuid': _text(nullable=True),
    'type_name': _text(nullable=True),
})

#: What the planner reads of a discover document.
SCHEMA: validation.Schema = _object({
    'version': {'const': VERSION,
                'x-reason': 'unsupported version %%(value).80r; this '
                            'nova-mig reads version %d (upgrade nova-mig '
                            'where the plan is made)' % VERSION},
    'hostname': {'type': 'string', 'pattern': HOSTNAME_RE.pattern,
                 'x-reason': 'not a DNS host name (letters, digits, "-", '
                             '"." and "_", at most 253 characters): '
                             '%(value).80r'},
    'device_mode': {'enum': [constants.MODE_AUTO, *constants.DEVICE_MODES,
                             None],
                    'x-reason': 'expected one of %s, found %%(value).80r'
                                % ', '.join((constants.MODE_AUTO,) +
                                            constants.DEVICE_MODES)},
    'gpus': _list(_GPU, MAX_GPUS),
    'vgpu_devices': {**_list(_DEVICE, MAX_VGPU_DEVICES),
                     'type': ['array', 'null']},
}, required=('hostname', 'gpus'))

_CHECKER = validation.validator(SCHEMA)


class DocumentError(ValueError):
    """One line: the key path and what is wrong there."""


def _fail(where: str, why: str) -> Exception:
    return DocumentError(bounded_input.reason(where, why))


def check(document: typing.Any) -> dict[str, typing.Any]:
    """``document`` when it is a discover document the planner can read.

    :raises: :class:`DocumentError` naming the first key path at fault.
    """
    if not isinstance(document, dict) or 'gpus' not in document:
        raise DocumentError('not a "nova-mig discover -f json" document')
    problem = validation.first_problem(_CHECKER, document)
    if problem is not None:
        raise DocumentError('%s: %s' % (problem.where, problem.reason))
    return document


def read(path: str) -> dict[str, typing.Any]:
    """Read, parse and check the discover document at ``path``.

    :raises: :class:`DocumentError`: one line, no file name.
    """
    content = bounded_input.read_input(path, _fail, MAX_DOCUMENT_BYTES)
    document = check(bounded_input.load_json(content, _fail))
    if 'version' not in document:
        LOG.warning('%s: no "version"; read as version %d, as written '
                    'before documents were versioned (deprecated: gather '
                    'it again with this nova-mig\'s "nova-mig discover -f '
                    'json")', shown(path), VERSION)
    return document


def dumps(document: dict[str, typing.Any]) -> str:
    """The JSON text of a discover document, which must be valid.

    ``nova-mig discover -f json`` prints the same document through its
    output formatter; this writer is for the tools and tests that write
    documents of simulated fleets.

    :raises: ValueError when it is not valid (a bug of the writer).
    """
    return json.dumps(validation.checked(_CHECKER, document), indent=1,
                      sort_keys=True) + '\n'


def shown(text: str) -> str:
    """``text`` on one line: control characters escaped."""
    if text.isprintable():
        return text
    return text.encode('unicode_escape').decode('ascii')
