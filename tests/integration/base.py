# SPDX-License-Identifier: Apache-2.0

"""Base class of the integration tests: the CLI against real services."""

import os
import uuid

import fixtures
from oslo_config import cfg
import requests.adapters

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.simulator import embedded_placement
from tests.functional import base as functional_base
from tests.integration import services as services_mod

HOST_FILE = 'a100-mixed.yaml'


class HttpLog(fixtures.Fixture):
    """Record (method, URL) of every HTTP request sent through requests.

    Sits below keystoneauth, so it sees exactly what goes on the wire,
    token requests included.
    """

    def _setUp(self):
        self.sent: list[tuple[str, str]] = []
        #: (URL, X-Auth-Token header or None) of each request sent.
        self.tokens: list[tuple[str, str | None]] = []
        real_send = requests.adapters.HTTPAdapter.send
        sent, tokens = self.sent, self.tokens

        def send(adapter, request, *args, **kwargs):
            sent.append((request.method, request.url))
            tokens.append((request.url, request.headers.get('X-Auth-Token')))
            return real_send(adapter, request, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch(
            'requests.adapters.HTTPAdapter.send', send))

    def tokens_to(self, root: str) -> list[str | None]:
        """The X-Auth-Token of each request sent to the service at root."""
        return [t for u, t in self.tokens if u.startswith(root + '/')
                or u == root]

    def to(self, root: str) -> list[tuple[str, str]]:
        """The requests sent to the service at ``root``."""
        return [(m, u) for m, u in self.sent if u.startswith(root + '/')
                or u == root]


class IntegrationTestCase(functional_base.CliTestCase):
    """``nova-mig`` in-process against real Keystone, Placement and Nova.

    Every test gets a compute node name of its own, so the tests share
    one set of services without seeing each other's providers.
    """

    def setUp(self):
        super().setUp()
        self.services = self.useFixture(
            services_mod.ServicesFixture()).services
        self.hostname = 'it-%s' % uuid.uuid4().hex[:12]
        self.snippet = os.path.join(self.tmpdir, 'nova.conf.d',
                                    '50-nova-mig.conf')
        self.provider_config = os.path.join(self.tmpdir, 'provider_config',
                                            'nova-mig.yaml')

    def conf_file(self, placement: str | None = None, extra: str = '',
                  host: str = HOST_FILE, name: str = 'nova-mig.conf') -> str:
        """A nova-mig.conf for the simulated host with a [placement] section.

        The real services only: no ``[placement_sync]embedded``.

        :param placement: the [placement] section; by default the one a
            nova.conf would have, with the nova service user.
        :param name: the file's name in ``self.tmpdir``.
        """
        if placement is None:
            placement = self.services.placement_section()
        return self.write_conf(
            functional_base.host_file(host),
            '[nova]\nhypervisor_hostname = %s\nconfig_snippet = %s\n'
            'provider_config_file = %s\n[placement_sync]\nretry_delay = 0\n'
            '%s%s' % (self.hostname, self.snippet, self.provider_config,
                      placement, extra), name=name, embedded=False)

    def load_conf(self, path: str) -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', path], project='nova-mig')
        return conf

    def admin_client(self, conf_path: str) -> api_client.PlacementClient:
        """A Placement client built from the file's [placement] section."""
        return api_client.PlacementClient.from_conf(self.load_conf(conf_path))

    def seed(self, conf_path: str) -> dict[str, dict]:
        """Create the providers nova-compute would; return them by name.

        Done through the real Placement API with real tokens, with the
        embedded Placement's seeding helper.
        """
        conf = self.load_conf(conf_path)
        report = discovery.discover(gpu.load_backend(conf))
        self.expected = host_offer.providers(type_plan.build(conf, report),
                                             self.hostname)
        client = api_client.PlacementClient.from_conf(conf)
        created = embedded_placement.seed(client, self.hostname, self.expected)
        self.assertEqual(sorted([self.hostname] + list(self.expected)),
                         sorted(created))
        root = client.providers(name=self.hostname)[0]
        return {p['name']: p
                for p in client.providers(in_tree=root['uuid'])}
