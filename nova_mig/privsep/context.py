"""nova-mig's privsep context, started the way deployments start it.

oslo.privsep's own context reads its options from the global
``cfg.CONF``, which nova-mig never parses, and starts ``sudo
privsep-helper``. This one asks :mod:`nova_mig.privsep.helper` for the
command (built from nova-mig's own configuration) and turns a daemon that
cannot start into one clear error naming the command and the fix. In the
daemon itself (``privsep-helper``, which parses the global ``cfg.CONF``
from the files it is given) it behaves as oslo.privsep's.
"""

import logging
import os
import pwd
import time

from oslo_privsep import capabilities
from oslo_privsep import daemon
from oslo_privsep import priv_context

from nova_mig import exception
from nova_mig.privsep import helper


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


class NovaMigPrivContext(priv_context.PrivContext):
    """A privsep context whose daemon command comes from nova-mig's conf."""

    def helper_command(self, sockpath: str) -> list[str]:
        return helper.full_command(helper.command(), sockpath)

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
            super().start(method)
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


def build() -> NovaMigPrivContext:
    """The context of every privileged nova-mig entrypoint.

    MIG changes through NVML, sysfs writes and configuration files below
    ``/etc/nova``; configured by the ``[nova_mig_privsep]`` section.
    """
    return NovaMigPrivContext(
        'nova_mig',
        cfg_section='nova_mig_privsep',
        pypath=helper.CONTEXT,
        capabilities=[capabilities.CAP_SYS_ADMIN,
                      capabilities.CAP_DAC_OVERRIDE,
                      capabilities.CAP_DAC_READ_SEARCH],
    )
