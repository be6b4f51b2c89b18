#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Write the JSON schemas of nova-mig's documents for the documentation.

Each document of :mod:`nova_mig.documents` has its schema written to
``doc/source/reference/schemas/<name>.schema.json``, which
``doc/source/reference/documents.rst`` includes. The unit tests check that
the files are what this tool writes::

    tools/document_schemas.py           write the files
    tools/document_schemas.py --check   exit 1 when a file is not current
"""

import argparse
import json
import os
import sys
import types

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOP)

from nova_mig.documents import discover  # noqa: E402
from nova_mig.documents import layout_file  # noqa: E402
from nova_mig.documents import simulated_host_file  # noqa: E402
from nova_mig.documents import targets_file  # noqa: E402

#: Directory of the schema files, from the top of the tree.
SCHEMA_DIR = os.path.join('doc', 'source', 'reference', 'schemas')
#: name -> (title, module holding VERSION and SCHEMA).
DOCUMENTS: dict[str, tuple[str, types.ModuleType]] = {
    'discover': ('nova-mig discover -f json', discover),
    'layout': ('nova-mig layout file', layout_file),
    'targets': ('nova-mig rebalance targets file', targets_file),
    'simulated-host': ('nova-mig simulated-host file', simulated_host_file),
}
DIALECT = 'https://json-schema.org/draft/2020-12/schema'


def path(name: str) -> str:
    """The schema file of document ``name``, from the top of the tree."""
    return os.path.join(SCHEMA_DIR, '%s.schema.json' % name)


def text(name: str) -> str:
    """The published schema of document ``name``: JSON, keys sorted."""
    title, module = DOCUMENTS[name]
    published = {'$schema': DIALECT,
                 'title': '%s, version %d' % (title, module.VERSION),
                 **module.SCHEMA}
    return json.dumps(published, indent=2, sort_keys=True) + '\n'


def stale(top: str = TOP) -> list[str]:
    """The schema files that are missing or differ from :func:`text`."""
    found = []
    for name in DOCUMENTS:
        try:
            with open(os.path.join(top, path(name)), encoding='utf-8') as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text(name):
            found.append(path(name))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true',
                        help='only check that the files are current')
    args = parser.parse_args(argv)
    outdated = stale()
    if args.check:
        for name in outdated:
            print('%s: not current; run tools/document_schemas.py' % name)
        return 1 if outdated else 0
    for name in DOCUMENTS:
        with open(os.path.join(TOP, path(name)), 'w', encoding='utf-8') as f:
            f.write(text(name))
    return 0


if __name__ == '__main__':
    sys.exit(main())
