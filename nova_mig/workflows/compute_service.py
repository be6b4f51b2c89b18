# SPDX-License-Identifier: Apache-2.0

"""This host's nova-compute service in the Compute API, through openstacksdk.

The reaper refuses to act while the scheduler may still place instances on
the host; ``retype`` disables the service with a reason and enables it
again at the end. The connection reuses the keystoneauth session of the
``[placement]`` group (nova-compute's service user).
"""

import dataclasses
import logging
import typing

from oslo_config import cfg

import nova_mig.conf
import nova_mig.conf.placement
from nova_mig import exception

if typing.TYPE_CHECKING:
    # openstacksdk is imported when connecting only.
    from openstack.compute.v2 import service as sdk_service

LOG = logging.getLogger(__name__)

BINARY = 'nova-compute'
ENABLED = 'enabled'
DISABLED = 'disabled'


class Service(typing.Protocol):
    """A service record of the Compute API (openstacksdk's ``Service``)."""

    @property
    def binary(self) -> str:
        ...

    @property
    def host(self) -> str:
        ...

    @property
    def status(self) -> str:
        """:data:`ENABLED` or :data:`DISABLED`."""
        ...

    @property
    def disabled_reason(self) -> str | None:
        ...

    @property
    def state(self) -> str | None:
        """``up`` or ``down``."""
        ...


#: The service record type of one connection: each connection takes back
#: only records of its own kind.
ServiceT = typing.TypeVar('ServiceT', bound=Service)


class ComputeProxy(typing.Protocol[ServiceT]):
    """The calls of openstacksdk's compute proxy nova-mig makes."""

    def services(self, *, binary: str, host: str
                 ) -> typing.Iterable[ServiceT]:
        ...

    def disable_service(self, service: ServiceT, *, disabled_reason: str
                        ) -> ServiceT | None:
        ...

    def enable_service(self, service: ServiceT) -> ServiceT | None:
        ...


class Connection(typing.Protocol[ServiceT]):
    """An ``openstack.connection.Connection``, or the embedded cloud's."""

    @property
    def compute(self) -> ComputeProxy[ServiceT]:
        ...


#: A connection, whichever kind of service records it has (openstacksdk's,
#: the embedded cloud's): what a caller is given to pass on.
AnyConnection = Connection[typing.Any]


@dataclasses.dataclass(frozen=True)
class ServiceState:
    """The service as the Compute API shows it."""

    host: str
    status: str                # ENABLED or DISABLED
    disabled_reason: str | None
    state: str | None          # "up" or "down"

    @property
    def enabled(self) -> bool:
        return self.status == ENABLED


def service_host(conf: cfg.ConfigOpts, hostname: str) -> str:
    """``[reaper]compute_service_host``, else the discovered host name."""
    return conf.reaper.compute_service_host or hostname


def configured(conf: cfg.ConfigOpts) -> bool:
    """Whether credentials to reach the Compute API are configured.

    ``[placement]auth_type``, or the ``auth_type`` of the section
    ``[placement]auth_section`` names (nova.conf's ``auth_section =
    keystone_authtoken``), as keystoneauth reads them.
    """
    nova_mig.conf.register_cloud_opts(conf)
    return bool(nova_mig.conf.placement.auth_type(conf))


def _no_credentials(conf: cfg.ConfigOpts) -> str:
    """What is unset, naming the section keystoneauth reads."""
    return 'no credentials: %s is unset' % nova_mig.conf.placement.auth_option(
        conf, 'auth_type')


class _ConnectionOptions(typing.TypedDict, total=False):
    compute_endpoint_override: str
    region_name: str


def connect(conf: cfg.ConfigOpts) -> 'Connection[sdk_service.Service]':
    """An ``openstack.connection.Connection`` with ``[placement]``'s session.

    :raises: :class:`nova_mig.exception.ComputeApiError` when no
        credentials are configured or they are incomplete.
    """
    from keystoneauth1 import exceptions as ks_exc
    from keystoneauth1 import loading as ks_loading
    import openstack

    from nova_mig.placement import api_client

    if not configured(conf):
        raise exception.ComputeApiError(
            call='connect', host='-',
            reason=_no_credentials(conf))
    try:
        auth = ks_loading.load_auth_from_conf_options(conf, 'placement')
        session = ks_loading.load_session_from_conf_options(
            conf, 'placement', auth=auth,
            timeout=api_client.timeout(conf))
    except ks_exc.ClientException as e:
        raise exception.ComputeApiError(call='connect', host='-',
                                        reason=_reason(e))
    kwargs: _ConnectionOptions = {}
    if conf.reaper.compute_endpoint_override:
        kwargs['compute_endpoint_override'] = (
            conf.reaper.compute_endpoint_override)
    if conf.placement.region_name:
        kwargs['region_name'] = conf.placement.region_name
    return openstack.connection.Connection(
        session=session, app_name='nova-mig', **kwargs)


