"""The ``nova-mig`` console script: its help, before the application loads.

``nova-mig``, ``nova-mig -h``, ``nova-mig --help`` and ``nova-mig help``
print :func:`nova_mig.cli.usage.help_text` without importing oslo.config,
oslo.log, cliff or any command. Every other command line goes to
:func:`nova_mig.cli.app.main`.

A bare ``nova-mig`` (no interactive shell) prints the same help to stderr
and exits 2, as a command line missing its command does.
"""

import atexit
import gc
import os
import sys
import threading

from nova_mig.cli import usage

HELP_ARGS: tuple[list[str], ...] = ([], ['-h'], ['--help'], ['help'])


def print_help(argv: list[str]) -> int:
    """The help for ``argv`` (one of :data:`HELP_ARGS`); the exit code."""
    stream = sys.stdout if argv else sys.stderr
    stream.write(usage.help_text())
    return 0 if argv else 2


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv in HELP_ARGS:
        return print_help(argv)
    from nova_mig.cli import app
    return app.main(argv)


def quick_exit(code: int) -> None:
    """End the process with ``code`` once the command is done.

    Python's own teardown frees the four hundred modules that oslo.config,
    oslo.log, cliff and libvirt bring in: some 60 ms, most of a
    ``discover`` scan. When nothing waits for the exit (no thread but
    this one, no exit handler but logging's), the logs and the standard
    streams are flushed and the process ends without it; otherwise, or if
    flushing fails (a closed pipe), it exits the ordinary way.
    """
    handlers = getattr(atexit, '_ncallbacks', None)
    logging = sys.modules.get('logging')
    allowed = 1 if logging is not None else 0
    if (handlers is not None and handlers() <= allowed and
            threading.active_count() == 1):
        try:
            if logging is not None:
                logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # the ordinary exit reports it
            sys.exit(code)
        os._exit(code)
    sys.exit(code)


def console() -> None:
    """The ``nova-mig`` console script."""
    # Importing the libraries and scanning a host make some hundred
    # thousand objects: with the default threshold (700) the cyclic
    # collector runs hundreds of times for little garbage. It still runs,
    # less often.
    gc.set_threshold(20000, 20, 20)
    quick_exit(main())


if __name__ == '__main__':
    console()
