# SPDX-License-Identifier: Apache-2.0

"""Bounded reads and parses of input files that someone else could write.

Every file nova-mig reads that someone else could have written goes
through :func:`read_input`: only a regular file is read (a FIFO, device or
directory is refused without blocking on it) and never more than a limit.
Every YAML document (layouts, mig-parted files, targets files, simulated
host files) is then parsed by :func:`load_yaml`, every JSON document
(discover documents, state files) by :func:`load_json`: size, nesting,
integer length and, in YAML, the expansion of aliases are bounded
before anything is built, and invalid UTF-8, YAML or JSON is reported
with its line and column, never as a raw Python error. Writes are
:mod:`nova_mig.fileutils`'.
"""

import errno
import functools
import json
import os
import re
import stat
import typing


#: Largest input file read (layout, host or mig-parted file), in bytes.
MAX_INPUT_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists in a YAML input.
MAX_YAML_DEPTH = 32
#: Most nodes (scalars, mappings, lists, aliases) in a YAML input.
MAX_YAML_NODES = 500_000
#: Most characters of text a YAML input holds with its aliases expanded.
MAX_YAML_EXPANDED_CHARS = 4 * MAX_INPUT_BYTES
#: Largest state file read (ownership record, checkpoint, sync state,
#: journals), in bytes.
MAX_STATE_BYTES = 16 * 1024 * 1024
#: Deepest nesting of objects and arrays in a JSON document.
MAX_JSON_DEPTH = 32
#: Most digits of an integer in an input file: far beyond any count,
#: size or identifier nova-mig reads, far below Python's own limit.
MAX_INT_DIGITS = 20

_INT = 'tag:yaml.org,2002:int'
_FLOAT = 'tag:yaml.org,2002:float'


@functools.cache
def _loader() -> typing.Any:
    """The safe loader without YAML 1.1's base-60 numbers.

    YAML 1.1 reads an unquoted 0000:41:00.0 as the sexagesimal float
    2460.0; here it stays the string an operator wrote. libyaml's loader
    when PyYAML was built with it: several times faster. Built on first
    use: a command that reads no YAML does not import PyYAML.
    """
    import yaml

    safe: typing.Any = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    loader: typing.Any = type('_Loader', (safe,), {
        'construct_yaml_int': _bounded_int_constructor(safe)})
    loader.add_constructor(_INT, loader.construct_yaml_int)
    loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag not in (_INT, _FLOAT)]
        for first, resolvers in safe.yaml_implicit_resolvers.items()}
    loader.add_implicit_resolver(
        _INT, re.compile(r'^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|'
                         r'[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$'),
        list('-+0123456789'))
    loader.add_implicit_resolver(
        _FLOAT, re.compile(r'^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*'
                           r'(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|'
                           r'[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$'),
        list('-+0123456789.'))
    return loader


_INT_REFUSED = 'an integer of'


def _bounded_int_constructor(
        safe: typing.Any) -> typing.Callable[[typing.Any, typing.Any], int]:
    import yaml

    def construct_yaml_int(self: typing.Any, node: typing.Any) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, '%s %d digits; at most %d are accepted' % (
                    _INT_REFUSED, digits, MAX_INT_DIGITS), node.start_mark)
        return int(safe.construct_yaml_int(self, node))
    return construct_yaml_int


#: Builds the error to raise from ``(where, reason)``: ``where`` is a key
#: path or ``line L column C``.
Fail = typing.Callable[[str, str], Exception]


