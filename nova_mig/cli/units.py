# SPDX-License-Identifier: Apache-2.0

"""``nova-mig install-units`` and ``install-sudoers``: host files.

The systemd units shipped in ``etc/systemd`` and the sudoers rule in
``etc/sudoers.d`` (installed under ``<prefix>/share/nova-mig/``) are
templates: the path of the ``nova-mig`` executable differs between a
distribution package (``/usr/bin``), ``pip install`` as root
(``/usr/local/bin``) and a virtual environment (``<venv>/bin``), and so do
nova-compute's unit name and the ``privsep-helper`` nova-mig starts. These
commands fill them in for the nova-mig that runs them.
"""

import argparse
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig

from oslo_config import cfg

import nova_mig
from nova_mig.cli import common
from nova_mig import exception
from nova_mig import fileutils
from nova_mig.privsep import helper

#: Where systemd reads units an administrator installed.
SYSTEM_DIR = '/etc/systemd/system'
DEFAULT_CONFIG = '/etc/nova-mig/nova-mig.conf'
NOVA_COMPUTE_UNIT = 'nova-compute.service'
RESTORE_UNIT = 'nova-mig-restore.service'
DROP_IN = 'nova-mig.conf'
#: Template name, relative to a template directory -> installed name,
#: relative to the output directory (``{unit}``: nova-compute's unit).
TEMPLATES = (
    (os.path.join('systemd', RESTORE_UNIT), RESTORE_UNIT),
    (os.path.join('systemd', 'nova-compute.service.d', DROP_IN),
     os.path.join('{unit}.d', DROP_IN)),
)
#: The metrics service and its timer, written with --metrics-textfile.
METRICS_UNIT = 'nova-mig-metrics.service'
METRICS_TEMPLATES = (
    (os.path.join('systemd', METRICS_UNIT), METRICS_UNIT),
    (os.path.join('systemd', 'nova-mig-metrics.timer'),
     'nova-mig-metrics.timer'),
)
SUDOERS_TEMPLATE = os.path.join('sudoers.d', 'nova-mig')
SUDOERS_FILE = '/etc/sudoers.d/nova-mig'
SHARE = os.path.join('share', 'nova-mig')


def template_dirs() -> list[str]:
    """Where the templates may be, in the order they are tried.

    The install prefix of this Python first (a virtual environment or
    ``pip install``), then the source tree's ``etc/`` (an editable
    install), then the distribution's and the local administrator's
    prefixes. Each holds ``systemd/`` and ``sudoers.d/``.
    """
    source = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(nova_mig.__file__))), 'etc')
    dirs = [os.path.join(sysconfig.get_path('data'), SHARE),
            os.path.join(sys.prefix, SHARE), source,
            os.path.join('/usr/local', SHARE), os.path.join('/usr', SHARE)]
    return list(dict.fromkeys(os.path.normpath(d) for d in dirs))


def find_templates(names: list[str], explicit: str | None = None) -> str:
    """The first template directory holding every one of ``names``.

    :raises: :class:`~nova_mig.exception.InstallUnitsError` naming the
        directories tried.
    """
    dirs = [explicit] if explicit else template_dirs()
    for d in dirs:
        if all(os.path.isfile(os.path.join(d, name)) for name in names):
            return d
    raise exception.InstallUnitsError(
        reason='the templates %s are in none of %s; reinstall nova-mig or '
               'pass --template-dir' % (', '.join(names), ', '.join(dirs)))


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_executable(explicit: str | None = None) -> str:
    """Absolute path of the ``nova-mig`` executable the units run.

    In order: ``explicit``; the command being run (``sys.argv[0]`` when it
    is ``nova-mig``); the ``nova-mig`` next to this Python (a virtual
    environment's ``bin/``, or ``/usr/bin`` for a distribution package);
    the first on ``PATH`` (``/usr/local/bin`` after ``pip install``).

    :raises: :class:`~nova_mig.exception.InstallUnitsError` when none is found.
    """
    if explicit:
        path = os.path.abspath(explicit)
        if not _executable(path):
            raise exception.InstallUnitsError(
                reason='--executable %s is not an executable file' % path)
        return path
    candidates = []
    argv0 = sys.argv[0] if sys.argv else ''
    if os.path.basename(argv0) == 'nova-mig':
        candidates.append(argv0 if os.sep in argv0
                          else shutil.which(argv0) or '')
    candidates.append(os.path.join(os.path.dirname(sys.executable),
                                   'nova-mig'))
    candidates.append(shutil.which('nova-mig') or '')
    for path in candidates:
        if path and _executable(path):
            return os.path.abspath(path)
    raise exception.InstallUnitsError(
        reason='no nova-mig executable found (next to %s nor on PATH); '
               'pass --executable PATH' % sys.executable)


