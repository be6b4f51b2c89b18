# SPDX-License-Identifier: Apache-2.0

"""The command that starts nova-mig's privsep daemon.

oslo.privsep's default, ``sudo privsep-helper`` with the global
``cfg.CONF``'s files, fails nova-mig three ways: nova-mig never parses the
global ``cfg.CONF`` (so the daemon got none of nova-mig's files), root
hosts without sudo cannot start it, and sudo's ``secure_path`` does not
find the ``privsep-helper`` of a virtual environment. Here the command is
built from nova-mig's own configuration: the ``privsep-helper`` next to
this Python by absolute path, nova-mig's ``--config-file`` and
``--config-dir`` options, and ``sudo -n`` only when not root. The sudoers
rule of ``nova-mig install-sudoers`` is built from the same argv, so the
two always match.

Each privsep context (:data:`CONTEXTS`) is its own daemon. Started
through sudo or ``helper_command``, its socket has a fixed path,
``<[host]state_dir>/privsep/<context>.sock``: the whole argv is fixed, so
the sudoers rule names it without a wildcard and no argument can be
appended.

Importing this module does not import oslo.privsep.
"""

import os
import shlex
import shutil
import sys

from oslo_config import cfg

from nova_mig import exception

HELPER = 'privsep-helper'
#: The privsep contexts, each a daemon with its own capabilities (see
#: :mod:`nova_mig.privsep.context`): sysfs writes, NVML changes and GPU
#: resets, configuration files, reading other processes' open /dev/vfio
#: nodes.
CONTEXTS = ('sysfs', 'nvml', 'files', 'proc')
#: Where a context's socket lies, below ``[host]state_dir``.
SOCKET_DIR = 'privsep'
#: AF_UNIX paths are at most this long (``sun_path`` less its NUL).
MAX_SOCKET_PATH = 107


def pypath(name: str) -> str:
    """Python path of a context, as the daemon finds it again."""
    if name not in CONTEXTS:
        raise ValueError('no privsep context %r' % name)
    return 'nova_mig.privsep.%s_pctxt' % name


#: How an unprivileged nova-mig gains root: never prompting for a password.
SUDO = ('sudo', '-n')

_CONF: cfg.ConfigOpts | None = None


def use_conf(conf: cfg.ConfigOpts) -> None:
    """Build the daemon's command from ``conf`` (the command's options)."""
    global _CONF
    _CONF = conf


def find_helper() -> str:
    """Absolute path of ``privsep-helper``: next to this Python, or PATH.

    :raises: :class:`~nova_mig.exception.PrivsepStartFailed` when absent.
    """
    path = os.path.join(os.path.dirname(sys.executable), HELPER)
    if os.path.isfile(path) and os.access(path, os.X_OK):
        return os.path.abspath(path)
    found = shutil.which(HELPER)
    if found:
        return os.path.abspath(found)
    raise exception.PrivsepStartFailed(
        command=HELPER, reason='%s is neither next to %s nor on PATH'
        % (HELPER, sys.executable),
        fix='Install oslo.privsep in the same environment as nova-mig.')


def helper_argv(conf: cfg.ConfigOpts) -> list[str]:
    """``privsep-helper`` and nova-mig's configuration options.

    Without sudo and without the context and socket arguments: the part
    a sudoers rule names literally.
    """
    argv = [find_helper()]
    for path in conf.config_file or ():
        argv += ['--config-file', os.path.abspath(path)]
    for path in conf.config_dir or ():
        argv += ['--config-dir', os.path.abspath(path)]
    return argv


def _conf(conf: cfg.ConfigOpts | None) -> cfg.ConfigOpts:
    conf = conf or _CONF
    if conf is None:
        raise exception.PrivsepStartFailed(
            command=HELPER, reason='nova-mig\'s configuration was not given '
            'to the privileged helper', fix='This is a bug in nova-mig.')
    return conf


def configured(conf: cfg.ConfigOpts | None = None) -> bool:
    """Whether ``[nova_mig_privsep]helper_command`` is set."""
    return bool(_conf(conf).nova_mig_privsep.helper_command)


def command(conf: cfg.ConfigOpts | None = None,
            euid: int | None = None) -> list[str]:
    """The command starting the daemon, without context and socket.

    ``[nova_mig_privsep]helper_command`` when set; else
    :func:`helper_argv`, through ``sudo -n`` unless running as root.
    """
    conf = _conf(conf)
    if conf.nova_mig_privsep.helper_command:
        return shlex.split(conf.nova_mig_privsep.helper_command)
    euid = os.geteuid() if euid is None else euid
    prefix = [] if euid == 0 else list(SUDO)
    return prefix + helper_argv(conf)


def socket_path(name: str, conf: cfg.ConfigOpts | None = None) -> str:
    """The fixed socket path of a context, below ``[host]state_dir``.

    :raises: :class:`~nova_mig.exception.PrivsepStartFailed` when it is
        longer than a Unix socket path can be.
    """
    conf = _conf(conf)
    path = os.path.join(os.path.abspath(conf.host.state_dir), SOCKET_DIR,
                        '%s.sock' % name)
    if len(path.encode()) > MAX_SOCKET_PATH:
        raise exception.PrivsepStartFailed(
            command=HELPER, reason='the socket path %s is longer than %d '
            'bytes' % (path, MAX_SOCKET_PATH),
            fix='Choose a shorter [host]state_dir.')
    return path


def full_command(base: list[str], name: str, sockpath: str) -> list[str]:
    """``base`` with the arguments oslo.privsep appends, for a context."""
    return base + ['--privsep_context', pypath(name), '--privsep_sock_path',
                   sockpath]


def rule_commands(conf: cfg.ConfigOpts) -> dict[str, list[str]]:
    """Per context, the one argv a sudoers rule allows (without sudo)."""
    argv = helper_argv(conf)
    return {name: full_command(argv, name, socket_path(name, conf))
            for name in CONTEXTS}


def describe(base: list[str]) -> str:
    """The command as a shell would show it."""
    return shlex.join(base)
