"""Entry point for oslo-config-generator: every option of nova-mig."""

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

_MODULES = (host, libvirt, gpu, simulator, naming, nova,
            placement, reaper, retype, hook)


def list_opts():
    """Return ``[(group, [opts])]`` for every nova-mig option group."""
    result = []
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.append((group, opts))
    return result
