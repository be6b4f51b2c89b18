#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Start the integration tier's Keystone, Placement and Nova API by hand.

Run from the top of the repository with the virtual environment's Python::

    .venv/bin/python tools/openstack_services.py [--dir DIR]

It prints the endpoints, an openrc for the ``openstack`` client and the
``[placement]`` section to put in a nova-mig.conf, then serves until
interrupted (Ctrl-C), and stops the services. Configuration, SQLite
databases and logs are under DIR (a temporary directory, removed at the
end, when not given). Each service may take NOVA_MIG_SERVICE_START_TIMEOUT
seconds (default 600) to set up and answer; on failure its log is printed
once.
"""

import argparse
import os
import signal
import sys
import threading

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, TOP)

from tests.integration import services  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0])
    parser.add_argument('--dir', help='keep everything under this '
                        'directory (created; must be empty)')
    args = parser.parse_args(argv)
    missing = services.missing_packages()
    if missing:
        sys.stderr.write('install first: %s\n' % ', '.join(missing))
        return 1
    if args.dir:
        os.makedirs(args.dir, exist_ok=True)
        if os.listdir(args.dir):
            sys.stderr.write('%s is not empty\n' % args.dir)
            return 1
    stack = services.OpenStackServices(args.dir)
    try:
        stack.start()
    except services.ServiceError as e:
        sys.stderr.write('%s\n' % e)
        return 1
    try:
        rc = os.path.join(stack.directory, 'openrc')
        with open(rc, 'w') as f:
            f.write(''.join('export %s=%s\n' % kv
                            for kv in sorted(stack.env().items())))
        print('Keystone   %s' % stack.keystone.url)
        print('Placement  %s' % stack.placement.url)
        print('Nova API   %s' % stack.nova.url)
        print('Started in %s' % ', '.join(
            '%s %.1fs' % kv for kv in stack.timings.items()))
        print('Logs       %s' % stack.log_dir)
        print('openrc     %s  (source it, then: openstack flavor list)'
              % rc)
        print('\nnova-mig.conf:\n\n%s' % stack.placement_section())
        print('Ctrl-C stops the services.')
        sys.stdout.flush()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *a: stop.set())
        while not stop.wait(1):
            pass
    finally:
        stack.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
