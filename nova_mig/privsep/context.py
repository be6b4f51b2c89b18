"""nova-mig's privsep contexts, started the way deployments start them.

oslo.privsep's own context reads its options from the global
``cfg.CONF``, which nova-mig never parses, starts ``sudo privsep-helper``
and listens on a socket in a fresh temporary directory, so a sudoers rule
must end in a wildcard. These contexts ask :mod:`nova_mig.privsep.helper`
for the command (built from nova-mig's own configuration) and, when not
root, listen on the context's fixed socket path, so the whole command is
fixed; a daemon that cannot start is one clear error naming the command
and the fix. In the daemon itself (``privsep-helper``, which parses the
global ``cfg.CONF`` from the files it is given) they behave as
oslo.privsep's.
"""

import contextlib
import fcntl
import logging
import os
import pwd
import socket
import stat
import subprocess
import time

from oslo_privsep import capabilities as caps
from oslo_privsep import daemon
from oslo_privsep import priv_context

from nova_mig import exception
from nova_mig.privsep import helper

#: Each context's capabilities: the fewest its entry points need. The
#: daemon runs as uid 0, so it may write files root owns without any.
#: ``[nova_mig_privsep_<context>]capabilities`` (oslo.privsep's option, read
#: by the daemon from the root-owned configuration) can change them.
CAPABILITIES: dict[str, list[int]] = {
    # sysfs attributes are root's, with owner write: nothing to override.
    'sysfs': [],
    # NVML's MIG changes and nvidia-smi --gpu-reset need CAP_SYS_ADMIN.
    'nvml': [caps.CAP_SYS_ADMIN],
    # /etc/nova and its files may belong to the nova user (kolla): write
    # them (DAC_OVERRIDE) and fix their mode (FOWNER).
    'files': [caps.CAP_DAC_OVERRIDE, caps.CAP_FOWNER],
    # /proc/<pid>/fd of any process: list the folder (mode 0500, its
    # owner's: DAC_READ_SEARCH) and read its links (ptrace access, also to
    # processes with more capabilities or not dumpable: SYS_PTRACE).
    'proc': [caps.CAP_SYS_PTRACE, caps.CAP_DAC_READ_SEARCH],
}


#: Seconds the daemon has to connect once its helper command exited 0
#: (privsep-helper connects before it exits, so this is only reached when
#: the command is not privsep-helper).
ACCEPT_TIMEOUT = 30.0


def _user() -> str:
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _fix(base: list[str]) -> str:
    if helper.configured():
        return 'Check [nova_mig_privsep]helper_command.'
    if base[:len(helper.SUDO)] == list(helper.SUDO):
        user = _user()
        return ('Running as user %s, nova-mig starts it through sudo: '
                'allow that with "nova-mig install-sudoers --user %s" '
                '(as root, with the same --config-file options), or run '
                'nova-mig as root.' % (user, user))
    return ('Running as root, nova-mig starts it directly; its log lines '
            'above say why it stopped.')


class _HelperSaid(logging.Filter):
    """Keep what oslo.privsep logs of a helper that did not start.

    oslo.privsep logs each line the helper command wrote to stderr
    (sudo's refusal) as ``privsep log: <line>`` and then, at CRITICAL,
    that the command exited non-zero. Both become part of nova-mig's one
    error line instead of two log lines before it.
    """

    PREFIX = 'privsep log: '

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text.startswith(self.PREFIX):
            if text[len(self.PREFIX):].strip():
                self.lines.append(text[len(self.PREFIX):].strip())
            return False
        return not (record.levelno >= logging.CRITICAL and
                    'exited non-zero' in text)


def _socket_dir(path: str, command: str) -> None:
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
                  '(mode 0700)' % (directory, _user()))
    raise exception.PrivsepStartFailed(
        command=command, reason=reason,
        fix='[host]state_dir must be the service user\'s; remove %s, '
            'nova-mig creates it again.' % directory)


class FixedSocketChannel(daemon._ClientChannel):
    """oslo.privsep's RootwrapClientChannel on a fixed socket path.

    The socket is bound under an exclusive lock (``<path>.lock``), so two
    nova-mig processes starting the same context one after the other each
    get their own daemon; it is removed once the daemon connected.
    """

    def __init__(self, context: 'NovaMigPrivContext', path: str) -> None:
        _socket_dir(path, helper.describe(helper.command()))
        lock = os.open(path + '.lock', os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                       0o600)
        listen_sock = socket.socket(socket.AF_UNIX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            listen_sock.bind(path)
            listen_sock.listen(1)
            proc = subprocess.Popen(  # noqa: S603 - argv, no shell
                context.helper_command(path), shell=False,
                stderr=daemon._fd_logger())
            if proc.wait() != 0:
                raise daemon.FailedToDropPrivileges(
                    'privsep helper command exited non-zero (%d)'
                    % proc.returncode)
            listen_sock.settimeout(ACCEPT_TIMEOUT)
            try:
                sock, _addr = listen_sock.accept()
            except TimeoutError:
                raise daemon.FailedToDropPrivileges(
                    'the helper command exited without a daemon connecting '
                    'to %s' % path)
        finally:
            listen_sock.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            os.close(lock)  # releases the lock
        super().__init__(sock, context)


class NovaMigPrivContext(priv_context.PrivContext):
    """A privsep context whose daemon command comes from nova-mig's conf.

    :param name: one of :data:`nova_mig.privsep.helper.CONTEXTS`.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            'nova_mig.privsep',
            cfg_section='nova_mig_privsep_' + name,
            pypath=helper.pypath(name),
            capabilities=CAPABILITIES[name])

    def helper_command(self, sockpath: str) -> list[str]:
        return helper.full_command(helper.command(), self.name, sockpath)

    def start(self, method: priv_context.Method =
              priv_context.Method.ROOTWRAP) -> None:
        """Start the daemon.

        :raises: :class:`~nova_mig.exception.PrivsepStartFailed` when the
            command fails or cannot run (no sudo, no rule, no helper).
        """
        if method != priv_context.Method.ROOTWRAP:
            # FORK (tests): no command to run.
            super().start(method)
            return
        base = helper.command()
        said = _HelperSaid()
        # The logger under oslo.log's adapter: "oslo.privsep.daemon".
        daemon_log = logging.getLogger(daemon.LOG.logger.name)
        daemon_log.addFilter(said)
        try:
            if os.geteuid() == 0 and not helper.configured():
                # Started directly: oslo.privsep's private temporary socket.
                super().start(method)
                return
            with self.start_lock:
                if self.channel is None:
                    self.channel = FixedSocketChannel(
                        self, helper.socket_path(self.name))
        except daemon.FailedToDropPrivileges as e:
            # oslo.privsep's thread reading the helper's stderr may still
            # be at its last line.
            deadline = time.monotonic() + 0.2
            while not said.lines and time.monotonic() < deadline:
                time.sleep(0.01)
            raise exception.PrivsepStartFailed(
                command=helper.describe(base),
                reason='; '.join(said.lines[-2:] + [str(e)]),
                fix=_fix(base))
        except OSError as e:
            raise exception.PrivsepStartFailed(
                command=helper.describe(base),
                reason='%s: %s' % (e.filename or base[0],
                                   e.strerror or e),
                fix=_fix(base))
        finally:
            daemon_log.removeFilter(said)


def build(name: str) -> NovaMigPrivContext:
    """The context ``name`` (see :mod:`nova_mig.privsep`)."""
    return NovaMigPrivContext(name)
