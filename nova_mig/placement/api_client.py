# SPDX-License-Identifier: Apache-2.0

"""A small Placement API client with one place mapping HTTP errors.

Every call names the microversion it needs:

=========================================  ======  =========================
call                                       micro-  why
                                           version
=========================================  ======  =========================
GET /resource_providers?name=              1.14    ``in_tree``, ``parent``
GET /resource_providers?in_tree=           1.14    ``in_tree`` filter
GET /resource_providers?required=a,!b      1.22    forbidden traits
POST /resource_providers                   1.20    parent, body returned
GET/PUT /resource_providers/{u}/traits     1.23    traits API (1.6), error
                                                   codes (1.23)
GET/PUT /resource_providers/{u}/invent...  1.23    error codes (1.23)
GET /traits?name=in:, PUT /traits/{n}      1.6     traits API
GET /resource_classes                      1.2     custom classes
PUT /resource_classes/{n}                  1.7     idempotent create
=========================================  ======  =========================

Errors leave the client as :mod:`nova_mig.exception` classes only:
:class:`PlacementUnreachable`, :class:`PlacementAuthError`,
:class:`PlacementGenerationConflict` and :class:`PlacementError`.
"""

import collections
import logging
import typing
import urllib.parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from oslo_config import cfg

import nova_mig.conf.placement
from nova_mig import exception
from nova_mig.placement import shapes

LOG = logging.getLogger(__name__)

MV_TREE = '1.14'
MV_CREATE_PROVIDER = '1.20'
MV_FORBIDDEN = '1.22'
MV_ERROR_CODES = '1.23'
MV_TRAITS = '1.6'
MV_CLASSES = '1.2'
MV_CLASS_PUT = '1.7'

#: Seconds a request (Keystone, Placement, Nova) may take when
#: ``[placement]timeout`` is unset: a peer that accepts the connection and
#: never answers fails after this long instead of hanging the command.
DEFAULT_TIMEOUT = 30.0

CONCURRENT_UPDATE = 'placement.concurrent_update'
WRITE_METHODS = frozenset(('PUT', 'POST', 'DELETE', 'PATCH'))

_UNREACHABLE = (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                ks_exc.RequestTimeout, ks_exc.SSLError,
                ks_exc.UnknownConnectionError, ks_exc.EndpointNotFound,
                ks_exc.EmptyCatalog, ks_exc.DiscoveryFailure)
_AUTH = (ks_exc.Unauthorized, ks_exc.Forbidden, ks_exc.AuthorizationFailure,
         ks_exc.MissingAuthPlugin, ks_exc.MissingRequiredOptions)


