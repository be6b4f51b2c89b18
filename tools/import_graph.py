#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Check and draw the package-level import graph of nova_mig.

Every ``import`` and ``from ... import`` of a package's modules counts,
including those inside functions and under ``if TYPE_CHECKING:``. A node is
a subpackage (``layout``) or a top-level module (``naming``); an import of
``nova_mig.layout.layout_plan`` is an edge to ``layout``. The graph must follow
LAYERS: a node may import only nodes of lower layers (and itself), PRIVATE
nodes are imported by nobody but themselves, and no cycle may exist.

    tools/import_graph.py                   check nova_mig/, exit 1 on error
    tools/import_graph.py --format text     the edges, one node a line
    tools/import_graph.py --format ascii    the layer diagram (docs)
    tools/import_graph.py --format mermaid  a mermaid flowchart of the edges
    tools/import_graph.py --format dot      a Graphviz digraph of the edges

``--root DIR`` checks another package; ``--layer NAME=N`` (repeatable)
replaces the layer table and ``--private NAME`` the private nodes (used by
the tests on small fake packages).
"""

import argparse
import ast
import collections
import os
import sys
import typing

# Bottom to top: the target architecture of nova_mig (issue 10).
LAYERS: dict[str, int] = {
    'exception': 0, 'conf': 0, 'sysfs_gateway': 0, 'exitcodes': 0,
    'bounded_input': 0,
    'model': 1, 'fileutils': 1, 'lock': 1, 'metrics': 1,
    'naming': 2, 'ownership': 2, 'privsep': 2, 'documents': 2,
    'gpu': 3,
    'host': 4,
    'layout': 5, 'novaconf': 5,
    'placement': 6, 'flavor': 6,
    'reaper': 7, 'rebalance': 7,
    'workflows': 8,
    'simulator': 9,
    'cli': 10, 'osc': 10,
}
# Loaded through stevedore entry points only, never imported.
PRIVATE: frozenset[str] = frozenset({'simulator'})
# The package's own __init__.py: it may import nothing of the package.
ROOT_NODE = '__init__'


class Import(typing.NamedTuple):
    source: str         # importing node
    target: str         # imported node
    path: str           # file, from the directory holding the package
    line: int
    source_module: str  # dotted module names
    target_module: str


def _node_of(root: str, path: str) -> str:
    rel = os.path.relpath(path, root)
    first = rel.split(os.sep)[0]
    if first.endswith('.py'):
        first = first[:-3]
    return first


def _module_parts(root: str, path: str) -> list[str]:
    """The dotted name of ``path`` inside the package, as a list."""
    rel = os.path.relpath(path, root)[:-3].split(os.sep)
    if rel[-1] == '__init__':
        rel = rel[:-1]
    return rel


def _is_module(root: str, parts: list[str]) -> bool:
    base = os.path.join(root, *parts)
    return os.path.isfile(base + '.py') or os.path.isdir(base)


def _targets(root: str, pkg: str, path: str,
             node: ast.AST) -> typing.Iterator[list[str]]:
    """The package-relative modules (dotted names as lists) one import loads.

    ``from nova_mig.layout import plan`` loads ``layout.layout_plan``; ``from
    nova_mig.layout.layout_plan import Plan`` loads ``layout.layout_plan`` too.
    """
    if isinstance(node, ast.Import):
        for alias in node.names:
            parts = alias.name.split('.')
            if parts[0] == pkg:
                yield parts[1:]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = _module_parts(root, path)
            if not path.endswith('__init__.py'):
                base = base[:-1]
            drop = node.level - 1
            base = base[:len(base) - drop] if drop else base
            mod = base + (node.module.split('.') if node.module else [])
        elif node.module and node.module.split('.')[0] == pkg:
            mod = node.module.split('.')[1:]
        else:
            return
        for alias in node.names:
            if _is_module(root, mod + [alias.name]):
                yield mod + [alias.name]
            else:
                yield mod


def collect(root: str) -> list[Import]:
    """Every import between nodes of the package in directory ``root``."""
    pkg = os.path.basename(os.path.normpath(root))
    top = os.path.dirname(os.path.normpath(root))  # paths shown from here
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        for name in sorted(filenames):
            if not name.endswith('.py'):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read(), filename=path)
            source = _node_of(root, path)
            for node in ast.walk(tree):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                for parts in _targets(root, pkg, path, node):
                    target = parts[0] if parts else ROOT_NODE
                    found.append(Import(
                        source, target, os.path.relpath(path, top),
                        node.lineno,
                        '.'.join([pkg] + _module_parts(root, path)),
                        '.'.join([pkg] + parts)))
    return sorted(set(found), key=lambda i: (i.path, i.line, i.target))


def nodes(root: str) -> set[str]:
    """The nodes of the package in ``root``: subpackages and modules."""
    found = set()
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if name.endswith('.py') and name != '__init__.py':
            found.add(name[:-3])
        elif os.path.isfile(os.path.join(path, '__init__.py')):
            found.add(name)
    return found


def graph(imports: list[Import],
          all_nodes: typing.Iterable[str] = ()) -> dict[str, set[str]]:
    """``{node: {imported nodes}}``, edges to itself left out."""
    edges: dict[str, set[str]] = collections.defaultdict(set)
    for node in all_nodes:
        edges[node]
    for imp in imports:
        edges[imp.source]
        if imp.target != imp.source:
            edges[imp.source].add(imp.target)
    return dict(edges)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def check(imports: list[Import], layers: dict[str, int],
          private: typing.AbstractSet[str]) -> list[str]:
    """One line per broken rule, naming the file and line of the import."""
    errors = []
    for imp in imports:
        if imp.source == imp.target:
            continue
        where = '%s:%d' % (imp.path, imp.line)
        if imp.target in private:
            errors.append('%s: %s imports %s, which only stevedore may '
                          'load' % (where, imp.source, imp.target))
            continue
        if imp.source == ROOT_NODE:
            errors.append('%s: the package __init__ imports %s'
                          % (where, imp.target))
            continue
        missing = [n for n in (imp.source, imp.target)
                   if n != ROOT_NODE and n not in layers]
        if missing:
            errors.append('%s: %s imports %s; %s has no layer in the table'
                          % (where, imp.source, imp.target,
                             ' and '.join(missing)))
            continue
        src = layers[imp.source]
        dst = -1 if imp.target == ROOT_NODE else layers[imp.target]
        if dst >= src:
            kind = 'upward' if dst > src else 'sideways'
            errors.append('%s: %s import: %s (layer %d) imports %s '
                          '(layer %d)' % (where, kind, imp.source, src,
                                          imp.target, dst))
    edges = graph(imports)
    modules: dict[str, set[str]] = collections.defaultdict(set)
    for imp in imports:
        if imp.source_module != imp.target_module:
            modules[imp.source_module].add(imp.target_module)
    for comp in _cycles(edges) + _cycles(dict(modules)):
        members = set(comp)
        for imp in imports:
            if imp.source in members and imp.target in members and \
                    imp.source != imp.target:
                names = (imp.source, imp.target)
            elif imp.source_module in members and \
                    imp.target_module in members:
                names = (imp.source_module, imp.target_module)
            else:
                continue
            errors.append('%s:%d: cyclic import: %s imports %s (cycle: %s)'
                          % ((imp.path, imp.line) + names +
                             (', '.join(comp),)))
    return errors


def render_text(edges: dict[str, set[str]], layers: dict[str, int]) -> str:
    lines = []
    for node in sorted(edges, key=lambda n: (layers.get(n, -1), n)):
        lines.append('%s (layer %s) -> %s' % (
            node, layers.get(node, '?'),
            ', '.join(sorted(edges[node])) or '-'))
    return '\n'.join(lines) + '\n'


def render_ascii(layers: dict[str, int],
                 private: typing.AbstractSet[str]) -> str:
    """The layer table as a stack of boxes, top layer first."""
    by_layer: dict[int, list[str]] = collections.defaultdict(list)
    for name, layer in layers.items():
        shown = name if name in ('bounded_input', 'exception', 'exitcodes',
                                 'fileutils', 'lock', 'naming', 'ownership',
                                 'sysfs_gateway') else (
                                     name + '/')
        if name in private:
            shown += ' (stevedore only)'
        by_layer[layer].append(shown)
    rows = ['%d  %s' % (layer, '   '.join(sorted(by_layer[layer])))
            for layer in sorted(by_layer, reverse=True)]
    width = max(len(r) for r in rows) + 2
    border = '+' + '-' * width + '+'
    out = [border]
    for i, row in enumerate(rows):
        out.append('| ' + row.ljust(width - 1) + '|')
        out.append(border if i == len(rows) - 1 else
                   '|' + ' ' * (width // 2 - 1) + 'v' +
                   ' ' * (width - width // 2) + '|')
    out.append('  each layer imports only the layers below it')
    return '\n'.join(out) + '\n'


def render_mermaid(edges: dict[str, set[str]]) -> str:
    lines = ['flowchart TD']
    for node in sorted(edges):
        for target in sorted(edges[node]):
            lines.append('    %s --> %s' % (node, target))
    return '\n'.join(lines) + '\n'


def render_dot(edges: dict[str, set[str]], layers: dict[str, int]) -> str:
    lines = ['digraph nova_mig {', '    rankdir=TB;']
    by_layer: dict[int, list[str]] = collections.defaultdict(list)
    for node in edges:
        by_layer[layers.get(node, -1)].append(node)
    for layer in sorted(by_layer):
        lines.append('    { rank=same; %s }' % '; '.join(
            '"%s"' % n for n in sorted(by_layer[layer])))
    for node in sorted(edges):
        for target in sorted(edges[node]):
            lines.append('    "%s" -> "%s";' % (node, target))
    lines.append('}')
    return '\n'.join(lines) + '\n'


def main(argv: typing.Optional[list[str]] = None) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0])
    parser.add_argument('--root',
                        default=os.path.join(here, os.pardir, 'nova_mig'),
                        help='package directory (default: nova_mig/)')
    parser.add_argument('--format', default='check',
                        choices=('check', 'text', 'ascii', 'mermaid', 'dot'))
    parser.add_argument('--layer', action='append', default=[],
                        metavar='NAME=N', help='replace the layer table')
    parser.add_argument('--private', action='append', default=None,
                        metavar='NAME', help='replace the private nodes')
    args = parser.parse_args(argv)
    layers = LAYERS
    if args.layer:
        layers = {}
        for item in args.layer:
            name, _, num = item.partition('=')
            layers[name] = int(num)
    private = PRIVATE if args.private is None else frozenset(args.private)
    if args.format == 'ascii':
        sys.stdout.write(render_ascii(layers, private))
        return 0
    root = os.path.normpath(args.root)
    imports = collect(root)
    edges = graph(imports, nodes(root))
    if args.format == 'text':
        sys.stdout.write(render_text(edges, layers))
    elif args.format == 'mermaid':
        sys.stdout.write(render_mermaid(edges))
    elif args.format == 'dot':
        sys.stdout.write(render_dot(edges, layers))
    errors = check(imports, layers, private)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print('import_graph: %d broken import rule(s)' % len(errors),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
