# SPDX-License-Identifier: Apache-2.0

"""An embedded Placement: openstack-placement on 127.0.0.1, SQLite on disk.

``nova-mig sync`` and ``verify`` use it when no cloud is configured, so the
whole flow runs on one machine. :class:`EmbeddedPlacement` serves the real
Placement WSGI application (``[api]auth_strategy = noauth2``) from a
``wsgiref`` server thread, with its database in
``<[host]state_dir>/placement/placement.db``; :func:`seed` then creates the
compute node and GPU providers the way nova-compute's libvirt driver would.
Nothing outside the state directory is written.

Run ``python -m nova_mig.simulator.embedded_placement --state-dir DIR`` to
serve one as a process (the benchmark and integration tests do).
"""

import argparse
import contextlib
import logging
import os
import socketserver
import sys
import threading
import typing
import uuid
from wsgiref import simple_server
import wsgiref.types

from oslo_config import cfg
from oslo_db.sqlalchemy import engines

from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer

LOG = logging.getLogger(__name__)

#: Inventory fields by resource class (total, reserved, allocation_ratio...).
Inventories = dict[str, dict[str, float]]

#: What the root provider gets, like a small libvirt compute node.
ROOT_INVENTORY: Inventories = {
    'VCPU': {'total': 64, 'allocation_ratio': 4.0},
    'MEMORY_MB': {'total': 515072, 'reserved': 512},
    'DISK_GB': {'total': 1800},
}
ROOT_TRAITS = ('COMPUTE_NET_ATTACH_INTERFACE', 'COMPUTE_VOLUME_EXTEND',
               'COMPUTE_IMAGE_TYPE_QCOW2', 'COMPUTE_STATUS_DISABLED')
_LOCK = threading.Lock()


#: Seconds a client's connection may stay silent before it is dropped.
CONNECTION_TIMEOUT = 60.0
#: Seconds stop() waits for the request being served.
STOP_TIMEOUT = 30.0
#: Seconds between two checks for a stop request while idle.
POLL_INTERVAL = 0.02


class _QuietHandler(simple_server.WSGIRequestHandler):
    # Seconds a connection may stay silent: a client that connects and
    # sends nothing (one killed half-way) must not hold the one serving
    # thread, and with it every later request and stop(), for good.
    timeout = CONNECTION_TIMEOUT

    def log_message(self, format: str,  # noqa: A002 - wsgiref's name
                    *args: object) -> None:
        LOG.debug('embedded placement: ' + format, *args)


class _Server(simple_server.WSGIServer):
    # socketserver's listen backlog is 5: the parallel reads of a sync on
    # a loaded machine overflow it, and a connection is reset.
    request_queue_size = 128


class _ThreadingServer(socketserver.ThreadingMixIn, _Server):
    daemon_threads = True


