# SPDX-License-Identifier: Apache-2.0

"""The rebalance targets file: version, schema, reader, writer.

An optional YAML file the operator writes (``openstack mig rebalance plan
--targets``, the playbook's ``rebalance_targets``): a minimum of free
slices per MIG profile, cloud-wide or within one host aggregate or
availability zone::

    version: 1
    targets:
      - {profile: 1g.10gb, min_free: 8}
      - {profile: 3g.40gb, min_free: 2, availability_zone: az1}
      - {profile: 7g.80gb, min_free: 1, aggregate: training}

Read by :func:`read` (bounded, as every input file) for
:func:`nova_mig.rebalance.demand.load_targets`; every error names the
file, the key and why, in one line. ``version`` is required: the file has
carried it since the format was first published.
"""

from nova_mig import bounded_input
from nova_mig.documents import validation
from nova_mig import exception
from nova_mig.model import constants

#: The version this nova-mig reads.
VERSION = 1
#: Longest aggregate or availability zone name (Nova's limit).
MAX_NAME = 255
#: Most targets of one file.
MAX_TARGETS = 1024


def _name(what: str) -> validation.Schema:
    # A name YAML reads as a number (aggregate: 2024) is that name.
    return {'type': ['string', 'integer', 'null'], 'minLength': 1,
            'maxLength': MAX_NAME, 'minimum': 0,
            'x-reason': 'expected the name of %s, found %%(value).80r'
                        % what}


_TARGET = {
    **validation.mapping({
        'profile': {'type': 'string',
                    'pattern': constants.PROFILE_RE.pattern,
                    'x-reason': 'not a MIG profile name such as 1g.10gb: '
                                '%(value).80r'},
        'min_free': validation.integer(0, maximum=10 ** 6),
        'aggregate': _name('a host aggregate'),
        'availability_zone': _name('an availability zone'),
    }, required=('profile', 'min_free')),
    'allOf': [{'not': {'required': ['aggregate', 'availability_zone']},
               'x-reason': '"aggregate" and "availability_zone" exclude '
                           'each other'}]}

#: The targets file.
SCHEMA: validation.Schema = validation.mapping({
    'version': validation.version(VERSION),
    'targets': {'type': 'array', 'items': _TARGET, 'maxItems': MAX_TARGETS,
                'x-reason': 'expected a list of at most %d targets'
                            % MAX_TARGETS},
}, required=('version', 'targets'))

_CHECKER = validation.validator(SCHEMA)


def failure(path: str) -> bounded_input.Fail:
    """The error of a targets file: path, key and reason in one line."""
    def fail(where: str, reason: str) -> exception.RebalanceInputError:
        return exception.RebalanceInputError(path=path, where=where,
                                             reason=reason)
    return fail


def check(document: object, path: str) -> validation.Document:
    """``document`` when it is a valid targets document.

    :raises: :class:`nova_mig.exception.RebalanceInputError` naming the
        key.
    """
    return validation.check(_CHECKER, document, failure(path))


def read(path: str) -> validation.Document:
    """Read, parse and check the targets file at ``path``."""
    fail = failure(path)
    return check(bounded_input.load_yaml(
        bounded_input.read_input(path, fail), fail), path)


def dumps(document: validation.Document) -> str:
    """The YAML text of a targets document, which must be valid.

    :raises: ValueError when it is not (a bug of the writer).
    """
    return validation.dump_yaml(validation.checked(_CHECKER, document))
