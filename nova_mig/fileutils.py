"""Bounded reads of input files; atomic, change-only writes of nova-mig's.

Every YAML document nova-mig reads (layouts, mig-parted files, simulated
host files) goes through :func:`load_yaml`: size and nesting are bounded
before anything is built, and invalid UTF-8 or YAML is reported with its
line and column, never as a raw Python error.
"""

import functools
import json
import logging
import os
import re
import tempfile
import typing


LOG = logging.getLogger(__name__)

#: Mode of the directories nova-mig creates for its files.
DIR_MODE = 0o755

#: Largest input file read (layout, host or mig-parted file), in bytes.
MAX_INPUT_BYTES = 4 * 1024 * 1024
#: Deepest nesting of mappings and lists in a YAML input.
MAX_YAML_DEPTH = 32
#: Most nodes (scalars, mappings, lists, aliases) in a YAML input.
MAX_YAML_NODES = 500_000

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
    loader: typing.Any = type('_Loader', (safe,), {})
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


#: Builds the error to raise from ``(where, reason)``: ``where`` is a key
#: path or ``line L column C``.
Fail = typing.Callable[[str, str], Exception]


def read_input(path: str, fail: Fail,
               limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of an input file, at most ``limit`` of them.

    :raises: what ``fail('file', reason)`` builds when the file cannot be
        read (a directory, missing, no permission) or is too large.
    """
    try:
        with open(path, 'rb') as stream:
            content = stream.read(limit + 1)
    except OSError as e:
        raise fail('file', e.strerror or str(e))
    if len(content) > limit:
        raise fail('file', 'larger than %d bytes; not a nova-mig input '
                   'file' % limit)
    return content


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


def load_yaml(content: bytes | str, fail: Fail,
              max_depth: int = MAX_YAML_DEPTH,
              max_nodes: int = MAX_YAML_NODES) -> typing.Any:
    """Parse one YAML document safely, within bounds.

    Events are counted before the document is built, so a deeply nested
    or huge document is refused without building it, and Python's
    recursion limit is never reached.

    :raises: what ``fail(where, reason)`` builds for invalid UTF-8, invalid
        YAML, nesting deeper than ``max_depth`` or more than ``max_nodes``
        nodes.
    """
    if isinstance(content, bytes):
        if len(content) > MAX_INPUT_BYTES:
            raise fail('file', 'larger than %d bytes' % MAX_INPUT_BYTES)
        text = decode(content, fail)
    else:
        text = content
    import yaml

    loader = _loader()
    depth = nodes = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, (yaml.MappingStartEvent,
                                  yaml.SequenceStartEvent)):
                depth += 1
                if depth > max_depth:
                    raise fail(_mark(event), 'nested deeper than %d levels'
                               % max_depth)
            elif isinstance(event, (yaml.MappingEndEvent,
                                    yaml.SequenceEndEvent)):
                depth -= 1
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > max_nodes:
                    raise fail(_mark(event), 'more than %d values'
                               % max_nodes)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        reason = getattr(e, 'problem', None) or str(e)
        raise fail(_mark(e), 'not valid YAML: %s'
                   % ' '.join(str(reason).split()))
    except RecursionError:
        raise fail('YAML', 'nested too deeply')


def read_text(path: str) -> str | None:
    """The content of a text file, None when it does not exist.

    Bytes that are not UTF-8 read as U+FFFD: the content then differs from
    any content nova-mig generates, so :func:`write_if_changed` replaces a
    damaged file instead of failing on it.

    :raises: ``OSError`` when the file exists but cannot be read.
    """
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_if_changed(path: str, content: str, mode: int = 0o644) -> bool:
    """Replace ``path`` by ``content`` atomically, only when it differs.

    The content goes to a temporary file in the same directory, is flushed
    and fsynced, given ``mode`` and renamed over ``path`` with
    ``os.replace``; the directory is fsynced too. A reader sees the old or
    the new file, never a part of one; on any failure the old file is left
    as it was and the temporary file is removed. A missing directory is
    created.

    :returns: True when the file was written, False when it already held
        ``content`` (and had ``mode``).
    :raises: ``OSError`` from the failed step.
    """
    current = read_text(path)
    if current == content:
        if os.stat(path).st_mode & 0o7777 != mode:
            os.chmod(path, mode)
        return False
    directory = os.path.dirname(os.path.abspath(path))
    make_dirs(directory)
    fd, tmp = tempfile.mkstemp(dir=directory,
                               prefix='.%s.' % os.path.basename(path),
                               suffix='.tmp')
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)
    LOG.debug('Wrote %s', path)
    return True


def make_dirs(directory: str) -> None:
    """Create ``directory`` and its missing parents, each mode DIR_MODE.

    Unlike ``os.makedirs``, whose parents get 0777 less the umask, every
    level gets :data:`DIR_MODE` whatever the umask: the privsep daemon
    runs with umask 0 and must never leave a world-writable ``/etc/nova``.
    Existing directories are left as they are.
    """
    missing = []
    while not os.path.isdir(directory):
        missing.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    for level in reversed(missing):
        try:
            os.mkdir(level, DIR_MODE)
        except FileExistsError:
            if os.path.isdir(level):
                continue    # created meanwhile by another writer
            raise
        os.chmod(level, DIR_MODE)


def write_json(path: str, document: typing.Any, mode: int = 0o644) -> bool:
    """Write ``document`` as indented JSON with :func:`write_if_changed`."""
    return write_if_changed(
        path, json.dumps(document, indent=1, sort_keys=True) + '\n', mode)


def remove(path: str) -> bool:
    """Remove a file; return False when it did not exist."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return True


def _fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
