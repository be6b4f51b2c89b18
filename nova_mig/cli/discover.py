# SPDX-License-Identifier: Apache-2.0

"""``nova-mig discover``: show what the compute host has."""

import argparse
import collections.abc
import shutil
import typing

from nova_mig.cli import common
from nova_mig.cli import slicemap
from nova_mig.host import discovery

COLUMNS = ('version', 'hostname', 'device_mode', 'gpus', 'vgpu_parents',
           'vgpu_devices', 'domains')


class Discover(common.ShowOne):
    """Discover the GPUs, MIG geometry and vGPU devices of this host.

    Reads the GPUs through the configured GPU backend ([gpu]backend: NVML,
    or the simulated host), the SR-IOV VFs, vGPU types and vGPU devices
    from sysfs ([host]sysfs_root), and the libvirt domains and mdev node
    devices ([libvirt]connection_uri). It changes nothing.

    The table form draws each GPU's memory slices: which GPU instance
    occupies them, whether it carries a vGPU device and whether a guest
    uses it. ``-f json`` prints one JSON object with the keys hostname,
    device_mode, gpus, vgpu_parents, vgpu_devices and domains; each vGPU
    device says whether nova-mig created it ("owned").
    """

    uses_cloud = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--host-file', metavar='OUT',
            help='Also write the host as a simulated-host file to OUT (GPU '
                 'models with their profiles and vGPU types as the backend '
                 'reports them, instances, VFs, vGPU devices, domains), to '
                 'attach to a bug report and replay with [simulator]'
                 'host_file. The host itself is only read.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace
                    ) -> common.Columns:
        found = discovery.discover(self.backend())
        if parsed_args.host_file:
            # Imported here: a plain discover does not pay for them.
            from nova_mig.documents import simulated_host_file
            from nova_mig.host import capture
            simulated_host_file.write(
                parsed_args.host_file, capture.host_file(found),
                header='# nova-mig discover --host-file: a captured host, '
                       'see doc/source/reference/simulated-host.rst\n')
            self.app.stderr.write('Wrote host file %s\n'
                                  % parsed_args.host_file)
        report = found.as_dict()
        # Whether nova-mig created each vGPU device (its ownership record,
        # reconciled in memory, not written): "layout apply" never removes
        # one it did not, and the rebalance planner counts it so.
        from nova_mig.layout import layout_apply
        owned = layout_apply.owned_devices(self.conf, False, found) or set()
        for dev in report['vgpu_devices']:
            dev['owned'] = (dev['uuid'] or dev['parent']) in owned
        return COLUMNS, tuple(report[c] for c in COLUMNS)

    def produce_output(self, parsed_args: argparse.Namespace,
                       column_names: collections.abc.Sequence[str],
                       data: collections.abc.Sequence[typing.Any]) -> int:
        if parsed_args.formatter == 'table' and not parsed_args.columns:
            report = dict(zip(column_names, data))
            self.app.stdout.write(slicemap.render(
                report, width=_width(parsed_args, self.app.stdout)))
            return 0
        return super().produce_output(parsed_args, column_names, data)


def _width(parsed_args: argparse.Namespace,
           stream: typing.TextIO) -> int | None:
    """The columns to fit the table form in, None for no limit.

    cliff's --max-width (or CLIFF_MAX_TERM_WIDTH), else the terminal's
    width when writing to one (or with --fit-width).
    """
    max_width = int(getattr(parsed_args, 'max_width', 0) or 0)
    if max_width > 0:
        return max_width
    isatty = getattr(stream, 'isatty', None)
    if getattr(parsed_args, 'fit_width', False) or (isatty and isatty()):
        return shutil.get_terminal_size().columns
    return None
