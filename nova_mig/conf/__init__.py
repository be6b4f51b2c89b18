"""Configuration options of nova-mig, one module per option group."""

from oslo_config import cfg

from nova_mig.conf import gpu
from nova_mig.conf import hook
from nova_mig.conf import host
from nova_mig.conf import libvirt
from nova_mig.conf import naming
from nova_mig.conf import nova
from nova_mig.conf import placement
from nova_mig.conf import reaper
from nova_mig.conf import retype
from nova_mig.conf import simulator


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every nova-mig option group on ``conf``."""
    for module in (host, libvirt, gpu, simulator, naming, nova,
                   placement, reaper, retype, hook):
        module.register_opts(conf)
