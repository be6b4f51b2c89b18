# SPDX-License-Identifier: Apache-2.0

"""OpenStackClient plugin entry point: ``openstack mig ...``.

Kept light: OSC imports this module on every ``openstack`` run; the
client and commands are imported only when a ``mig`` command runs.
"""

import argparse
import logging
import typing

LOG = logging.getLogger(__name__)

API_NAME = 'mig'
#: OSC reads the plugin's version from ``API_VERSION_OPTION`` of its
#: options; with no such option it uses ``DEFAULT_API_VERSION``.
API_VERSION_OPTION = 'os_mig_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = ('1',)


def make_client(instance: typing.Any) -> typing.Any:
    """The ``client_manager.mig`` client of the OSC session."""
    from nova_mig.osc import client
    LOG.debug('Instantiating nova-mig client, API version %s',
              instance._api_version.get(API_NAME))
    return client.MigClient(instance)


def build_option_parser(
        parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """No global option: the ``mig`` commands have a single version.

    OSC asks every plugin for this hook; nova-mig adds no
    ``--os-mig-api-version``, which would mean nothing.
    """
    return parser


def check_api_version(check_version: str) -> bool:
    """Only version 1 exists (OSC asks; no option sets another)."""
    return check_version in API_VERSIONS
