# SPDX-License-Identifier: Apache-2.0

"""The exit status of every ``nova-mig`` and ``openstack mig`` command.

One convention, written here once and listed in the CLI reference
(``doc/source/reference/cli.rst``, "Exit status"):

====  ========  ==========================================================
Code  Name      Meaning
====  ========  ==========================================================
0     OK        Done; or a check found nothing wrong; or nothing to do.
1     FAILED    An error (one line on stderr: bad input, a service that
                cannot be reached), or a step, GPU or check failed; for a
                command that changes something, also a GPU or flavor it
                refused (left as it was).
2     USAGE     The command line was not understood (argparse prints the
                usage), or ``nova-mig`` without a command. ``retype``
                also exits 2 (WAITING) when it stopped before the restart
                of nova-compute that the operator must run; run it again
                once done.
3     REFUSED   A plan or dry run (``layout plan``, ``layout apply
                --dry-run``, ``rebalance apply`` without ``--yes``) found
                a GPU it would refuse (something in use); nothing changed.
====  ========  ==========================================================

When several apply, the first of FAILED, WAITING, REFUSED is the status
(:func:`status`). A command sets :attr:`ExitStatus.exit_status` from its
result; :class:`ExitStatus` returns it unless cliff's own run returned
an error status.
"""

import argparse
import enum
import typing

if typing.TYPE_CHECKING:
    from cliff import command

    _Command = command.Command
else:
    # A mixin: the command class it is mixed into brings cliff's Command
    # (so cliff is not imported by the modules that only need the codes).
    _Command = object


class ExitCode(enum.IntEnum):
    """The exit statuses; see the module docstring."""

    OK = 0
    FAILED = 1
    USAGE = 2
    #: ``retype`` stopped for the operator's restart: the number of
    #: USAGE, kept since ``retype`` documented it (an alias of USAGE).
    WAITING = 2
    REFUSED = 3


def status(failed: bool = False, waiting: bool = False,
           refused: bool = False) -> ExitCode:
    """The exit status of a result: FAILED, WAITING, REFUSED, else OK."""
    if failed:
        return ExitCode.FAILED
    if waiting:
        return ExitCode.WAITING
    if refused:
        return ExitCode.REFUSED
    return ExitCode.OK


class ExitStatus(_Command):
    """Mixed into every command: its exit status, set in ``take_action``.

    ``take_action`` sets :attr:`exit_status` (it starts as OK on each
    run); a status cliff's ``run`` returns (an output error) wins.
    """

    exit_status: ExitCode = ExitCode.OK

    def run(self, parsed_args: argparse.Namespace) -> int:
        self.exit_status = ExitCode.OK
        code = super().run(parsed_args)
        return int(code or self.exit_status)
