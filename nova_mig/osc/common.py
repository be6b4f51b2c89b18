# SPDX-License-Identifier: Apache-2.0

"""Options and error handling shared by the ``openstack mig`` commands."""

import argparse
import collections.abc
import functools
import typing

from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as sdk_exc
from osc_lib.command import command
from osc_lib import exceptions as osc_exc
from osc_lib import utils

from nova_mig import exception
from nova_mig import exitcodes
from nova_mig import naming
from nova_mig.osc import client


class Command(exitcodes.ExitStatus, command.Command):
    """An ``openstack mig`` command; its exit status per :mod:`exitcodes`.

    An error (``CommandError``, see :func:`translate_errors`) exits 1
    through OSC's shell; ``take_action`` may set ``exit_status``.
    """


class Lister(exitcodes.ExitStatus, command.Lister):
    """An ``openstack mig`` command listing rows."""


class ShowOne(exitcodes.ExitStatus, command.ShowOne):
    """An ``openstack mig`` command showing one object."""


def add_naming_options(parser: argparse.ArgumentParser,
                       flavor: bool = False) -> None:
    """The ``[naming]`` templates, for a cloud whose nova-mig changed them.

    nova-mig's hosts read them from their configuration file; the client
    has none, so they are options (and ``NOVA_MIG_*`` variables).
    """
    defaults = naming.naming_defaults()
    group = parser.add_argument_group(
        'naming', 'Must match [naming] of the hosts\' nova-mig.conf.')
    templates = [
        ('--rc-template', 'NOVA_MIG_RC_TEMPLATE',
         defaults['mig_resource_class'],
         'Resource class template, [naming]mig_resource_class'),
        ('--trait-template', 'NOVA_MIG_TRAIT_TEMPLATE',
         defaults['profile_trait'],
         'Profile trait template, [naming]profile_trait'),
        ('--model-template', 'NOVA_MIG_MODEL_TEMPLATE',
         defaults['model_trait'],
         'GPU model trait template, [naming]model_trait'),
    ]
    if flavor:
        templates.append(
            ('--name-template', 'NOVA_MIG_FLAVOR_TEMPLATE',
             naming.FLAVOR_TEMPLATE,
             'Flavor name template, {profile} is the MIG profile'))
    for flag, env, default, text in templates:
        group.add_argument(
            flag, metavar='<template>', default=utils.env(env,
                                                          default=default),
            help='%s (default: %%(default)s; Env: %s)' % (text, env))
    if flavor:
        group.add_argument(
            '--vgpu-class', action='store_true',
            default=bool(utils.env('NOVA_MIG_VGPU_CLASS')),
            help='The hosts keep Nova\'s VGPU resource class: ask for '
                 'resources:VGPU=1 and require the profile trait instead '
                 'of the MIG resource class (Env: NOVA_MIG_VGPU_CLASS)')


def scheme(parsed_args: argparse.Namespace) -> naming.Scheme:
    """The naming scheme the options describe."""
    kwargs: dict[str, str] = {}
    if getattr(parsed_args, 'name_template', None):
        kwargs['flavor_template'] = parsed_args.name_template
    return naming.Scheme(
        rc_template=parsed_args.rc_template,
        trait_template=parsed_args.trait_template,
        model_template=parsed_args.model_template,
        vgpu_class=bool(getattr(parsed_args, 'vgpu_class', False)),
        **kwargs)


def mig_client(app: typing.Any) -> client.MigClient:
    """A :class:`~nova_mig.osc.client.MigClient` of this command's session.

    Built afresh rather than taken from ``client_manager.mig``: OSC caches
    plugin clients on the ``ClientManager`` class, so in an interactive
    shell or a process running several shells the cached one would keep
    the first session's credentials.
    """
    return client.MigClient(app.client_manager)


def project_id(app: typing.Any, ref: str, domain: str | None) -> str:
    """The ID of project ``ref`` (name or ID).

    Found as ``openstack flavor create --project`` finds it: Keystone may
    refuse the lookup to a non-admin, and then ``ref`` is taken as the ID.

    :raises: ``CommandError`` naming the project or domain not found.
    """
    identity = app.client_manager.sdk_connection.identity
    what = 'project %s' % ref
    try:
        kwargs = {}
        if domain:
            what = 'domain %s' % domain
            kwargs['domain_id'] = identity.find_domain(
                domain, ignore_missing=False).id
            what = 'project %s in domain %s' % (ref, domain)
        return str(identity.find_project(ref, ignore_missing=False,
                                         **kwargs).id)
    except sdk_exc.ForbiddenException:
        return ref
    except sdk_exc.ResourceNotFound:
        raise osc_exc.CommandError('No %s in the Identity service' % what)
    except (sdk_exc.SDKException, ks_exc.ClientException) as e:
        reason = (str(e) or type(e).__name__).splitlines()[0]
        raise osc_exc.CommandError('Looking up %s failed: %s'
                                   % (what, reason))


#: What a Lister or ShowOne's ``take_action`` returns: columns and data.
Result = tuple[tuple[str, ...], typing.Any]
#: A Lister's: the columns and the rows.
Rows = tuple[tuple[str, ...], list[tuple[typing.Any, ...]]]
#: A ShowOne's: the columns and the values.
Row = tuple[tuple[str, ...], tuple[typing.Any, ...]]

_Self = typing.TypeVar('_Self')
_Out = typing.TypeVar('_Out')


def translate_errors(
        take_action: collections.abc.Callable[[_Self, argparse.Namespace],
                                              _Out]
) -> collections.abc.Callable[[_Self, argparse.Namespace], _Out]:
    """Turn nova-mig errors into ``CommandError`` (message, exit 1)."""
    @functools.wraps(take_action)
    def wrapper(self: _Self, parsed_args: argparse.Namespace) -> _Out:
        try:
            return take_action(self, parsed_args)
        except exception.NovaMigException as e:
            raise osc_exc.CommandError(str(e))
    return wrapper
