# SPDX-License-Identifier: Apache-2.0

"""The ``mig`` client of an OSC session: Placement and compute handles.

Placement is reached through nova-mig's own
:class:`~nova_mig.placement.api_client.PlacementClient` over the session's
openstacksdk placement proxy (a keystoneauth ``Adapter`` honouring
clouds.yaml, ``OS_*``, region, interface and endpoint overrides); every
call names its microversion. Compute is the openstacksdk compute proxy
``openstack`` itself uses.
"""

import typing

from nova_mig import exception
from nova_mig.placement import api_client


class OscPlacementClient(api_client.PlacementClient):
    """A PlacementClient whose errors speak of the cloud, not nova.conf."""

    def request(self, method: str, path: str, microversion: str,
                body: dict[str, typing.Any] | None = None,
                ok: tuple[int, ...] = (200,)) -> tuple[int, typing.Any]:
        action = '%s %s' % (method, path.split('?')[0])
        try:
            return super().request(method, path, microversion, body=body,
                                   ok=ok)
        except (exception.PlacementUnreachable,
                exception.PlacementAuthError) as e:
            raise exception.CloudUnreachable(
                service='Placement', action=action,
                reason=('%s: %s' % (e.kwargs['url'], e.kwargs['reason'])
                        if e.kwargs.get('url') and e.kwargs.get('reason')
                        else str(e)))

    def _error(self, method: str, path: str,
               resp: typing.Any) -> Exception:
        if resp.status_code == 403:
            return exception.AdminRequired(
                service='Placement',
                action='%s %s' % (method, path.split('?')[0]))
        return super()._error(method, path, resp)


def _bounded(proxy: typing.Any) -> typing.Any:
    """``proxy`` with a request timeout: the cloud's, else the default.

    Without ``api_timeout`` in clouds.yaml (or ``OS_API_TIMEOUT``) a
    service that accepts the connection and never answers would hang the
    command; then each request gets
    :data:`nova_mig.placement.api_client.DEFAULT_TIMEOUT` seconds.
    """
    session = getattr(proxy, 'session', None)
    if (getattr(proxy, 'timeout', None) is None and
            getattr(session, 'timeout', None) is None):
        try:
            proxy.timeout = api_client.DEFAULT_TIMEOUT
        except AttributeError:
            pass
    return proxy


class MigClient:
    """What the ``openstack mig`` commands talk to.

    :param instance: OSC's ``ClientManager``.
    """

    def __init__(self, instance: typing.Any) -> None:
        self._instance = instance
        self._placement: OscPlacementClient | None = None

    @property
    def placement(self) -> OscPlacementClient:
        if self._placement is None:
            proxy = _bounded(self._instance.sdk_connection.placement)
            self._placement = OscPlacementClient(
                proxy, 'the placement endpoint of the cloud')
        return self._placement

    @property
    def compute(self) -> typing.Any:
        """The openstacksdk compute proxy.

        :raises: :class:`nova_mig.exception.ComputeApiMissing` when the
            session's endpoint has no Compute API: openstacksdk then hands
            out a bare proxy without the flavor calls.
        """
        proxy = _bounded(self._instance.sdk_connection.compute)
        if not hasattr(proxy, 'flavors'):
            where = getattr(proxy, 'endpoint_override', None) or 'catalog'
            raise exception.ComputeApiMissing(action='flavors',
                                              where=where)
        return proxy