class EmbeddedPlacement:
    """openstack-placement in this process, on a free loopback port.

    :param state_dir: ``[host]state_dir``; the database goes to its
        ``placement/placement.db``.
    :param port: 0 for any free port.
    :param threaded: serve requests in parallel threads; off by default,
        SQLite serialises writers anyway.
    """

    def __init__(self, state_dir: str, port: int = 0,
                 threaded: bool = False):
        self.directory = os.path.join(state_dir, 'placement')
        self.db_path = os.path.join(self.directory, 'placement.db')
        self.port = port
        self.threaded = threaded
        self.url: str | None = None
        self._server: simple_server.WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._reset_engine: typing.Callable[[], None] | None = None

    def _app(self) -> wsgiref.types.WSGIApplication:
        # Imported here: openstack-placement is only needed when embedded.
        from oslo_policy import opts as policy_opts
        from placement import conf as placement_conf
        from placement import db_api
        from placement import deploy
        from placement.objects import resource_class
        from placement.objects import trait
        from placement import policy

        config = cfg.ConfigOpts()
        placement_conf.register_opts(config)
        connection = 'sqlite:///%s' % self.db_path
        config.set_default('connection', connection,
                           group='placement_database')
        config([], project='placement', default_config_files=[])
        config.set_override('sync_on_startup', True,
                            group='placement_database')
        config.set_override('auth_strategy', 'noauth2', group='api')
        policy_opts.set_defaults(config, enforce_new_defaults=False,
                                 enforce_scope=False)
        # The transaction factory is process-global and configured once;
        # each embedded Placement patches its own engine into it.
        db_api.configure(config)
        self._reset_engine = db_api.placement_context_manager.patch_engine(
            engines.create_engine(connection))
        trait._TRAITS_SYNCED = False
        resource_class._RESOURCE_CLASSES_SYNCED = False
        policy.reset()
        app: wsgiref.types.WSGIApplication = deploy.loadapp(config)
        return app

    def start(self) -> str:
        """Start serving; return the endpoint URL."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        with _LOCK:
            app = self._app()
        server_class = _ThreadingServer if self.threaded else _Server
        server = simple_server.make_server(
            '127.0.0.1', self.port, app, server_class=server_class,
            handler_class=_QuietHandler)
        url = 'http://127.0.0.1:%d' % server.server_port
        # Checked for a stop request every POLL_INTERVAL while idle
        # (socketserver's serve_forever waits half a second, on every
        # command that used the embedded one, and its shutdown() has no
        # time limit).
        server.timeout = POLL_INTERVAL
        self._stopping = threading.Event()
        thread = threading.Thread(target=self._serve, args=(server,),
                                  name='embedded-placement', daemon=True)
        self._server, self._thread, self.url = server, thread, url
        thread.start()
        LOG.info('Embedded Placement at %s, database %s', url, self.db_path)
        return url

    def _serve(self, server: simple_server.WSGIServer) -> None:
        while not self._stopping.is_set():
            server.handle_request()

    def stop(self) -> None:
        """Stop serving, within :data:`STOP_TIMEOUT` seconds.

        :raises: ``RuntimeError`` when a request was still being served
            then: its thread is left behind, the socket and the database
            engine are released all the same.
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        stuck = False
        try:
            if server is not None:
                self._stopping.set()
                if thread is not None:
                    thread.join(STOP_TIMEOUT)
                    stuck = thread.is_alive()
                server.server_close()
        finally:
            if self._reset_engine is not None:
                self._reset_engine()
                self._reset_engine = None
        if stuck:
            raise RuntimeError(
                'the embedded Placement at %s did not stop within %g s: a '
                'request was still being served' % (self.url, STOP_TIMEOUT))

    def client(self) -> api_client.PlacementClient:
        if self.url is None:
            raise RuntimeError('the embedded Placement is not started')
        return api_client.PlacementClient.for_endpoint(self.url)

    def __enter__(self) -> 'EmbeddedPlacement':
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def seed(client: api_client.PlacementClient, hostname: str,
         expected: dict[str, host_offer.ExpectedProvider]) -> list[str]:
    """Create the providers nova-compute would, where they are missing.

    The root provider is named ``hostname`` with VCPU, MEMORY_MB and
    DISK_GB inventory and a few COMPUTE_* traits; each GPU provider is its
    child with an inventory of its resource class, total = capacity.
    Existing providers are left as they are (nova-compute would not
    update a provider whose old vGPUs still exist).

    :returns: names of the providers created.
    """
    created = []
    roots = client.providers(name=hostname)
    if roots:
        root_uuid = roots[0]['uuid']
        tree = {p['name'] for p in client.providers(in_tree=root_uuid)}
    else:
        root = client.create_provider(hostname, str(uuid.uuid4()))
        root_uuid, tree = root['uuid'], set()
        gen = client.set_inventories(
            root_uuid, _inventory(ROOT_INVENTORY), root['generation'])
        client.set_provider_traits(root_uuid, set(ROOT_TRAITS), gen)
        created.append(hostname)
    for name, exp in sorted(expected.items()):
        if name in tree:
            continue
        if exp.resource_class.startswith('CUSTOM_'):
            client.ensure_resource_class(exp.resource_class)
        child = client.create_provider(name, parent=root_uuid)
        client.set_inventories(
            child['uuid'],
            _inventory({exp.resource_class: {'total': exp.total}}),
            child['generation'])
        created.append(name)
    return created


def _inventory(spec: Inventories) -> Inventories:
    result = {}
    for rc, values in spec.items():
        inv = {'total': values['total'], 'reserved': 0, 'min_unit': 1,
               'max_unit': values['total'], 'step_size': 1,
               'allocation_ratio': 1.0}
        inv.update(values)
        result[rc] = inv
    return result


@contextlib.contextmanager
def for_host(conf: cfg.ConfigOpts, config: type_plan.NovaConfig
             ) -> typing.Iterator[api_client.PlacementClient]:
    """An embedded Placement seeded with the providers of ``config``.

    The entry point of the ``nova_mig.embedded_placement`` namespace that
    :func:`nova_mig.placement.connect.placement` loads when the embedded
    Placement is chosen.  The server runs under ``[host]state_dir`` and
    stops when the block ends.

    :returns: a context manager yielding a
        :class:`~nova_mig.placement.api_client.PlacementClient`.
    """
    server = EmbeddedPlacement(conf.host.state_dir)
    server.start()
    try:
        hostname = host_offer.hypervisor_hostname(conf, config)
        created = seed(server.client(), hostname,
                       host_offer.providers(config, hostname))
        if created:
            LOG.info('Embedded Placement: created providers %s',
                     ', '.join(created))
        from nova_mig.simulator import cloud
        allocated = cloud.seed_allocations(server.client(), conf, hostname)
        if allocated:
            LOG.info('Embedded Placement: allocations of instances %s',
                     ', '.join(allocated))
        yield server.client()
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve an embedded Placement until interrupted; print its URL."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--state-dir', required=True)
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--threaded', action='store_true')
    args = parser.parse_args(argv)
    placement = EmbeddedPlacement(args.state_dir, args.port, args.threaded)
    url = placement.start()
    sys.stdout.write(url + '\n')
    sys.stdout.flush()
    try:
        if placement._thread is not None:
            placement._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        placement.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
