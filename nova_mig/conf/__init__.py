"""Configuration options of nova-mig, one module per option group."""

from oslo_config import cfg

from nova_mig.conf import opts


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every nova-mig option group on ``conf``."""
    for module in opts.option_modules():
        module.register_opts(conf)
