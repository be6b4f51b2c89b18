# SPDX-License-Identifier: Apache-2.0

"""nova-mig's privsep contexts, started the way deployments start them.

oslo.privsep's own context reads its options from the global
``cfg.CONF``, which nova-mig never parses, starts ``sudo privsep-helper``
and listens on a socket in a fresh temporary directory, so a sudoers rule
must end in a wildcard. These contexts ask :mod:`nova_mig.privsep.helper`
for the command (built from nova-mig's own configuration) and, when not
root, listen on the context's fixed socket path, so the whole command is
fixed (:mod:`nova_mig.privsep.channel`, the one adapter on oslo.privsep's
private channel class); a daemon that cannot start is one clear error
naming the command and the fix. In the daemon itself (``privsep-helper``,
which parses the global ``cfg.CONF`` from the files it is given) they
behave as oslo.privsep's.
"""

import logging
import os
import time

from oslo_privsep import capabilities as caps
from oslo_privsep import daemon
from oslo_privsep import priv_context

from nova_mig import exception
from nova_mig.privsep import channel
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


def _user() -> str:
    return channel.user()


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

    PREFIX = channel.STDERR_PREFIX

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
                    self.channel = channel.FixedSocketChannel(
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
