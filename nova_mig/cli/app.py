# SPDX-License-Identifier: Apache-2.0

"""The ``nova-mig`` command line application."""

import argparse
import contextlib
import importlib.metadata
import io
import logging as std_logging
import os
import sys
import typing
import warnings

from cliff import app
from cliff import commandmanager
from oslo_config import cfg
from oslo_log import log as oslo_logging
import pbr.version

from nova_mig.cli import confcheck
from nova_mig.cli import usage
import nova_mig.conf
import nova_mig.conf.placement
from nova_mig import exception
from nova_mig import exitcodes
from nova_mig.privsep import helper

DESCRIPTION = usage.DESCRIPTION


def version() -> str:
    """nova-mig's version as pip reports it: the installed metadata's.

    pbr's ``version_string()`` would drop the ``.devN`` part pip shows;
    its ``release_string()`` is the fallback for a tree run uninstalled.
    """
    try:
        return importlib.metadata.version('nova-mig')
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        release: str = pbr.version.VersionInfo('nova-mig').release_string()
        return release
    except Exception:  # pbr cannot tell from an unpacked tree
        return 'unknown'


def _entry_points(namespace: str) -> list[importlib.metadata.EntryPoint]:
    """nova-mig's entry points of ``namespace``.

    Read from nova-mig's own distribution: scanning every installed
    package for the group costs a short command a tenth of its time.
    """
    try:
        eps = importlib.metadata.distribution('nova-mig').entry_points
    except importlib.metadata.PackageNotFoundError:
        return list(importlib.metadata.entry_points(group=namespace))
    return [ep for ep in eps if ep.group == namespace]


def register_log_options(conf: cfg.ConfigOpts) -> None:
    """oslo.log's options, registered by ``oslo_log.log.register_options``.

    Importing ``oslo_log.log`` costs a command some 50 ms of CPU (its
    formatters pull in oslo.serialization, oslo.context and dateutil);
    ``tools/bench_startup.py`` keeps the whole command within its budget.
    oslo.log adds a stderr handler to a root logger without one; the
    application replaces the root logger's handlers when it sets up
    logging.
    """
    oslo_logging.register_options(conf)


def load_conf(config_files: list[str], config_dirs: list[str],
              cloud: bool = True) -> tuple[cfg.ConfigOpts, list[str]]:
    """The configuration of a run, read in the command line's order.

    Every option is registered first (with ``cloud``, [placement]'s
    keystoneauth options too, as nova registers them), then the files
    are parsed, then the section nova.conf's ``[placement]auth_section``
    names gets its auth options, and every value is checked once.

    :returns: the configuration and ``file: [group]option`` of each
        option nova-mig's groups do not define.
    :raises: :class:`nova_mig.exception.ConfigError`
    """
    conf = cfg.ConfigOpts()
    # [placement]'s keystoneauth options are registered before the files
    # are parsed, for the commands that may talk to a cloud; the others
    # skip importing keystoneauth.
    nova_mig.conf.register_opts(conf, cloud=cloud)
    register_log_options(conf)
    args = []
    for path in config_files:
        args += ['--config-file', path]
    for path in config_dirs:
        args += ['--config-dir', path]
    # A FIFO or device given as a configuration file would hang oslo.config
    # or fill the memory: refused first, as every input.
    confcheck.check_encoding(confcheck.config_files(
        args, cfg.find_config_files(project='nova-mig')))
    said = io.StringIO()
    try:
        # A [DEFAULT] value oslo.config parses as a command-line option
        # (debug = maybe) makes argparse print and exit.
        with contextlib.redirect_stderr(said):
            conf(args, project='nova-mig', version=version())
    except (cfg.Error, OSError) as e:
        raise exception.ConfigError(reason=e)
    except SystemExit:
        raise exception.ConfigError(reason='[DEFAULT]: %s' % (
            ' '.join(said.getvalue().split()) or 'refused'))
    except UnicodeDecodeError:
        confcheck.check_encoding(confcheck.config_files(
            args, conf.default_config_files))
        raise
    files = list(conf.config_file or ())
    groups: tuple[str, ...] = ()
    if cloud:
        # nova.conf's auth_section: the section it names, read the way
        # keystoneauth reads it.
        groups = tuple(sorted({nova_mig.conf.placement.PLACEMENT_GROUP,
                               nova_mig.conf.placement.auth_group(conf)}))
    confcheck.check_values(conf, files, groups)
    return conf, confcheck.unknown_options(files)


