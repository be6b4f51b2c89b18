# SPDX-License-Identifier: Apache-2.0

"""Options of the [placement] and [placement_sync] groups."""

from oslo_config import cfg

from nova_mig.conf import utils

PLACEMENT_GROUP = 'placement'
DEFAULT_SERVICE_TYPE = 'placement'

_PLACEMENT_HELP = (
    'How nova-mig reaches the Placement API: the same options as the '
    '[placement] section of nova.conf, so "--config-file '
    '/etc/nova/nova.conf" on a compute host reuses nova-compute\'s '
    'credentials, including an auth_section naming the section that '
    'holds them. Without auth_type, auth_section or endpoint_override, '
    'commands that need Placement stop with "Placement is not '
    'configured"; [placement_sync]embedded chooses an embedded Placement '
    'instead (demo and tests only).')


def _placement_group() -> cfg.OptGroup:
    # A new group object per ConfigOpts: keystoneauth registers the auth
    # plugin's options at load time, and a shared OptGroup would carry
    # them (required ones included) into every other ConfigOpts.
    return cfg.OptGroup(PLACEMENT_GROUP, title='Placement service',
                        help=_PLACEMENT_HELP)


placement_group = _placement_group()

placement_sync_group = cfg.OptGroup(
    'placement_sync',
    title='Placement synchronisation',
    help='How "nova-mig sync" and "nova-mig verify" treat the GPU resource '
         'providers nova-compute created for this host.')

placement_sync_opts = [
    cfg.BoolOpt(
        'embedded',
        default=False,
        help='Run against an embedded Placement (openstack-placement served '
             'on 127.0.0.1 in the nova-mig process, SQLite database in '
             '<[host]state_dir>/placement) instead of the cloud\'s. The '
             'embedded Placement is seeded with the compute node and GPU '
             'providers nova-compute would create, so the whole flow can '
             'be tried on one machine (etc/nova-mig/demo.conf sets it). It '
             'needs the "embedded" extra. A configured [placement] '
             '(auth_type, auth_section or endpoint_override) wins over it. '
             'Never a fallback: without it and '
             'without [placement]auth_type, auth_section or '
             'endpoint_override, "sync" and "verify" stop with "Placement '
             'is not configured". Never set it on a production compute '
             'host.'),
    cfg.StrOpt(
        'hypervisor_hostname',
        help='Name of the compute node resource provider, used only when '
             '[nova]hypervisor_hostname is unset. Unset too, the host name '
             'nova-mig discovers is used.'),
    cfg.IntOpt(
        'max_attempts',
        default=6,
        min=1,
        help='How many times a trait update of one resource provider is '
             'tried when it loses a race with another writer (Placement '
             'answers 409 placement.concurrent_update). Each retry reads '
             'the provider\'s traits and generation again, after a delay '
             'doubling from [placement_sync]retry_delay.'),
    cfg.FloatOpt(
        'retry_delay',
        default=0.1,
        min=0,
        help='Seconds to wait before the first retry of a conflicting '
             'trait update; doubled for every further retry and capped at '
             '[placement_sync]max_retry_delay.'),
    cfg.FloatOpt(
        'max_retry_delay',
        default=2.0,
        min=0,
        help='Longest wait, in seconds, between two tries of a trait update.'),
    cfg.StrOpt(
        'state_file',
        default='placement-sync.json',
        help='File, relative to [host]state_dir, recording the traits, '
             'resource classes and provider traits nova-mig created. Only '
             'what it records is ever removed again; traits set by anyone '
             'else are always kept.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """[placement_sync], and the [placement] group without its options.

    The keystoneauth options of [placement] come with
    :func:`register_cloud_opts`: importing keystoneauth costs a command
    that never talks to a cloud most of its start-up time.
    """
    conf.register_group(_placement_group())
    utils.register_group(conf, placement_sync_group, placement_sync_opts)


def register_cloud_opts(conf: cfg.ConfigOpts) -> None:
    """The keystoneauth session, auth and adapter options of [placement].

    Registered before the files are parsed, as nova registers them.
    ``auth_type`` and ``auth_section`` always land in [placement]:
    keystoneauth's ``register_auth_conf_options`` would put ``auth_type``
    into the section a parsed ``auth_section`` names instead, leaving
    [placement] without it. The named section's options come with
    :func:`auth_group`, once the files are read. Safe to call again: the
    same options are registered once.
    """
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, PLACEMENT_GROUP)
    conf.register_opts(ks_loading.get_auth_common_conf_options(),
                       group=PLACEMENT_GROUP)
    ks_loading.register_adapter_conf_options(conf, PLACEMENT_GROUP,
                                             include_deprecated=False)
    conf.set_default('service_type', DEFAULT_SERVICE_TYPE,
                     group=PLACEMENT_GROUP)
    conf.set_default('valid_interfaces', ['internal', 'public'],
                     group=PLACEMENT_GROUP)


def auth_group(conf: cfg.ConfigOpts) -> str:
    """The group keystoneauth reads [placement]'s credentials from.

    nova.conf's ``[placement]auth_section = keystone_authtoken`` names
    the section holding ``auth_type`` and the plugin's options, as
    keystoneauth's ``load_auth_from_conf_options`` follows it (one
    level); that section's ``auth_type`` is registered here. [placement]
    itself without ``auth_section``. Needs :func:`register_cloud_opts`.
    """
    section = str(conf[PLACEMENT_GROUP].auth_section or '')
    if not section or section == PLACEMENT_GROUP:
        return PLACEMENT_GROUP
    from keystoneauth1 import loading as ks_loading
    conf.register_opts(ks_loading.get_auth_common_conf_options(),
                       group=section)
    return section


def auth_type(conf: cfg.ConfigOpts) -> str | None:
    """The keystoneauth plugin [placement]'s credentials use, if any.

    ``[<auth_section>]auth_type`` when ``auth_section`` is set (its own
    ``auth_type`` in [placement] is then ignored, as keystoneauth does),
    else ``[placement]auth_type``.
    """
    return conf[auth_group(conf)].auth_type or None


def configured(conf: cfg.ConfigOpts) -> bool:
    """Whether [placement] says how to reach a cloud's Placement.

    ``auth_type``, ``auth_section`` (whose section may still lack an
    ``auth_type``: the client then says so) or ``endpoint_override``.
    Needs :func:`register_cloud_opts`.
    """
    group = conf[PLACEMENT_GROUP]
    return bool(group.auth_type or group.auth_section or
                group.endpoint_override)


def auth_option(conf: cfg.ConfigOpts, option: str) -> str:
    """How to name an auth option in a message: ``[group]option``."""
    return '[%s]%s' % (auth_group(conf), option)


def _ksa_opts() -> list[cfg.Opt]:
    from keystoneauth1 import loading as ks_loading
    opts = (ks_loading.get_session_conf_options() +
            ks_loading.get_auth_common_conf_options() +
            ks_loading.get_auth_plugin_conf_options('password') +
            ks_loading.get_adapter_conf_options(include_deprecated=False))
    seen, result = set(), []
    for opt in opts:
        if opt.dest not in seen:
            seen.add(opt.dest)
            result.append(opt)
    return result


def list_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    return {placement_group: _ksa_opts(),
            placement_sync_group: placement_sync_opts}


def list_local_opts() -> dict[cfg.OptGroup, list[cfg.Opt]]:
    """:func:`list_opts` without [placement]'s keystoneauth options."""
    return {placement_group: [], placement_sync_group: placement_sync_opts}
