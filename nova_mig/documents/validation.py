# SPDX-License-Identifier: Apache-2.0

"""What every document's schema is built from, and how a document is checked.

A schema node may carry ``x-reason``, the reason given when the node
fails, formatted with ``value`` (the value found) and ``key`` (its key):
every error names the key path (``gpus[1].gpu_instances[0].count``) and
why, in one line. The formats the schemas use (``uuid``, ``gpu-uuid``,
``pci-address``, ``pci-device-id``) are checked by :class:`Validator`.
"""

import collections.abc
import dataclasses
import typing

from oslo_utils import uuidutils

from nova_mig import bounded_input
from nova_mig.model import constants

if typing.TYPE_CHECKING:
    import jsonschema

Schema = dict[str, typing.Any]
Path = list[str | int]
Document = dict[str, typing.Any]

_GPU_UUID_PREFIXES = ('gpu-', 'mig-')


def device_id(value: object) -> int:
    """A PCI device ID: ``"0x20B510DE"``, or a number YAML has read.

    :raises: ValueError for text that is not hexadecimal.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(str(value), 16)


def split_gpu_uuid(value: str) -> tuple[str, str]:
    """``("gpu-", uuid)`` from a GPU UUID with or without its prefix."""
    text = value.lower()
    if text.startswith(_GPU_UUID_PREFIXES):
        return text[:4], text[4:]
    return 'gpu-', text


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(uuidutils.is_uuid_like(value))


def _is_gpu_uuid(value: object) -> bool:
    return not isinstance(value, str) or _is_uuid(split_gpu_uuid(value)[1])


def _is_pci_address(value: object) -> bool:
    return not isinstance(value, str) or constants.is_pci_address(
        value.lower())


def _is_device_id(value: object) -> bool:
    if not isinstance(value, (str, int)):
        return True
    try:
        device_id(value)
    except ValueError:
        return False
    return True


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


def version(current: int, hint: str = '') -> Schema:
    """The ``version`` key of a document this nova-mig reads."""
    return {'const': current,
            'x-reason': 'unsupported version %%(value).80r; this nova-mig '
                        'reads version %d%s' % (current, hint)}


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


#: The formats of the documents' schemas, by name.
_FORMAT_CHECKS: dict[str, typing.Callable[[object], bool]] = {
    'uuid': _is_uuid, 'gpu-uuid': _is_gpu_uuid,
    'pci-address': _is_pci_address, 'pci-device-id': _is_device_id}


class Validator:
    """A validator of one schema, knowing the documents' formats.

    jsonschema is imported and the validator built at the first check:
    a command reading no document does not pay for it.
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
    """A validator of ``schema`` knowing the documents' formats.

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


def check(checker: Validator, document: object,
          fail: bounded_input.Fail) -> Document:
    """``document`` when ``checker`` accepts it.

    :raises: what ``fail(where, reason)`` builds for the first problem.
    """
    problem = first_problem(checker, document)
    if problem is not None:
        raise fail(problem.where, problem.reason)
    return typing.cast(Document, document)


def checked(checker: Validator, document: Document) -> Document:
    """``document``, which nova-mig is about to write, proved valid.

    :raises: ValueError: nova-mig built a document it would refuse.
    """
    problem = first_problem(checker, document)
    if problem is not None:
        raise ValueError('nova-mig built an invalid document: %s: %s'
                         % (problem.where, problem.reason))
    return document


def dump_yaml(document: Document) -> str:
    """The YAML text of a document: keys in their order, block style."""
    import yaml  # only for this: discover does not pay for it

    return str(yaml.safe_dump(document, sort_keys=False,
                              default_flow_style=False))
