# SPDX-License-Identifier: Apache-2.0

"""The literal blocks of the documentation that the production tier runs.

A block is marked in the ``.rst`` source by a comment right before it::

    .. nova-mig-test: <name>

    .. code-block:: console

       # nova-mig --config-file /etc/nova-mig/nova-mig.conf install-units

The comment renders as nothing; the block after it (a ``code-block``
directive or a ``::`` literal block) is the one of that name. docutils
reads the source, so a change to the page changes what is run.

A ``console`` block is a list of commands: ``# `` starts one run as
root, ``$ `` one run as the service user; a line ending in ``\\`` goes on
on the next line; any other line is output that the command before it
must print. Other blocks (``ini``, ``yaml``) are file contents.

The substitutions of :data:`SUBSTITUTIONS` are the only changes made to
a block before it runs; each is a placeholder of the page (the Keystone
host, a password) or a command the test machine cannot run.
"""

import dataclasses
import os
import re

import docutils.core
from docutils import nodes

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MARK = re.compile(r'^nova-mig-test:\s*(\S+)\s*$')

#: Placeholders of the pages and what the test cloud has instead. Only
#: these are replaced, and only where a block contains them.
#:
#: * ``http://controller:5000``: the Keystone of the integration tier;
#: * ``NOVA_PASS``: the password of its ``nova`` service user.
SUBSTITUTIONS = ('http://controller:5000', 'NOVA_PASS')

#: Commands of the pages the test machine cannot run, and why; they are
#: not run (the test asserts that only these were left out):
#:
#: * installing nova-mig from PyPI: the production venv
#:   (:mod:`tests.production.base`), built from this tree, is bound at
#:   ``/opt/nova-mig`` instead;
#: * systemd: there is none in the test's mount namespace.
NOT_RUN = {
    'python3 -m venv /opt/nova-mig': 'the production venv is bound there',
    '/opt/nova-mig/bin/pip install nova-mig': 'the production venv is '
                                              'bound at /opt/nova-mig',
    'systemctl ': 'no systemd in the test namespace',
}


@dataclasses.dataclass
class Command:
    """One command of a console block."""

    #: 'root' (``#``) or 'user' (``$``).
    user: str
    text: str
    #: Lines the page shows as its output.
    output: list[str] = dataclasses.field(default_factory=list)

    def not_run(self) -> str | None:
        """Why the test does not run this command, or None."""
        for prefix, why in NOT_RUN.items():
            if self.text.startswith(prefix):
                return why
        return None


@dataclasses.dataclass
class Block:
    page: str
    name: str
    language: str
    text: str
    line: int

    def substituted(self, values: dict[str, str]) -> str:
        """The text with :data:`SUBSTITUTIONS` replaced by ``values``."""
        unknown = set(values) - set(SUBSTITUTIONS)
        if unknown:
            raise ValueError('not a documented substitution: %s'
                             % ', '.join(sorted(unknown)))
        text = self.text
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        return text

    def commands(self, values: dict[str, str] | None = None
                 ) -> list[Command]:
        """The commands of a console block, in order."""
        if self.language != 'console':
            raise ValueError('%s block %s is %s, not console'
                             % (self.page, self.name, self.language))
        commands: list[Command] = []
        pending = ''
        for line in self.substituted(values or {}).splitlines():
            if pending:
                pending += '\n' + line
            elif line.startswith(('# ', '$ ')):
                pending = line
            elif line.strip():
                if not commands:
                    raise ValueError('%s block %s: output before any command'
                                     % (self.page, self.name))
                commands[-1].output.append(line)
                continue
            else:
                continue
            if not pending.endswith('\\'):
                commands.append(Command('root' if pending[0] == '#'
                                        else 'user', pending[2:]))
                pending = ''
        if pending:
            raise ValueError('%s block %s ends in a continuation line'
                             % (self.page, self.name))
        return commands


def _language(block: nodes.literal_block) -> str:
    classes = [c for c in block.get('classes', []) if c != 'code']
    return classes[0] if classes else block.get('language', 'text')


def blocks(page: str) -> dict[str, Block]:
    """The marked blocks of ``doc/source/<page>``, by name.

    :raises: ValueError when a mark has no literal block after it, or a
        name is used twice on the page.
    """
    path = os.path.join(REPO, 'doc', 'source', page)
    with open(path, encoding='utf-8') as f:
        return parse(f.read(), page, path)


def parse(source: str, page: str, path: str = '<string>'
          ) -> dict[str, Block]:
    """The marked blocks of reStructuredText ``source``, by name."""
    # Sphinx's roles and directives (:doc:, toctree) are unknown to plain
    # docutils: reported nowhere, parsed around.
    doctree = docutils.core.publish_doctree(
        source, source_path=path,
        settings_overrides={'report_level': 5, 'halt_level': 5,
                            'syntax_highlight': 'none'})
    found: dict[str, Block] = {}
    for node in doctree.findall(nodes.comment):
        match = MARK.match(node.astext())
        if not match:
            continue
        name, line = match.group(1), node.line or 0
        block = node.next_node(descend=False, siblings=True)
        if not isinstance(block, nodes.literal_block):
            raise ValueError('%s: mark %s has no block after it'
                             % (page, name))
        if name in found:
            raise ValueError('%s: block %s marked twice' % (page, name))
        found[name] = Block(page, name, _language(block), block.astext(),
                            block.line or line)
    return found
