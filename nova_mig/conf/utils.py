# SPDX-License-Identifier: Apache-2.0

"""Helpers for registering option groups."""

import collections.abc

from oslo_config import cfg


def register_group(conf: cfg.ConfigOpts, group: cfg.OptGroup,
                   opts: collections.abc.Sequence[cfg.Opt]) -> None:
    """Register ``opts`` under a private copy of ``group`` on ``conf``.

    oslo.config keeps the registered options, their defaults and overrides
    inside the ``OptGroup`` object, and only shallow-copies it on
    registration: registering one module-level group on two ``ConfigOpts``
    would let an override on one show through the other. Each ``ConfigOpts``
    therefore gets a group of its own.
    """
    conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                     help=group.help))
    conf.register_opts(opts, group=group.name)
