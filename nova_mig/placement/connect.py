# SPDX-License-Identifier: Apache-2.0

"""Which Placement a command talks to: the cloud's, or an embedded one.

The embedded Placement is used only when chosen (``[placement_sync]
embedded = true``, and no ``[placement]`` configured), never as a
fallback: a command run without a
configured ``[placement]`` (a forgotten ``--config-file``) stops with
:class:`~nova_mig.exception.PlacementNotConfigured` instead of reporting
success against a throwaway Placement.
"""

import contextlib
import logging
import typing

from oslo_config import cfg
from stevedore import driver

import nova_mig.conf
import nova_mig.conf.placement
from nova_mig import exception
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client

LOG = logging.getLogger(__name__)

#: stevedore namespace of the embedded Placement (``nova_mig.simulator``
#: provides it; product code never imports the simulator).
EMBEDDED_NAMESPACE = 'nova_mig.embedded_placement'


def use_embedded(conf: cfg.ConfigOpts) -> bool:
    """``[placement_sync]embedded`` chosen, and no cloud configured.

    A configured ``[placement]`` always wins, so adding nova.conf to the
    demo's configuration talks to the cloud.
    """
    return bool(conf.placement_sync.embedded) and not configured(conf)


def configured(conf: cfg.ConfigOpts) -> bool:
    """Whether ``[placement]`` says how to reach a cloud's Placement."""
    nova_mig.conf.register_cloud_opts(conf)
    return nova_mig.conf.placement.configured(conf)


def cloud_client(conf: cfg.ConfigOpts) -> api_client.PlacementClient:
    """The client of the configured Placement.

    :raises: :class:`~nova_mig.exception.PlacementNotConfigured`
    """
    if not configured(conf):
        raise exception.PlacementNotConfigured(
            files=', '.join(conf.config_file or ()) or
            'no configuration file')
    return api_client.PlacementClient.from_conf(conf)


@contextlib.contextmanager
def placement(conf: cfg.ConfigOpts, config: type_plan.NovaConfig
              ) -> typing.Iterator[api_client.PlacementClient]:
    """Yield a :class:`~nova_mig.placement.api_client.PlacementClient`.

    The client is built from ``[placement]``. With ``[placement_sync]
    embedded = true`` the embedded Placement plugin is loaded from the
    ``nova_mig.embedded_placement`` namespace instead, started under
    ``[host]state_dir`` and seeded with the providers nova-compute would
    create for ``config``, the host's Nova configuration plan; it stops
    when the block ends.

    :raises: :class:`~nova_mig.exception.PlacementNotConfigured` without
        either; :class:`~nova_mig.exception.EmbeddedPlacementUnavailable`
        when the embedded one is chosen but not installed.
    """
    if not use_embedded(conf):
        client = cloud_client(conf)
        LOG.debug('Placement: %s', client.where)
        yield client
        return
    try:
        for_host: typing.Callable[
            [cfg.ConfigOpts, type_plan.NovaConfig],
            typing.ContextManager[api_client.PlacementClient]] = \
            driver.DriverManager(EMBEDDED_NAMESPACE, 'embedded').driver
    except Exception as e:  # stevedore wraps the plugin's ImportError
        raise exception.EmbeddedPlacementUnavailable(reason=e)
    with for_host(conf, config) as client:
        yield client