def _quote(arg: str) -> str:
    """One argument of a systemd command line."""
    arg = arg.replace('%', '%%')
    if any(c.isspace() or c in '"\'\\;$' for c in arg):
        return '"%s"' % arg.replace('\\', '\\\\').replace('"', '\\"')
    return arg


def fill(template: str, values: dict[str, str], command: str) -> str:
    """A template with its placeholders filled in.

    Lines starting with ``##`` document the template itself and are left
    out.
    """
    lines = [line for line in template.splitlines(keepends=True)
             if not line.startswith('##')]
    text = ''.join(lines)
    for key, value in values.items():
        text = text.replace('@%s@' % key, value)
    return ('# Written by "nova-mig %s"; run it again after moving '
            'nova-mig.\n%s' % (command, text))


def render(template: str, executable: str, config_args: list[str],
           nova_compute_unit: str, textfile: str = '') -> str:
    """A unit template with its placeholders filled in."""
    return fill(template, {
        'NOVA_MIG': _quote(executable),
        'CONFIG_ARGS': ' '.join(_quote(a) for a in config_args),
        'NOVA_COMPUTE_UNIT': nova_compute_unit,
        'TEXTFILE': _quote(textfile)}, 'install-units')


def check_textfile(path: str) -> str:
    """--metrics-textfile, absolute; one line when it cannot be one."""
    if not os.path.isabs(path) or not path.endswith('.prom'):
        raise exception.InstallUnitsError(
            reason='--metrics-textfile %s is not an absolute path ending in '
                   '.prom (node_exporter\'s textfile collector reads only '
                   '*.prom files)' % path)
    if any(c.isspace() or c in '%\\"\'' for c in path):
        raise exception.InstallUnitsError(
            reason='--metrics-textfile %r has white space, a quote, a '
                   'backslash or a percent sign; use a plain path' % path)
    return os.path.normpath(path)


def _sudoers_arg(arg: str) -> str:
    """One literal argument of a sudoers command."""
    if any(c.isspace() for c in arg):
        raise exception.InstallUnitsError(
            reason='%r has white space, which a sudoers rule cannot match; '
                   'use paths without spaces' % arg)
    return re.sub(r'([\\,:=*?\[\]!])', r'\\\1', arg)


def render_sudoers(template: str, user: str,
                   commands: dict[str, list[str]]) -> str:
    """The sudoers rules letting ``user`` run each command as root.

    :param commands: per privsep context, its one exact argv
        (:func:`nova_mig.privsep.helper.rule_commands`).
    """
    if not re.fullmatch(r'[a-z_][a-z0-9_.-]*\$?', user):
        raise exception.InstallUnitsError(
            reason='--user %r is not a user name' % user)
    values = {'USER': user}
    for name, argv in commands.items():
        values['%s_ARGV' % name.upper()] = ' '.join(_sudoers_arg(a)
                                                    for a in argv)
    return fill(template, values, 'install-sudoers')


def config_args(options: argparse.Namespace) -> list[str]:
    """The command's --config-file/--config-dir options, absolute."""
    args = []
    for path in options.config_file:
        args += ['--config-file', os.path.abspath(path)]
    for path in options.config_dir:
        args += ['--config-dir', os.path.abspath(path)]
    return args or ['--config-file', DEFAULT_CONFIG]


