"""Which Placement a command talks to: the cloud's, or an embedded one."""

import contextlib

from oslo_config import cfg
from oslo_log import log as logging

from nova_mig.host import discovery
from nova_mig.placement import client as client_mod
from nova_mig.placement import embedded
from nova_mig.placement import offer

LOG = logging.getLogger(__name__)


def use_embedded(conf: cfg.ConfigOpts) -> bool:
    """``[placement_sync]embedded``, or True when no cloud is configured."""
    if conf.placement_sync.embedded is not None:
        return conf.placement_sync.embedded
    return not (conf.placement.auth_type or conf.placement.endpoint_override)


@contextlib.contextmanager
def placement(conf: cfg.ConfigOpts, report: discovery.HostReport):
    """Yield a :class:`~nova_mig.placement.client.PlacementClient`.

    With a cloud configured the client is built from ``[placement]``.
    Otherwise an embedded Placement is started under ``[host]state_dir``
    and seeded with the providers nova-compute would create for
    ``report``; it stops when the block ends.
    """
    if not use_embedded(conf):
        yield client_mod.PlacementClient.from_conf(conf)
        return
    server = embedded.EmbeddedPlacement(conf.host.state_dir)
    server.start()
    try:
        hostname = offer.hypervisor_hostname(conf, report)
        created = embedded.seed(
            server.client(), hostname,
            offer.expected_providers(conf, report, hostname))
        if created:
            LOG.info('Embedded Placement: created providers %s',
                     ', '.join(created))
        yield server.client()
    finally:
        server.stop()
