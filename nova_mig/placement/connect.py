"""Which Placement a command talks to: the cloud's, or an embedded one."""

import contextlib
import typing

from oslo_config import cfg
from oslo_log import log as logging
from stevedore import driver

from nova_mig.novaconf import plan
from nova_mig.placement import client as client_mod

LOG = logging.getLogger(__name__)

#: stevedore namespace of the embedded Placement (``nova_mig.simulator``
#: provides it; product code never imports the simulator).
EMBEDDED_NAMESPACE = 'nova_mig.embedded_placement'


def use_embedded(conf: cfg.ConfigOpts) -> bool:
    """``[placement_sync]embedded``, or True when no cloud is configured."""
    if conf.placement_sync.embedded is not None:
        return conf.placement_sync.embedded
    return not (conf.placement.auth_type or conf.placement.endpoint_override)


@contextlib.contextmanager
def placement(conf: cfg.ConfigOpts, config: plan.NovaConfig
              ) -> typing.Iterator[client_mod.PlacementClient]:
    """Yield a :class:`~nova_mig.placement.client.PlacementClient`.

    With a cloud configured the client is built from ``[placement]``.
    Otherwise the embedded Placement plugin is loaded from the
    ``nova_mig.embedded_placement`` namespace, started under
    ``[host]state_dir`` and seeded with the providers nova-compute would
    create for ``config``, the host's Nova configuration plan; it stops
    when the block ends.
    """
    if not use_embedded(conf):
        yield client_mod.PlacementClient.from_conf(conf)
        return
    for_host: typing.Callable[
        [cfg.ConfigOpts, plan.NovaConfig],
        typing.ContextManager[client_mod.PlacementClient]] = \
        driver.DriverManager(EMBEDDED_NAMESPACE, 'embedded').driver
    with for_host(conf, config) as client:
        yield client