class LazyCommandManager(commandmanager.CommandManager):
    """Find commands without importing them.

    cliff's manager imports every command module at start-up; with the
    Placement and privsep machinery behind some commands that costs a second
    on every run. The entry points are only loaded when a command runs (or
    ``help`` lists them).
    """

    def load_commands(self, namespace: str) -> None:
        self.group_list.append(namespace)
        for ep in _entry_points(namespace):
            name = (ep.name.replace('_', ' ') if self.convert_underscores
                    else ep.name)
            self.commands[name] = ep


class NovaMigApp(app.App):
    """cliff application holding the oslo.config options of the run."""

    def __init__(self, conf: cfg.ConfigOpts | None = None,
                 stdout: typing.TextIO | None = None,
                 stderr: typing.TextIO | None = None) -> None:
        super().__init__(
            description=DESCRIPTION,
            version=version(),
            command_manager=LazyCommandManager('nova_mig.cli'),
            deferred_help=True, stdout=stdout, stderr=stderr)
        self.conf = conf

    def build_option_parser(
            self, description: str | None, version: str | None,
            argparse_kwargs: dict[str, typing.Any] | None = None
    ) -> argparse.ArgumentParser:
        parser = super().build_option_parser(description, version,
                                             argparse_kwargs)
        parser.add_argument(
            '--config-file', action='append', default=[], metavar='PATH',
            help='Configuration file to read; may be repeated. Defaults to '
                 '/etc/nova-mig/nova-mig.conf when it exists.')
        parser.add_argument(
            '--config-dir', action='append', default=[], metavar='DIR',
            help='Directory of .conf files read after --config-file; may be '
                 'repeated.')
        # --log-file comes with cliff; these complete oslo.log's set.
        parser.add_argument(
            '--log-dir', metavar='DIR',
            help='Log to DIR/<program>.log ([DEFAULT]log_dir).')
        parser.add_argument(
            '--use-syslog', action='store_true', default=False,
            help='Log to syslog ([DEFAULT]use_syslog).')
        parser.add_argument(
            '--use-journal', action='store_true', default=False,
            help='Log to the systemd journal ([DEFAULT]use_journal).')
        return parser

    def run(self, argv: list[str]) -> int:
        # The command line, to tell the configuration loader which command
        # runs before the files are parsed.
        self._argv = list(argv)
        return super().run(argv)

    def _uses_cloud(self) -> bool:
        """Whether the command of this run may talk to a cloud.

        Its ``uses_cloud`` attribute (:class:`nova_mig.cli.common.
        ErrorReporting`); an unknown command, or none, counts as one.
        """
        _, remainder = self.parser.parse_known_args(
            getattr(self, '_argv', []))
        try:
            factory, _, _ = self.command_manager.find_command(remainder)
        except (ValueError, ImportError):
            return True
        return bool(getattr(factory, 'uses_cloud', True))

    def _load_conf(self) -> cfg.ConfigOpts:
        conf, self._unknown_options = load_conf(
            self.options.config_file, self.options.config_dir,
            cloud=self._uses_cloud())
        if self.options.debug:
            conf.set_override('debug', True)
        self._logging_overrides(conf)
        # The privsep daemon is started with this run's configuration.
        helper.use_conf(conf)
        return conf

    def _logging_overrides(self, conf: cfg.ConfigOpts) -> None:
        """oslo.log's command-line options win over the files'."""
        opts = self.options
        for option, value in (('log_file', opts.log_file),
                              ('log_dir', opts.log_dir)):
            if value:
                conf.set_override(option, os.path.abspath(value))
        for option in ('use_syslog', 'use_journal'):
            if getattr(opts, option):
                conf.set_override(option, True)

    def _setup_oslo_log(self, conf: cfg.ConfigOpts) -> bool:
        """oslo.log's handlers for a file, directory, journal or syslog.

        :returns: False when none is configured (the console only).
        """
        if not (conf.log_file or conf.log_dir or conf.use_journal or
                conf.use_syslog or conf.log_config_append):
            return False
        try:
            oslo_logging.setup(conf, 'nova-mig')
        except RuntimeError as e:
            if conf.use_journal and 'ystemd' in str(e):
                raise exception.ConfigError(
                    reason='use_journal needs the systemd Python bindings '
                           '(pip install systemd-python, or the '
                           'python3-systemd package); log to stderr, which '
                           'journald keeps for a systemd unit, or set '
                           'log_file')
            raise exception.ConfigError(reason=e)
        except OSError as e:
            raise exception.ConfigError(
                reason='cannot open the log %s: %s'
                % (e.filename or conf.log_file or conf.log_dir, e.strerror))
        # Without a file or the journal oslo.log also logs to stdout, where
        # the command's own output goes (-f json): never there.
        root = std_logging.getLogger('')
        for handler in list(root.handlers):
            if getattr(handler, 'stream', None) is sys.stdout:
                root.removeHandler(handler)
        # syslog alone still shows the console what it shows without it.
        return bool(conf.log_file or conf.log_dir or conf.use_journal or
                    conf.log_config_append)

    def configure_logging(self) -> None:
        # A command-line run logs to stderr through a console handler
        # (honouring -v/-q/--debug). A log file or directory, the journal
        # or syslog (options of the files, or --log-file, --log-dir,
        # --use-journal, --use-syslog) get oslo.log's own handlers, set up
        # by oslo.log as in every other OpenStack program; with syslog
        # alone the console handler stays.
        self._config_error: exception.ConfigError | None = None
        try:
            if self.conf is None:
                self.conf = self._load_conf()
        except exception.ConfigError as e:
            self.conf = None
            self._config_error = e
        root = std_logging.getLogger('')
        keep: list[std_logging.Handler] = []
        if self.conf is not None:
            try:
                if self._setup_oslo_log(self.conf):
                    return
            except exception.ConfigError as e:
                self._config_error = e
            else:
                # syslog alone: its handler stays beside the console.
                keep = list(root.handlers) if self.conf.use_syslog else []
        for handler in list(root.handlers):
            if handler not in keep:
                root.removeHandler(handler)
        console = std_logging.StreamHandler(self.stderr)
        console.setFormatter(
            std_logging.Formatter('%(levelname)s: %(message)s'))
        if self.options.debug:
            level = std_logging.DEBUG
        else:
            level = {0: std_logging.ERROR, 1: std_logging.WARNING,
                     2: std_logging.INFO}.get(self.options.verbose_level,
                                              std_logging.DEBUG)
        # syslog gets INFO and up whatever the console shows.
        root.setLevel(min(level, std_logging.INFO) if keep else level)
        console.setLevel(level)
        root.addHandler(console)
        if not self.options.debug:
            # nova-mig reports plugin load failures and unreachable
            # services itself, in one line; -v shows these libraries' own
            # warnings.
            quiet = (std_logging.ERROR if self.options.verbose_level <= 1
                     else level)
            for name in ('stevedore', 'keystoneauth'):
                std_logging.getLogger(name).setLevel(quiet)

    def initialize_app(self, argv: list[str]) -> None:
        if self._config_error is not None:
            self.stderr.write('nova-mig: error: %s\n' % self._config_error)
            sys.exit(exitcodes.ExitCode.FAILED)
        for where in getattr(self, '_unknown_options', ()):
            self.stderr.write('nova-mig: warning: %s: unknown option, '
                              'ignored\n' % where)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        # No interactive shell: the help, and the exit status of a
        # command line missing its command.
        sys.stderr.write(usage.help_text())
        return exitcodes.ExitCode.USAGE
    # oslo.privsep imports eventlet, which warns on import; an operator
    # cannot act on that warning.
    warnings.filterwarnings('ignore',
                            message=r'(?s).*Eventlet is deprecated')
    return NovaMigApp().run(argv)


if __name__ == '__main__':
    sys.exit(main())
