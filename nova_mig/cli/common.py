# SPDX-License-Identifier: Apache-2.0

"""Shared pieces of the nova-mig commands."""

import argparse
import collections.abc
import typing

from cliff import command
from cliff import show
from oslo_config import cfg

from nova_mig.cli import app
import nova_mig.conf
from nova_mig import exception
from nova_mig import exitcodes
from nova_mig import gpu
from nova_mig.gpu import backend_api

#: A command's row by column name, as :meth:`ReportShowOne.render_report`
#: takes it: the JSON the command prints with ``-f json``.
Row = dict[str, typing.Any]

#: What ``take_action`` returns: the column names, then the row (ShowOne)
#: or the rows (Lister).
Columns = tuple[tuple[str, ...], typing.Any]


class ErrorReporting(exitcodes.ExitStatus, command.Command):
    """Turn nova-mig errors into one clear line and a non-zero exit.

    Without ``--debug`` an operator sees ``nova-mig: error: <what and
    where>``; with it, the traceback too. Mixed in before a cliff command
    class (which it names as its own base for the type checker). The exit
    status follows :mod:`nova_mig.exitcodes`: FAILED on an error, else
    what ``take_action`` set in ``exit_status``.
    """

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)
        except exception.NovaMigException as e:
            if self.app_args is not None and self.app_args.debug:
                raise
            self.app.stderr.write('nova-mig: error: %s\n' % e)
            return exitcodes.ExitCode.FAILED
        except OSError as e:
            # A file the command could not read or write that no code path
            # named: still one line, with the path.
            if self.app_args is not None and self.app_args.debug:
                raise
            self.app.stderr.write('nova-mig: error: %s: %s\n' % (
                e.filename or 'I/O', e.strerror or e))
            return exitcodes.ExitCode.FAILED

    def get_epilog(self) -> str:
        """cliff's epilog without its "provided by the ... plugin" line.

        To name a plugin's distribution cliff reads the metadata of every
        installed package, a third of a short command's time; every
        nova-mig command is nova-mig's own.
        """
        parts = [self._epilog or '']
        parts += [e for h in self._hooks
                  if h.obj is not None and
                  (e := h.obj.get_epilog()) is not None]
        return '\n\n'.join(parts)

    #: Whether the command may talk to a cloud (Placement, the Compute
    #: API): its configuration then carries [placement]'s keystoneauth
    #: options, whose import costs the others most of their start-up.
    uses_cloud = True

    @property
    def conf(self) -> cfg.ConfigOpts:
        conf = typing.cast(app.NovaMigApp, self.app).conf
        if conf is None:    # the app exits on a configuration error first
            raise exception.ConfigError(reason='no configuration loaded')
        if self.uses_cloud:
            # A configuration the application did not load itself lacks
            # them; registered once.
            nova_mig.conf.register_cloud_opts(conf)
        return conf

    def backend(self) -> backend_api.GpuBackend:
        """The GPU backend chosen by ``[gpu]backend``."""
        return gpu.load_backend(self.conf)


#: Help of --skip-handle-check, the same on every destructive command.
SKIP_HANDLE_CHECK_HELP = (
    'Destroy even when the open /dev/vfio handles cannot be read (run '
    'without root, or /proc mounted with hidepid): without it such a run '
    'refuses every destructive step with one line naming what could not '
    'be read. A process holding a device open would lose it: use only '
    'when nothing can use the GPUs being changed. Logged as a warning.')


class Command(ErrorReporting, command.Command):
    """A nova-mig command that acts."""


class ShowOne(ErrorReporting, show.ShowOne):
    """A nova-mig command that shows one object."""


class ReportShowOne(ShowOne):
    """A ShowOne whose table form is a text report.

    Without ``-f``/``-c`` the row goes through :meth:`render_report`;
    the other formatters show the columns as usual.
    """

    def render_report(self, row: Row) -> str:
        raise NotImplementedError

    def produce_output(self, parsed_args: argparse.Namespace,
                       column_names: collections.abc.Sequence[str],
                       data: collections.abc.Sequence[typing.Any]) -> int:
        if parsed_args.formatter == 'table' and not parsed_args.columns:
            self.app.stdout.write(self.render_report(
                dict(zip(column_names, data))))
            return 0
        return super().produce_output(parsed_args, column_names, data)
