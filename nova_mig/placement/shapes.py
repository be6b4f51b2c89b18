# SPDX-License-Identifier: Apache-2.0

"""The shape of Placement's answers, checked where they arrive.

:meth:`nova_mig.placement.api_client.PlacementClient.request` checks every
JSON answer of a call nova-mig makes against the keys it reads, so an
answer of the wrong shape (a proxy, another service, a broken Placement)
is one line naming the call and the key, never a ``KeyError`` or
"string indices must be integers" deep in a caller.
"""

import re
import typing

Check = typing.Callable[[typing.Any], bool]
#: A JSON object as Placement answers it (its shape checked by
#: :func:`problem` before a key is read).
JsonObject = dict[str, typing.Any]
#: A key to find in an answer: (key, check, what it must be).
Key = tuple[str, Check, str]


def _text(value: typing.Any) -> bool:
    return isinstance(value, str)


def _optional_text(value: typing.Any) -> bool:
    return value is None or isinstance(value, str)


def _integer(value: typing.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: typing.Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _list_of(check: Check) -> Check:
    return lambda value: isinstance(value, list) and all(map(check, value))


def _map_of(check: Check) -> Check:
    return lambda value: isinstance(value, dict) and all(
        isinstance(k, str) and check(v) for k, v in value.items())


def _object(required: dict[str, Check],
            optional: dict[str, Check] | None = None) -> Check:
    def check(value: typing.Any) -> bool:
        return isinstance(value, dict) and all(
            key in value and test(value[key])
            for key, test in required.items()) and all(
            test(value[key]) for key, test in (optional or {}).items()
            if key in value)
    return check


def _version(value: typing.Any) -> bool:
    return isinstance(value, str) and bool(re.match(r'^\d+\.\d+$', value))


_PROVIDER = _object({'uuid': _text, 'name': _text},
                    {'generation': _integer,
                     'root_provider_uuid': _optional_text,
                     'parent_provider_uuid': _optional_text})
_GENERATION = ('resource_provider_generation', _integer,
               'an integer')
_TRAITS = ('traits', _list_of(_text), 'a list of trait names')
_INVENTORIES = ('inventories', _map_of(_map_of(_number)),
                'a mapping of resource classes to inventory records')

_SUMMARY = _object(
    {'resources': _map_of(_object({'capacity': _integer,
                                   'used': _integer}))},
    {'traits': _list_of(_text), 'root_provider_uuid': _optional_text})

#: (method or None for any, path pattern) -> (key, check, what) to find.
SHAPES: tuple[tuple[str | None, re.Pattern[str], tuple[Key, ...]], ...] = (
    ('GET', re.compile(r'^/resource_providers$'),
     (('resource_providers', _list_of(_PROVIDER),
       'a list of resource providers with "uuid" and "name" text'),)),
    ('POST', re.compile(r'^/resource_providers$'),
     (('uuid', _text, 'text'), ('name', _text, 'text'))),
    (None, re.compile(r'^/resource_providers/[^/]+/traits$'),
     (_TRAITS, _GENERATION)),
    (None, re.compile(r'^/resource_providers/[^/]+/inventories$'),
     (_INVENTORIES, _GENERATION)),
    ('GET', re.compile(r'^/resource_providers/[^/]+/usages$'),
     (('usages', _map_of(_integer),
       'a mapping of resource classes to integers'),)),
    ('GET', re.compile(r'^/resource_providers/[^/]+/allocations$'),
     (('allocations', _map_of(lambda v: isinstance(v, dict)),
       'a mapping of consumers to allocations'),)),
    ('GET', re.compile(r'^/traits$'), (_TRAITS,)),
    ('GET', re.compile(r'^/allocation_candidates$'),
     (('provider_summaries', _map_of(_SUMMARY),
       'a mapping of providers to their resources (capacity and used '
       'integers)'),)),
    ('GET', re.compile(r'^/$'),
     (('versions', lambda v: isinstance(v, list) and bool(v) and all(
         map(_object({'max_version': _version}), v)),
       'a list of versions with a "max_version" such as "1.39"'),)),
    ('GET', re.compile(r'^/resource_classes$'),
     (('resource_classes', _list_of(_object({'name': _text})),
       'a list of resource classes with "name" text'),)),
)


def problem(method: str, path: str, answer: JsonObject) -> str | None:
    """What is wrong with ``answer`` to ``method path``; None when fine."""
    route = path.split('?', 1)[0]
    for verb, pattern, keys in SHAPES:
        if (verb is None or verb == method) and pattern.match(route):
            for key, check, what in keys:
                if key not in answer:
                    return 'the answer has no "%s"' % key
                if not check(answer[key]):
                    return 'the answer\'s "%s" is not %s' % (key, what)
            return None
    return None