class InstallUnits(common.Command):
    """Write nova-mig's systemd units, with this install's paths.

    Writes nova-mig-restore.service (layout restore and nova-config at
    boot) and nova-compute's drop-in (the pre-start and post-start hooks,
    Wants=/After= the restore unit) into --output-dir, default
    /etc/systemd/system. The units run the nova-mig executable of this
    install (/usr/bin, /usr/local/bin or a virtual environment's bin/)
    with the --config-file/--config-dir options given to this command, or
    /etc/nova-mig/nova-mig.conf. Files already up to date are left alone.
    Then run "systemctl daemon-reload" and "systemctl enable
    nova-mig-restore.service". With --metrics-textfile PATH it also writes
    nova-mig-metrics.service and nova-mig-metrics.timer, which run
    "nova-mig metrics --textfile PATH" every minute for node_exporter's
    textfile collector; enable them with "systemctl enable --now
    nova-mig-metrics.timer".
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--output-dir', default=SYSTEM_DIR, metavar='DIR',
            help='Write the units here (default: %s).' % SYSTEM_DIR)
        parser.add_argument(
            '--nova-compute-unit', default=NOVA_COMPUTE_UNIT,
            metavar='UNIT',
            help='nova-compute\'s unit, which the drop-in extends '
                 '(default: %s; openstack-nova-compute.service on RDO, '
                 'kolla-nova_compute-container.service for kolla-ansible).'
                 % NOVA_COMPUTE_UNIT)
        parser.add_argument(
            '--executable', metavar='PATH',
            help='The nova-mig the units run (default: this one).')
        parser.add_argument(
            '--template-dir', metavar='DIR',
            help='Read the unit templates from DIR (default: the first of '
                 '%s that has them).' % ', '.join(template_dirs()))
        parser.add_argument(
            '--metrics-textfile', metavar='PATH',
            help='Also write nova-mig-metrics.service and its timer, which '
                 'write this host\'s metrics to PATH every minute (an '
                 'absolute path ending in .prom, in the directory '
                 'node_exporter\'s textfile collector reads, e.g. '
                 '/var/lib/prometheus/node-exporter/nova-mig.prom on '
                 'Debian). Default: no metrics units.')
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Print the units instead of writing them.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        unit = parsed_args.nova_compute_unit
        textfile = ''
        wanted: tuple[tuple[str, str], ...] = TEMPLATES
        if parsed_args.metrics_textfile is not None:
            textfile = check_textfile(parsed_args.metrics_textfile)
            wanted = TEMPLATES + METRICS_TEMPLATES
        if '/' in unit or not unit.endswith('.service'):
            raise exception.InstallUnitsError(
                reason='--nova-compute-unit %s is not a unit name ending in '
                       '.service' % unit)
        templates = find_templates([t for t, _ in wanted],
                                   parsed_args.template_dir)
        executable = find_executable(parsed_args.executable)
        out = self.app.stdout
        for name, target in wanted:
            with open(os.path.join(templates, name), encoding='utf-8') as f:
                text = render(f.read(), executable,
                              config_args(self.app.options), unit, textfile)
            path = os.path.join(parsed_args.output_dir,
                                target.format(unit=unit))
            if parsed_args.dry_run:
                out.write('# %s\n%s\n' % (path, text))
                continue
            try:
                changed = fileutils.write_if_changed(path, text)
            except OSError as e:
                raise exception.InstallUnitsError(
                    reason='cannot write %s: %s' % (path, e.strerror))
            out.write('%s %s\n' % ('Wrote' if changed else 'Unchanged',
                                   path))
        if not parsed_args.dry_run:
            out.write('Units run %s. Next: systemctl daemon-reload && '
                      'systemctl enable %s\n' % (executable, RESTORE_UNIT))
            if textfile:
                out.write('Metrics to %s. Next: systemctl enable --now '
                          'nova-mig-metrics.timer\n' % textfile)
        return 0


class InstallSudoers(common.Command):
    """Write the sudoers rules that let a user start nova-mig's privsep.

    Run as an unprivileged service user, nova-mig starts its four
    privileged helpers (sysfs, nvml, files, proc) with "sudo -n", by absolute
    path, with the configuration files it was given and a fixed socket,
    <[host]state_dir>/privsep/<context>.sock (see
    [nova_mig_privsep]helper_command). This writes /etc/sudoers.d/nova-mig
    (or --output), mode 0440, allowing --user to run exactly those four
    commands as root and nothing else (no wildcard: no argument can be
    appended), built the same way nova-mig builds them: give this command
    the same --config-file/--config-dir options as the service. It refuses
    while the helper, nova-mig or a configuration file is writable by that
    user or by everyone. The file is checked with "visudo -c" when visudo
    is installed, and only then put in place.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--user', required=True,
            help='The user nova-mig runs as (e.g. nova).')
        parser.add_argument(
            '--output', default=SUDOERS_FILE, metavar='PATH',
            help='Write the rule here (default: %s).' % SUDOERS_FILE)
        parser.add_argument(
            '--template-dir', metavar='DIR',
            help='Read the template from DIR/sudoers.d (default: the first '
                 'of %s that has it).' % ', '.join(template_dirs()))
        parser.add_argument(
            '--dry-run', action='store_true',
            help='Print the rule instead of writing it.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        templates = find_templates([SUDOERS_TEMPLATE],
                                   parsed_args.template_dir)
        with open(os.path.join(templates, SUDOERS_TEMPLATE),
                  encoding='utf-8') as f:
            text = render_sudoers(f.read(), parsed_args.user,
                                  helper.rule_commands(self.conf))
        out = self.app.stdout
        if parsed_args.dry_run:
            out.write('# %s\n%s' % (parsed_args.output, text))
            return 0
        check_sudoers(text)
        check_root_only(_trusted_paths(self.conf), parsed_args.user)
        try:
            changed = fileutils.write_if_changed(parsed_args.output, text,
                                                 mode=0o440)
        except OSError as e:
            raise exception.InstallUnitsError(
                reason='cannot write %s: %s' % (parsed_args.output,
                                                e.strerror))
        out.write('%s %s\n' % ('Wrote' if changed else 'Unchanged',
                               parsed_args.output))
        return 0


