# SPDX-License-Identifier: Apache-2.0

"""Serve one OpenStack WSGI service on an inherited listening socket."""

import os
import signal
import socket
import socketserver
import sys
import threading
import time
from wsgiref import simple_server

USAGE = 'usage: python -m tests.integration.serve keystone|placement|nova FD'


def keystone_app():
    """Keystone's public application; OS_KEYSTONE_CONFIG_FILES set."""
    from keystone.server import wsgi
    return wsgi.initialize_public_application()


def placement_app():
    """Placement's application; OS_PLACEMENT_CONFIG_DIR set."""
    from placement import wsgi
    return wsgi.init_application()


def nova_app():
    """Nova's compute API; OS_NOVA_CONFIG_DIR set."""
    # The API runs in native threads here, like under a threaded server.
    os.environ.setdefault('OS_NOVA_DISABLE_EVENTLET_PATCHING', '1')
    from nova.api.openstack import wsgi_app
    return wsgi_app.init_application('osapi_compute', 'nova-api-os-compute')


APPS = {'keystone': keystone_app, 'placement': placement_app,
        'nova': nova_app}


class Handler(simple_server.WSGIRequestHandler):
    """wsgiref's handler, logging to stderr with the client address."""

    def log_message(self, format, *args):  # noqa: A002 - wsgiref's name
        sys.stderr.write('%s - %s\n' % (self.address_string(),
                                        format % args))


class ThreadingServer(socketserver.ThreadingMixIn,
                      simple_server.WSGIServer):
    daemon_threads = True


def exit_with_parent(parent: int) -> None:
    """End this process when the test process that started it is gone.

    A test runner killed before its clean-up ran must not leave services
    behind.
    """
    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name='parent-watch', daemon=True).start()


def serve(name: str, fd: int) -> None:
    """Build the application ``name`` and serve it on socket ``fd``."""
    exit_with_parent(os.getppid())
    # Services parse sys.argv as their command line: give them none.
    sys.argv = [name]
    app = APPS[name]()
    server = ThreadingServer(('127.0.0.1', 0), Handler,
                             bind_and_activate=False)
    server.socket.close()
    server.socket = socket.socket(fileno=fd)
    host, port = server.socket.getsockname()[:2]
    server.server_address = (host, port)
    server.server_name, server.server_port = host, port
    server.setup_environ()
    server.set_app(app)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write('serving %s on http://%s:%d\n' % (name, host, port))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in APPS:
        sys.stderr.write(USAGE + '\n')
        return 2
    serve(argv[0], int(argv[1]))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
