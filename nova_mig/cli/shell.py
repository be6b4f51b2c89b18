# SPDX-License-Identifier: Apache-2.0

"""The ``nova-mig`` console script: its help, before the application loads.

``nova-mig``, ``nova-mig -h``, ``nova-mig --help`` and ``nova-mig help``
print :func:`nova_mig.cli.usage.help_text` without importing oslo.config,
oslo.log, cliff or any command. Every other command line goes to
:func:`nova_mig.cli.app.main`.

A bare ``nova-mig`` (no interactive shell) prints the same help to stderr
and exits 2, as a command line missing its command does.
"""

import sys

from nova_mig.cli import usage
from nova_mig import exitcodes

HELP_ARGS: tuple[list[str], ...] = ([], ['-h'], ['--help'], ['help'])


def print_help(argv: list[str]) -> int:
    """The help for ``argv`` (one of :data:`HELP_ARGS`); the exit code."""
    stream = sys.stdout if argv else sys.stderr
    stream.write(usage.help_text())
    return exitcodes.ExitCode.OK if argv else exitcodes.ExitCode.USAGE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in HELP_ARGS:
        return print_help(argv)
    from nova_mig.cli import app
    return app.main(argv)


def console() -> None:
    """The ``nova-mig`` console script."""
    sys.exit(main())


if __name__ == '__main__':
    console()