def _trusted_paths(conf: cfg.ConfigOpts) -> list[str]:
    """What the root daemons run or read: the helper, nova-mig, the conf."""
    argv = helper.helper_argv(conf)
    paths = [argv[0], os.path.dirname(argv[0]),
             os.path.dirname(os.path.abspath(nova_mig.__file__))]
    for option, value in zip(argv[1::2], argv[2::2]):
        paths.append(value)
        if option == '--config-file':
            paths.append(os.path.dirname(value))
    return paths


def _writer_of(path: str, user: str) -> str | None:
    """Who other than root may change ``path``, as words; None for nobody."""
    st = os.stat(path)
    if st.st_mode & 0o002:
        return 'everyone'
    try:
        account = pwd.getpwnam(user)
    except KeyError:
        return None
    if account.pw_uid != 0 and st.st_uid == account.pw_uid:
        return 'user %s, its owner' % user
    if st.st_mode & 0o020 and st.st_gid != 0:
        try:
            group = grp.getgrgid(st.st_gid)
        except KeyError:
            return None
        if st.st_gid == account.pw_gid or user in group.gr_mem:
            return 'group %s, which %s is in' % (group.gr_name, user)
    return None


def check_root_only(paths: list[str], user: str) -> None:
    """Refuse a rule whose daemon would run or read what ``user`` changes.

    The root daemons run the privsep-helper and nova-mig's code and read
    the configuration files (oslo.privsep's capabilities, logging): one
    the service user may change would give it root.
    """
    for path in paths:
        writer = _writer_of(path, user)
        if writer is not None:
            raise exception.InstallUnitsError(
                reason='%s is writable by %s, and the root privsep daemons '
                       'run or read it; make it root\'s (chown root %s; '
                       'chmod go-w %s)' % (path, writer, path, path))


def check_sudoers(text: str) -> None:
    """Refuse a rule ``visudo -c`` refuses (skipped without visudo)."""
    visudo = shutil.which('visudo')
    if visudo is None:
        return
    result = subprocess.run([visudo, '-c', '-q', '-f', '-'], input=text,
                            capture_output=True, text=True, check=False)
    if result.returncode:
        raise exception.InstallUnitsError(
            reason='visudo refuses the rule: %s'
                   % (result.stderr or result.stdout).strip())
