# SPDX-License-Identifier: Apache-2.0

"""The help of ``nova-mig``, built without loading the application.

The global options and one line per command, without importing
oslo.config, oslo.log, cliff or any command: each line is the first line
of the command class's docstring, read from its module's source.
"""

import ast
import importlib.util

NAMESPACE = 'nova_mig.cli'

DESCRIPTION = """\
nova-mig manages NVIDIA MIG-backed vGPUs of one OpenStack compute host as
one chain: it discovers the GPUs, MIG geometry, SR-IOV VFs, vGPU types and
devices and the libvirt guests using them (discover); declares, plans and
applies a layout of MIG instances and vGPU devices and restores it at boot
(layout ...); writes nova-compute's vGPU configuration (nova-config); keeps
Placement's resource classes and traits in step (sync, verify); removes
orphan vGPU devices safely (reap); changes a host's vGPU type in the order
Nova needs (retype, rebalance apply); and runs around nova-compute's start
(hook ...). The cloud-wide view is "openstack mig ...".

Configuration is read with oslo.config from /etc/nova-mig/nova-mig.conf (or
the files given with --config-file / --config-dir). Set [gpu]backend =
simulated and [simulator]host_file to run against a simulated host.
"""

#: The global options, as cliff and nova_mig.cli.app define them (a unit
#: test compares the two).
GLOBAL_OPTIONS = """\
options:
  --version            show program's version number and exit
  -v, --verbose        Increase verbosity of output. Can be repeated.
  -q, --quiet          Suppress output except warnings and errors.
  --log-file LOG_FILE  Specify a file to log output. Disabled by default.
  -h, --help           Show help message and exit.
  --debug              Show tracebacks on errors.
  --config-file PATH   Configuration file to read; may be repeated. Defaults
                       to /etc/nova-mig/nova-mig.conf when it exists.
  --config-dir DIR     Directory of .conf files read after --config-file; may
                       be repeated.
  --log-dir DIR        Log to DIR/<program>.log ([DEFAULT]log_dir).
  --use-syslog         Log to syslog ([DEFAULT]use_syslog).
  --use-journal        Log to the systemd journal ([DEFAULT]use_journal).
"""

USAGE = """\
usage: nova-mig [--version] [-v | -q] [--log-file LOG_FILE] [-h] [--debug]
                [--config-file PATH] [--config-dir DIR] [--log-dir DIR]
                [--use-syslog] [--use-journal] COMMAND ...
"""


def _entry_points() -> list[tuple[str, str]]:
    """``(command name, "module:Class")`` of every nova-mig command."""
    from importlib import metadata
    try:
        eps = metadata.distribution('nova-mig').entry_points
    except metadata.PackageNotFoundError:   # pragma: no cover - not installed
        eps = metadata.EntryPoints(metadata.entry_points(group=NAMESPACE))
    return sorted((ep.name.replace('_', ' '), ep.value)
                  for ep in eps if ep.group == NAMESPACE)


def _summaries(targets: list[str]) -> dict[str, str]:
    """The first docstring line of each ``module:Class``, from the source."""
    trees: dict[str, ast.Module | None] = {}
    result = {}
    for target in targets:
        module, _, name = target.partition(':')
        if module not in trees:
            spec = importlib.util.find_spec(module)
            tree = None
            if spec is not None and spec.origin:
                with open(spec.origin, encoding='utf-8') as f:
                    tree = ast.parse(f.read())
            trees[module] = tree
        tree = trees[module]
        doc = None
        for node in tree.body if tree is not None else ():
            if isinstance(node, ast.ClassDef) and node.name == name:
                doc = ast.get_docstring(node)
        result[target] = (doc or '').strip().split('\n')[0]
    return result


def help_text() -> str:
    """Usage, description, global options and the commands."""
    commands = _entry_points()
    summaries = _summaries([target for _name, target in commands])
    width = max(len(name) for name, _target in commands)
    lines = [USAGE, DESCRIPTION, GLOBAL_OPTIONS, 'Commands:']
    for name, target in commands:
        lines.append('  %-*s  %s' % (width, name, summaries[target]))
    lines.append('  %-*s  %s' % (width, 'help COMMAND',
                                 'Detailed help of one command.'))
    return '\n'.join(lines) + '\n'
