# SPDX-License-Identifier: Apache-2.0

"""Configuration options of nova-mig, one module per option group."""

from oslo_config import cfg

from nova_mig.conf import opts


def register_opts(conf: cfg.ConfigOpts, cloud: bool = True) -> None:
    """Register every nova-mig option group on ``conf``.

    :param cloud: also the keystoneauth options of ``[placement]``
        (:func:`register_cloud_opts`); a command that never talks to a
        cloud leaves them out and does not import keystoneauth.
    """
    for module in opts.option_modules():
        module.register_opts(conf)
    if cloud:
        register_cloud_opts(conf)


def register_cloud_opts(conf: cfg.ConfigOpts) -> None:
    """Register the options that reach a cloud (``[placement]``'s).

    Once per configuration: a second call finds them there.
    """
    if 'auth_type' in conf.placement:
        return
    from nova_mig.conf import placement
    placement.register_cloud_opts(conf)