class PlacementClient:
    """Placement calls nova-mig makes, over a keystoneauth ``Adapter``.

    ``calls`` counts the requests made, ``writes`` the writing ones; tests
    and the benchmark read them to show what a sync cost.

    :param adapter: a keystoneauth1 Adapter for the placement service.
    :param where: how to name the endpoint in error messages.
    """

    def __init__(self, adapter: ks_adapter.Adapter, where: str):
        self.adapter = adapter
        self.where = where
        #: Requests made, by method.
        self.calls: collections.Counter[str] = collections.Counter()
        self.writes = 0
        self._authenticated = False
        #: The section holding the credentials, to name in messages.
        self.auth_group = nova_mig.conf.placement.PLACEMENT_GROUP

    # -- construction -------------------------------------------------------
    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts) -> 'PlacementClient':
        """Build the client from ``[placement]`` the way Nova does.

        :raises: :class:`nova_mig.exception.PlacementAuthError` when the
            auth options are incomplete,
            :class:`nova_mig.exception.PlacementAuthSectionEmpty` when
            the section ``auth_section`` names has no ``auth_type``,
            :class:`nova_mig.exception.PlacementNoAuthType` when
            ``[placement]`` itself has none (``endpoint_override`` alone).
        """
        group = nova_mig.conf.placement.PLACEMENT_GROUP
        # nova.conf's "auth_section = keystone_authtoken": the auth
        # options are read from that section, as keystoneauth does.
        section = nova_mig.conf.placement.auth_group(conf)
        if section != group and not conf[section].auth_type:
            raise exception.PlacementAuthSectionEmpty(
                section=section, files=', '.join(conf.config_file or ()) or
                'no configuration file')
        if section == group and not conf[group].auth_type:
            # keystoneauth would only say "an auth plugin is required",
            # before sending anything: name what is missing instead.
            raise exception.PlacementNoAuthType(
                files=', '.join(conf.config_file or ()) or
                'no configuration file')
        try:
            auth = ks_loading.load_auth_from_conf_options(conf, group)
            session = ks_loading.load_session_from_conf_options(
                conf, group, auth=auth, timeout=timeout(conf))
            adapter = ks_loading.load_adapter_from_conf_options(
                conf, group, session=session, auth=auth)
        except _AUTH as e:
            raise exception.PlacementAuthError(
                url=_where(conf), reason=_reason(e), group=section)
        client = cls(adapter, _where(conf))
        client.auth_group = section
        return client

    @classmethod
    def for_endpoint(cls, url: str, token: str = 'admin',
                     timeout: float | None = 30) -> 'PlacementClient':
        """A client for a Placement running ``[api]auth_strategy=noauth2``.

        :param url: the Placement root, e.g. ``http://127.0.0.1:8778``.
        :param token: noauth2 takes the user from the token; ``admin``.
        """
        auth = token_endpoint.Token(url, token)
        session = ks_session.Session(auth=auth, timeout=timeout)
        adapter = ks_adapter.Adapter(session, service_type='placement',
                                     endpoint_override=url)
        return cls(adapter, url)

    @property
    def endpoint(self) -> str:
        """The Placement URL the requests go to.

        ``[placement]endpoint_override``, else the one the Keystone catalog
        gave (known once a request was made); :attr:`where` when neither
        can be told.
        """
        get_endpoint = getattr(self.adapter, 'get_endpoint', None)
        try:
            url = get_endpoint() if get_endpoint is not None else None
        except ks_exc.ClientException:
            url = None
        return str(url) if url else self.where

    # -- the one request path -------------------------------------------------
    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    def request(self, method: str, path: str, microversion: str,
                body: shapes.JsonObject | None = None,
                ok: tuple[int, ...] = (200,)
                ) -> tuple[int, shapes.JsonObject | None]:
        """Make one call; return (status, JSON body or None).

        Statuses outside ``ok`` raise; this is the only place mapping
        keystoneauth and HTTP errors to nova-mig exceptions.
        """
        if not self._authenticated:
            self._authenticate()
        self.calls[method] += 1
        if method in WRITE_METHODS:
            self.writes += 1
        kwargs = {'microversion': microversion, 'raise_exc': False}
        if body is not None:
            kwargs['json'] = body
        try:
            resp = self.adapter.request(path, method, **kwargs)
        except _UNREACHABLE as e:
            # The URL the catalog gave, once Keystone answered.
            raise exception.PlacementUnreachable(url=self.endpoint,
                                                 reason=_reason(e))
        except _AUTH as e:
            raise exception.PlacementAuthError(
                url=self.where, reason=_reason(e), group=self.auth_group)
        except ks_exc.ClientException as e:
            raise exception.PlacementError(
                method=method, path=path, status='-', title=_reason(e),
                detail='')
        if resp.status_code in ok:
            if resp.status_code == 204 or not resp.content:
                return resp.status_code, None
            try:
                answer = resp.json()
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise exception.PlacementError(
                    method=method, path=path, status=resp.status_code,
                    title='the answer is not a JSON object (%s)'
                    % (resp.headers.get('Content-Type') or 'no type'),
                    detail='; is [placement]endpoint_override a Placement '
                           'service?', code=None)
            wrong = shapes.problem(method, path, answer)
            if wrong:
                raise exception.PlacementError(
                    method=method, path=path.split('?', 1)[0],
                    status=resp.status_code, title=wrong,
                    detail='; is [placement]endpoint_override a Placement '
                           'service?', code=None)
            return resp.status_code, answer
        raise self._error(method, path, resp)

    def json(self, method: str, path: str, microversion: str,
             body: shapes.JsonObject | None = None) -> shapes.JsonObject:
        """Make one call answered 200 with a JSON body; return the body.

        :raises: what :meth:`request` raises, and
            :class:`~nova_mig.exception.PlacementError` for an empty body.
        """
        status, answer = self.request(method, path, microversion, body)
        if answer is None:
            raise exception.PlacementError(
                method=method, path=path, status=status,
                title='empty response', detail='', code=None)
        return answer

    def _authenticate(self) -> None:
        """Get a token first, so Keystone's failures are named as such."""
        auth = (getattr(self.adapter, 'auth', None) or
                getattr(getattr(self.adapter, 'session', None), 'auth', None))
        url = getattr(auth, 'auth_url', None) or 'the identity service'
        get_token = getattr(self.adapter, 'get_token', None)
        try:
            if get_token is not None:
                get_token()
        except _UNREACHABLE as e:
            raise exception.IdentityUnreachable(
                url=url, reason=_reason(e),
                option='[%s]auth_url' % self.auth_group)
        except _AUTH as e:
            raise exception.PlacementAuthError(
                url=self.where, reason=_reason(e), group=self.auth_group)
        except ks_exc.ClientException as e:
            raise exception.IdentityError(url=url, reason=_reason(e))
        self._authenticated = True

    def _error(self, method: str, path: str,
               resp: typing.Any) -> Exception:
        status = resp.status_code
        title, detail, code = _first_error(resp)
        if status in (401, 403):
            return exception.PlacementAuthError(
                url=self.where, reason='HTTP %d %s' % (status, title),
                group=self.auth_group)
        kwargs = dict(method=method, path=path, status=status, title=title,
                      detail=(': %s' % detail) if detail else '', code=code)
        if status == 409 and code == CONCURRENT_UPDATE:
            return exception.PlacementGenerationConflict(**kwargs)
        return exception.PlacementError(**kwargs)

    # -- resource providers -------------------------------------------------
    def providers(self, name: str | None = None, in_tree: str | None = None,
                  required: list[str] | None = None
                  ) -> list[shapes.JsonObject]:
        """GET /resource_providers with the filters given."""
        query = {}
        if name is not None:
            query['name'] = name
        if in_tree is not None:
            query['in_tree'] = in_tree
        if required:
            query['required'] = ','.join(required)
        mv = MV_FORBIDDEN if required else MV_TREE
        path = '/resource_providers'
        if query:
            path += '?' + urllib.parse.urlencode(query, safe=',:!')
        answer = self.json('GET', path, mv)
        found: list[shapes.JsonObject] = answer['resource_providers']
        return found

    def create_provider(self, name: str, uuid: str | None = None,
                        parent: str | None = None) -> shapes.JsonObject:
        body = {'name': name}
        if uuid:
            body['uuid'] = uuid
        if parent:
            body['parent_provider_uuid'] = parent
        return self.json('POST', '/resource_providers', MV_CREATE_PROVIDER,
                         body)

    def provider_traits(self, uuid: str) -> tuple[set[str], int]:
        """The provider's traits and generation."""
        body = self.json('GET', '/resource_providers/%s/traits' % uuid,
                         MV_ERROR_CODES)
        generation: int = body['resource_provider_generation']
        return set(body['traits']), generation

    def set_provider_traits(self, uuid: str, traits: set[str],
                            generation: int) -> int:
        """Replace the provider's traits; return the new generation.

        :raises: :class:`nova_mig.exception.PlacementGenerationConflict`
            when ``generation`` is stale.
        """
        body = self.json(
            'PUT', '/resource_providers/%s/traits' % uuid, MV_ERROR_CODES,
            {'traits': sorted(traits),
             'resource_provider_generation': generation})
        new: int = body['resource_provider_generation']
        return new

    def inventories(self, uuid: str
                    ) -> tuple[dict[str, shapes.JsonObject], int]:
        body = self.json(
            'GET', '/resource_providers/%s/inventories' % uuid,
            MV_ERROR_CODES)
        found: dict[str, shapes.JsonObject] = body['inventories']
        generation: int = body['resource_provider_generation']
        return found, generation

    def set_inventories(self, uuid: str,
                        inventories: dict[str, shapes.JsonObject],
                        generation: int) -> int:
        body = self.json(
            'PUT', '/resource_providers/%s/inventories' % uuid,
            MV_ERROR_CODES,
            {'inventories': inventories,
             'resource_provider_generation': generation})
        new: int = body['resource_provider_generation']
        return new

    # -- traits and resource classes ------------------------------------------
    def existing_traits(self, names: set[str]) -> set[str]:
        """Which of ``names`` Placement knows (one GET)."""
        if not names:
            return set()
        path = '/traits?name=in:' + ','.join(sorted(names))
        return set(self.json('GET', path, MV_TRAITS)['traits'])

    def ensure_trait(self, name: str) -> bool:
        """Idempotent PUT /traits/{name}; True when it was created."""
        status, _ = self.request('PUT', '/traits/%s' % name, MV_TRAITS,
                                 ok=(201, 204))
        return status == 201

    def resource_classes(self) -> set[str]:
        body = self.json('GET', '/resource_classes', MV_CLASSES)
        return {rc['name'] for rc in body['resource_classes']}

    def ensure_resource_class(self, name: str) -> bool:
        """Idempotent PUT /resource_classes/{name}; True when created."""
        status, _ = self.request('PUT', '/resource_classes/%s' % name,
                                 MV_CLASS_PUT, ok=(201, 204))
        return status == 201