_KINDS = ((stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
          (stat.S_ISBLK, 'a block device'), (stat.S_ISSOCK, 'a socket'))


def not_regular(mode: int) -> str:
    """Why a file of ``mode`` (not a regular file) is not read."""
    if stat.S_ISDIR(mode):
        return os.strerror(errno.EISDIR)
    kind = next((k for test, k in _KINDS if test(mode)), 'a special file')
    return '%s, not a regular file; nova-mig reads only regular files' % kind


@typing.overload
def read_input(path: str, fail: Fail, limit: int = ...,
               nofollow: bool = ...,
               missing_ok: typing.Literal[False] = ...) -> bytes: ...


@typing.overload
def read_input(path: str, fail: Fail, limit: int = ...,
               nofollow: bool = ...,
               missing_ok: bool = ...) -> bytes | None: ...


def read_input(path: str, fail: Fail, limit: int = MAX_INPUT_BYTES,
               nofollow: bool = False,
               missing_ok: bool = False) -> bytes | None:
    """The bytes of an input file, at most ``limit`` of them.

    The file is opened without blocking (a FIFO with no writer would hang
    a plain ``open``) and read only when ``fstat`` says it is a regular
    file; a device such as ``/dev/zero`` is never read. At most
    ``limit + 1`` bytes are ever read.

    :param nofollow: refuse a symbolic link (nova-mig's own state files).
    :param missing_ok: return None when the file does not exist.
    :raises: what ``fail('file', reason)`` builds when the file cannot be
        read (missing, no permission, not a regular file) or is larger
        than ``limit``.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
    if nofollow:
        flags |= os.O_NOFOLLOW
    try:
        fd = os.open(path, flags)
    except FileNotFoundError as e:
        if missing_ok:
            return None
        raise fail('file', e.strerror or str(e))
    except OSError as e:
        if nofollow and e.errno == errno.ELOOP:
            raise fail('file', 'a symbolic link; nova-mig reads its own '
                       'files only when they are regular files')
        raise fail('file', e.strerror or str(e))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise fail('file', not_regular(mode))
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1024 * 1024))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as e:
        raise fail('file', e.strerror or str(e))
    finally:
        os.close(fd)
    if size > limit:
        raise fail('file', 'larger than %d bytes, the most nova-mig reads '
                   'from this file' % limit)
    return b''.join(chunks)


def reason(where: str, why: str) -> str:
    """``why`` preceded by ``where`` unless that is the whole file."""
    return why if where == 'file' else '%s: %s' % (where, why)


def read_json(path: str, fail: Fail, limit: int = MAX_STATE_BYTES,
              nofollow: bool = True, missing_ok: bool = True
              ) -> tuple[bool, typing.Any]:
    """A JSON file, read by :func:`read_input`, parsed by :func:`load_json`.

    :returns: ``(False, None)`` when the file does not exist and
        ``missing_ok``, else ``(True, document)``.
    """
    content = read_input(path, fail, limit, nofollow=nofollow,
                         missing_ok=missing_ok)
    if content is None:
        return False, None
    return True, load_json(content, fail)


class _Refused(Exception):
    """A JSON value refused while parsing (its reason in ``args[0]``)."""


def _json_constant(name: str) -> typing.NoReturn:
    raise _Refused('%s is not a JSON number' % name)


def _json_int(text: str) -> int:
    if len(text.lstrip('-')) > MAX_INT_DIGITS:
        raise _Refused('an integer of %d digits; at most %d are accepted'
                       % (len(text.lstrip('-')), MAX_INT_DIGITS))
    return int(text)


def _json_float(text: str) -> float:
    value = float(text)
    if value in (float('inf'), float('-inf')):
        raise _Refused('%s is out of range' % text[:40])
    return value


def _depth(document: typing.Any) -> int:
    """Nesting depth of a parsed JSON document, without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((v, level + 1) for v in value)
    return deepest


def load_json(content: bytes, fail: Fail,
              max_depth: int = MAX_JSON_DEPTH) -> typing.Any:
    """Parse one JSON document safely, within bounds.

    :raises: what ``fail(where, reason)`` builds for invalid UTF-8 or
        JSON (reason ``not JSON: ...``), ``NaN`` or ``Infinity``, an
        integer of more than :data:`MAX_INT_DIGITS` digits or nesting
        deeper than ``max_depth``.
    """
    text = decode(content, fail)
    try:
        document = json.loads(text, parse_constant=_json_constant,
                              parse_int=_json_int, parse_float=_json_float)
    except json.JSONDecodeError as e:
        raise fail('line %d column %d' % (e.lineno, e.colno),
                   'not JSON: %s' % e.msg)
    except _Refused as e:
        raise fail('JSON', 'not JSON: %s' % e.args[0])
    except RecursionError:
        raise fail('JSON', 'nested deeper than %d levels' % max_depth)
    if _depth(document) > max_depth:
        raise fail('JSON', 'nested deeper than %d levels' % max_depth)
    return document


def _position(content: bytes, offset: int) -> str:
    line = content.count(b'\n', 0, offset) + 1
    column = offset - (content.rfind(b'\n', 0, offset) + 1) + 1
    return 'line %d column %d' % (line, column)


def decode(content: bytes, fail: Fail) -> str:
    """``content`` as UTF-8 text.

    :raises: what ``fail('line L column C', reason)`` builds, pointing at
        the first byte that is not UTF-8.
    """
    try:
        return content.decode('utf-8')
    except UnicodeDecodeError as e:
        raise fail(_position(content, e.start),
                   'not valid UTF-8 (byte 0x%02x)' % content[e.start])


def _mark(node: typing.Any) -> str:
    mark = getattr(node, 'start_mark', None) or getattr(
        node, 'problem_mark', None)
    if mark is None:
        return 'YAML'
    return 'line %d column %d' % (mark.line + 1, mark.column + 1)


def _check_events(yaml: typing.Any, events: typing.Iterable[typing.Any],
                  fail: Fail, max_depth: int, max_nodes: int) -> None:
    """Refuse a document too deep or too large once aliases are expanded.

    An alias counts as the whole node its anchor names (its values and
    the characters of its text), and reaches as deep as that node does: a
    kilobyte of nested aliases (a "billion laughs") that would expand to
    gigabytes in whoever walks or prints the document is refused here,
    while an anchor used a few times is fine.
    """
    # Open collections: [anchor, values, characters, height].
    stack: list[list[typing.Any]] = []
    anchors: dict[str, tuple[int, int, int]] = {}
    values = characters = 0

    def add(size: int, chars: int, height: int) -> None:
        if stack:
            stack[-1][1] += size
            stack[-1][2] += chars
            stack[-1][3] = max(stack[-1][3], height + 1)

    for event in events:
        alias = ''
        if isinstance(event, (yaml.MappingStartEvent,
                              yaml.SequenceStartEvent)):
            if len(stack) >= max_depth:
                raise fail(_mark(event), 'nested deeper than %d levels'
                           % max_depth)
            stack.append([event.anchor, 1, 2, 1])
            values, characters = values + 1, characters + 2
        elif isinstance(event, (yaml.MappingEndEvent,
                                yaml.SequenceEndEvent)):
            anchor, size, chars, height = stack.pop()
            if anchor is not None:
                anchors[anchor] = (size, chars, height)
            add(size, chars, height)
            continue
        elif isinstance(event, yaml.AliasEvent):
            alias = ' once alias *%s is expanded' % event.anchor
            size, chars, height = anchors.get(event.anchor, (1, 1, 0))
            if len(stack) + height > max_depth:
                raise fail(_mark(event), 'nested deeper than %d levels%s'
                           % (max_depth, alias))
            values, characters = values + size, characters + chars
            add(size, chars, height)
        elif isinstance(event, yaml.ScalarEvent):
            chars = len(event.value) + 1
            if event.anchor is not None:
                anchors[event.anchor] = (1, chars, 0)
            values, characters = values + 1, characters + chars
            add(1, chars, 0)
        else:
            continue
        if values > max_nodes:
            raise fail(_mark(event), 'more than %d values%s'
                       % (max_nodes, alias))
        if characters > MAX_YAML_EXPANDED_CHARS:
            raise fail(_mark(event), 'more than %d characters%s'
                       % (MAX_YAML_EXPANDED_CHARS, alias))


def load_yaml(content: bytes | str, fail: Fail,
              max_depth: int = MAX_YAML_DEPTH,
              max_nodes: int = MAX_YAML_NODES) -> typing.Any:
    """Parse one YAML document safely, within bounds.

    Events are counted before the document is built, so a deeply nested
    or huge document is refused without building it, and Python's
    recursion limit is never reached.

    Aliases count as the nodes they stand for (see :func:`_check_events`),
    so a "billion laughs" is refused before it is built or walked.

    :raises: what ``fail(where, reason)`` builds for invalid UTF-8, invalid
        YAML, nesting deeper than ``max_depth`` or more than ``max_nodes``
        nodes (aliases expanded either way), or an integer longer than
        :data:`MAX_INT_DIGITS` digits.
    """
    if isinstance(content, bytes):
        if len(content) > MAX_INPUT_BYTES:
            raise fail('file', 'larger than %d bytes' % MAX_INPUT_BYTES)
        text = decode(content, fail)
    else:
        text = content
    import yaml

    loader = _loader()
    try:
        _check_events(yaml, yaml.parse(text, Loader=loader), fail,
                      max_depth, max_nodes)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        reason = ' '.join(str(getattr(e, 'problem', None) or e).split())
        if reason.startswith(_INT_REFUSED):
            raise fail(_mark(e), reason)
        raise fail(_mark(e), 'not valid YAML: %s' % reason)
    except RecursionError:
        raise fail('YAML', 'nested too deeply')