def _find(conn: Connection[ServiceT], host: str) -> ServiceT:
    from keystoneauth1 import exceptions as ks_exc
    from openstack import exceptions as sdk_exc
    try:
        services = list(conn.compute.services(binary=BINARY, host=host))
    except (sdk_exc.SDKException, ks_exc.ClientException) as e:
        # Keystone or Nova closed, refusing or answering an error: one
        # line, without urllib3's repr of the connection.
        raise exception.ComputeApiError(call='GET /os-services', host=host,
                                        reason=_reason(e))
    services = [s for s in services
                if s.binary == BINARY and s.host == host]
    if not services:
        raise exception.ComputeServiceNotFound(host=host)
    return services[0]


def _reason(e: Exception) -> str:
    """The failure in one line, naming the URL keystoneauth tried."""
    return exception.url_reason(e)


def _state(service: Service) -> ServiceState:
    return ServiceState(host=service.host, status=service.status,
                        disabled_reason=service.disabled_reason,
                        state=service.state)


def _or_again(conn: Connection[ServiceT], host: str,
              updated: ServiceT | None) -> ServiceT:
    """The record a change answered; read again where it answered none.

    (openstacksdk declares that it may answer None.)
    """
    return updated if updated is not None else _find(conn, host)


def get_state(conn: Connection[ServiceT], host: str) -> ServiceState:
    """The nova-compute service of ``host``.

    :raises: :class:`nova_mig.exception.ComputeServiceNotFound`,
        :class:`nova_mig.exception.ComputeApiError`.
    """
    return _state(_find(conn, host))


def require_disabled(conn: Connection[ServiceT], host: str
                     ) -> ServiceState:
    """Raise unless the nova-compute service of ``host`` is disabled.

    :raises: :class:`nova_mig.exception.ComputeServiceEnabled`.
    """
    state = get_state(conn, host)
    if state.enabled:
        raise exception.ComputeServiceEnabled(host=host, state=state.status)
    return state


def disable(conn: Connection[ServiceT], host: str, reason: str
            ) -> ServiceState:
    """Disable the service with ``reason``; a disabled one is left as is.

    An already disabled service keeps its own reason: someone else disabled
    it, and :func:`enable` must not undo their decision (see
    :attr:`ServiceState.disabled_reason`).
    """
    from openstack import exceptions as sdk_exc
    service = _find(conn, host)
    if service.status == DISABLED:
        return _state(service)
    try:
        updated = conn.compute.disable_service(service,
                                               disabled_reason=reason)
    except sdk_exc.SDKException as e:
        raise exception.ComputeApiError(call='disable', host=host,
                                        reason=_reason(e))
    LOG.info('Disabled nova-compute on %s: %s', host, reason)
    return _state(_or_again(conn, host, updated))


def enable(conn: Connection[ServiceT], host: str) -> ServiceState:
    """Enable the service of ``host``."""
    from openstack import exceptions as sdk_exc
    service = _find(conn, host)
    if service.status == ENABLED:
        return _state(service)
    try:
        updated = conn.compute.enable_service(service)
    except sdk_exc.SDKException as e:
        raise exception.ComputeApiError(call='enable', host=host,
                                        reason=_reason(e))
    LOG.info('Enabled nova-compute on %s', host)
    return _state(_or_again(conn, host, updated))


def guard_apply(conf: cfg.ConfigOpts, hostname: str, force: bool = False,
                conn: Connection[ServiceT] | None = None
                ) -> ServiceState | None:
    """Refuse a change while this host's nova-compute may get instances.

    :param hostname: the discovered host name (see :func:`service_host`).
    :param force: ``--force-with-enabled-service``: skip the check, with a
        warning in the log.
    :param conn: an openstacksdk connection; built by :func:`connect`
        when None.
    :raises: :class:`nova_mig.exception.ComputeServiceEnabled`,
        :class:`nova_mig.exception.ComputeApiError` (the service cannot be
        checked), :class:`nova_mig.exception.ComputeServiceNotFound`.
    """
    host = service_host(conf, hostname)
    if force:
        LOG.warning('--force-with-enabled-service: not checking that '
                    'nova-compute on %s is disabled; instances may be '
                    'scheduled here while devices are removed', host)
        return None
    if conn is not None:
        return require_disabled(conn, host)
    if not configured(conf):
        raise exception.ComputeApiError(
            call='GET /os-services', host=host,
            reason='cannot check that nova-compute is disabled: %s; '
                   'disable the service and pass '
                   '--force-with-enabled-service' % _no_credentials(conf))
    return require_disabled(connect(conf), host)


#: stevedore namespace of the embedded cloud's Compute API (the simulator
#: provides it; product code never imports the simulator).
EMBEDDED_COMPUTE = 'nova_mig.embedded_compute'


def embedded_compute(conf: cfg.ConfigOpts
                     ) -> typing.Callable[[cfg.ConfigOpts], typing.Any] | None:
    """The embedded cloud's Compute API connection factory, if chosen.

    Only with ``[placement_sync]embedded = true`` (as ``reap --apply``):
    the nova-compute service records of the simulated cloud. None
    otherwise: the Compute API of ``[placement]``'s cloud is used.
    """
    if conf.placement_sync.embedded is not True:
        return None

    def connect(conf: cfg.ConfigOpts) -> typing.Any:
        from stevedore import driver
        return driver.DriverManager(EMBEDDED_COMPUTE,
                                    'embedded').driver(conf)
    return connect