def timeout(conf: cfg.ConfigOpts) -> float:
    """``[placement]timeout``, :data:`DEFAULT_TIMEOUT` when unset."""
    value = conf[nova_mig.conf.placement.PLACEMENT_GROUP].timeout
    return DEFAULT_TIMEOUT if value is None else float(value)


def _where(conf: cfg.ConfigOpts) -> str:
    group = conf[nova_mig.conf.placement.PLACEMENT_GROUP]
    override: str | None = group.endpoint_override
    if override:
        return override
    auth_url = None
    section = group.auth_section or nova_mig.conf.placement.PLACEMENT_GROUP
    try:
        auth_url = conf[section].auth_url
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        pass
    return ('the %s endpoint of the catalog at %s'
            % (group.service_type, auth_url or '(no auth_url)'))


def _reason(e: Exception) -> str:
    return exception.short_reason(e)


def _first_error(resp: typing.Any) -> tuple[str, str, str | None]:
    """Title, detail and code of the first error of an error response."""
    title, detail, code = resp.reason or '', '', None
    try:
        body = resp.json()
    except ValueError:
        body = None
    errors = body.get('errors') if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if isinstance(first, dict):
        title = str(first.get('title') or title)
        lines = str(first.get('detail') or '').strip().splitlines()
        detail = lines[-1] if lines else ''
        code = first.get('code')
        code = code if isinstance(code, str) else None
    elif resp.text:
        detail = resp.text.strip().splitlines()[0][:200]
    return title, detail, code
