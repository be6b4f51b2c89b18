# SPDX-License-Identifier: Apache-2.0

"""oslo.privsep's client channel on a fixed socket path: the one adapter.

oslo.privsep's ``RootwrapClientChannel`` listens on a socket in a fresh
temporary directory, so the command that starts the daemon ends in a
random path and a sudoers rule for it must end in a wildcard. nova-mig's
rule is one exact argv (``nova-mig install-sudoers``), so the socket has a
fixed path per context (:func:`nova_mig.privsep.helper.socket_path`).

oslo.privsep has no public way to choose that path: ``RootwrapClientChannel``
binds, spawns and accepts in its constructor. :class:`FixedSocketChannel`
therefore does those three steps itself and hands the connected socket to
the base class both of oslo.privsep's channels share,
``oslo_privsep.daemon._ClientChannel`` (the PING exchange and the call
protocol). That base class is the only private name of oslo.privsep that
nova-mig uses, and this module is the only place that uses it;
``tests/unit/privsep/test_channel.py`` proves the adapter against the
installed oslo.privsep (a real daemon through the fixed socket as root).
"""

import contextlib
import fcntl
import logging
import os
import pwd
import socket
import stat
import subprocess
import threading
import typing

from oslo_privsep import daemon
from oslo_privsep import priv_context

from nova_mig import exception
from nova_mig.privsep import helper

#: Seconds the daemon has to connect once its helper command exited 0
#: (privsep-helper connects before it exits, so this is only reached when
#: the command is not privsep-helper).
ACCEPT_TIMEOUT = 30.0

#: What each line the helper command writes to stderr is logged with, on
#: oslo.privsep's daemon logger, as oslo.privsep logs it.
STDERR_PREFIX = 'privsep log: '


class StartsHelper(typing.Protocol):
    """The context a channel starts: its helper command for a socket."""

    def helper_command(self, sockpath: str) -> list[str]: ...


def user() -> str:
    """This process's user name (its uid when it has none)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def socket_dir(path: str, command: str) -> None:
    """Create the socket's folder, or prove it is this user's alone.

    :raises: :class:`~nova_mig.exception.PrivsepStartFailed` naming it.
    """
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        st = os.lstat(directory)
    except OSError as e:
        reason = 'cannot create its socket folder %s: %s' % (
            directory, e.strerror or e)
    else:
        if (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and
                not st.st_mode & 0o077):
            return
        reason = ('its socket folder %s is not a folder of user %s alone '
                  '(mode 0700)' % (directory, user()))
    raise exception.PrivsepStartFailed(
        command=command, reason=reason,
        fix='[host]state_dir must be the service user\'s; remove %s, '
            'nova-mig creates it again.' % directory)


def stderr_logger() -> typing.TextIO:
    """A pipe whose lines a thread logs as oslo.privsep logs them.

    The helper command's stderr (sudo's refusal) goes there; each line is
    logged at WARNING as ``privsep log: <line>`` on oslo.privsep's daemon
    logger. The caller closes the returned end once the command exited.
    """
    read_fd, write_fd = os.pipe()
    log = logging.getLogger(daemon.LOG.logger.name)

    def forward() -> None:
        with open(read_fd, encoding='utf-8', errors='replace') as lines:
            for line in lines:
                log.warning('%s%s', STDERR_PREFIX, line.rstrip())

    threading.Thread(name='privsep-helper-stderr', target=forward,
                     daemon=True).start()
    return open(write_fd, 'w', encoding='utf-8')


def _spawn(listen_sock: socket.socket, context: StartsHelper,
           path: str) -> socket.socket:
    """Run the helper command for ``path``; the daemon's connection."""
    with stderr_logger() as stderr:
        proc = subprocess.Popen(  # noqa: S603 - argv, no shell
            context.helper_command(path), shell=False, stderr=stderr)
        code = proc.wait()
    if code != 0:
        raise daemon.FailedToDropPrivileges(
            'privsep helper command exited non-zero (%d)' % code)
    listen_sock.settimeout(ACCEPT_TIMEOUT)
    try:
        sock, _addr = listen_sock.accept()
    except TimeoutError:
        raise daemon.FailedToDropPrivileges(
            'the helper command exited without a daemon connecting to %s'
            % path)
    sock.settimeout(None)
    return sock


class FixedSocketChannel(daemon._ClientChannel):
    """oslo.privsep's RootwrapClientChannel on a fixed socket path.

    The socket is bound under an exclusive lock (``<path>.lock``), so two
    nova-mig processes starting the same context one after the other each
    get their own daemon; it is removed once the daemon connected.
    """

    def __init__(self, context: priv_context.PrivContext, path: str) -> None:
        socket_dir(path, helper.describe(helper.command()))
        lock = os.open(path + '.lock', os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                       0o600)
        listen_sock = socket.socket(socket.AF_UNIX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            listen_sock.bind(path)
            listen_sock.listen(1)
            sock = _spawn(listen_sock, context, path)
        finally:
            listen_sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(lock)  # releases the lock
        super().__init__(sock, context)
