"""OpenStackClient plugin entry point: ``openstack mig ...``.

Kept light: OSC imports this module on every ``openstack`` run; the
client and commands are imported only when a ``mig`` command runs.
"""

import argparse
import logging
import typing

from osc_lib import utils

LOG = logging.getLogger(__name__)

API_NAME = 'mig'
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
    """Add ``--os-mig-api-version`` to the global options."""
    parser.add_argument(
        '--os-mig-api-version', metavar='<mig-api-version>',
        default=utils.env('OS_MIG_API_VERSION',
                          default=DEFAULT_API_VERSION),
        help='nova-mig command API version, default=%s '
             '(Env: OS_MIG_API_VERSION)' % DEFAULT_API_VERSION)
    return parser


def check_api_version(check_version: str) -> bool:
    """Only version 1 exists; the shell warns about any other."""
    return check_version in API_VERSIONS
