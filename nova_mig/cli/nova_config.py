# SPDX-License-Identifier: Apache-2.0

"""``nova-mig nova-config``: generate nova-compute's vGPU configuration."""

import argparse
import os
import typing

from nova_mig.cli import common
from nova_mig.host import discovery
from nova_mig.model import constants
from nova_mig.novaconf import config_writer
from nova_mig.novaconf import render
from nova_mig.privsep import files

COLUMNS = ('hostname', 'device_mode', 'snippet_path', 'snippet_written',
           'provider_config_path', 'provider_config_written',
           'restart_nova_compute', 'dry_run', 'enabled_mdev_types',
           'pci_devices', 'warnings', 'snippet', 'provider_config', 'diff')


class NovaConfig(common.ReportShowOne):
    """Generate and write nova-compute's vGPU configuration for this host.

    Discovers the host like "nova-mig discover" and generates, in mdev
    mode, [devices]enabled_mdev_types and one [mdev_<type>] group per vGPU
    type with device_addresses, mdev_class (the resource class from
    [naming]) and, where SR-IOV VFs hide the real capacity, max_instances;
    in vendor-specific VFIO mode, one [pci]device_spec per VF (managed
    "no", with resource_class and traits) and one [pci]alias per resource
    class. On a GPU with MIG enabled each GPU instance gets its own VF with
    the type backed by its profile; VFs already carrying a vGPU keep its
    type; spare VFs are left out. A GPU with MIG disabled offers the type
    of its vGPUs, else the first of [nova]time_sliced_type it supports.

    Nova's rules are checked first (one type per PCI address, addresses in
    every [mdev_*] group, types offered by their parents, one resource
    class per PF for PCI in Placement); a violation is an error and nothing
    is written.

    The snippet goes to [nova]config_snippet (include its directory with
    nova-compute's --config-dir), the provider config adding the MIG
    profile, GPU model, compute capability and device mode traits to the
    GPU resource providers to [nova]provider_config_file. Each file is
    replaced atomically and only when its content changed; if the second
    cannot be written, the first is restored. The output says whether
    nova-compute must be restarted (it reads both files only at start).

    --dry-run prints the diff against the current files (unified, from
    /dev/null for a file not written yet) and writes nothing; --show
    prints the full text of both files instead of the diff. -f json
    prints one object with the keys shown by the table form plus snippet,
    provider_config and diff.
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Print the diff against the current files; write '
                 'nothing.')
        parser.add_argument(
            '--show', action='store_true',
            help='Print the full text of the snippet and the provider '
                 'config (instead of the diff with --dry-run).')
        parser.add_argument(
            '-o', '--output', metavar='PATH',
            help='Write the nova.conf snippet here instead of '
                 '[nova]config_snippet.')
        parser.add_argument(
            '--provider-config', metavar='PATH',
            help='Write the provider config here instead of '
                 '[nova]provider_config_file.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> common.Columns:
        self._show = parsed_args.show
        backend = self.backend()
        report = discovery.discover(backend)
        config = config_writer.plan_host(self.conf, report,
                                         backend.sysfs_root())
        result = config_writer.write(
            config, report,
            os.path.abspath(parsed_args.output or
                            self.conf.nova.config_snippet),
            os.path.abspath(parsed_args.provider_config or
                            self.conf.nova.provider_config_file),
            writer=files.FileWriter(), dry_run=parsed_args.dry_run)
        return COLUMNS, _row(result)

    def render_report(self, row: common.Row) -> str:
        return _text(row, show=getattr(self, '_show', False))


def _row(result: config_writer.Result) -> tuple[typing.Any, ...]:
    config = result.config
    mdev = config.device_mode == constants.MODE_MDEV
    return (
        config.hostname, config.device_mode, result.snippet_path,
        result.snippet_written, result.provider_config_path,
        result.provider_config_written, result.restart_needed,
        result.dry_run,
        [g.type_id for g in render.mdev_groups(config)] if mdev else [],
        [] if mdev else [a.address for a in config.assignments],
        list(config.warnings), result.snippet, result.provider_config,
        result.diff)


def _wrote(path: str, written: bool) -> str:
    return ('Wrote %s.' % path if written
            else 'Left %s as it was: it already had this content.' % path)


def _text(row: common.Row, show: bool = False) -> str:
    lines = []
    if show:
        lines += ['# %s' % row['snippet_path'],
                  row['snippet'].rstrip('\n'), '',
                  '# %s' % row['provider_config_path'],
                  row['provider_config'].rstrip('\n'), '']
    if row['dry_run']:
        if not show:
            lines += [row['diff'].rstrip('\n') or '(no change)', '']
        lines += ['Dry run: nothing written.',
                  'nova-compute restart needed once written: %s'
                  % ('yes' if row['restart_nova_compute'] else 'no')]
    else:
        lines += [_wrote(row['snippet_path'], row['snippet_written']),
                  _wrote(row['provider_config_path'],
                         row['provider_config_written']),
                  'Restart nova-compute to read them.'
                  if row['restart_nova_compute'] else
                  'nova-compute needs no restart.']
    lines += ['warning: %s' % w for w in row['warnings']]
    return '\n'.join(lines) + '\n'
