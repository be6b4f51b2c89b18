# SPDX-License-Identifier: Apache-2.0

"""The simulated-host file: version, schema, reader, writer.

A YAML description of a host for the simulated GPU backend
(``doc/source/reference/simulated-host.rst``). ``nova-mig discover
--host-file`` writes one of a real host (:mod:`nova_mig.host.capture`
builds it, :func:`write` writes it); the simulator reads it
(:mod:`nova_mig.simulator.hostfile`) through :func:`read` or
:func:`loads`, then checks what only the GPU catalog and the state know
(the models' profiles and VF counts, free GPU instances, devices held
twice). The schema lives here, with the other documents', and not in the
simulator: product code writes the file and never imports the simulator.

Every error names the file, the key path
(``gpus[1].gpu_instances[0].profile``) and the reason, in one line.
``version`` is required: the file has carried it since the format was
first published.
"""

from nova_mig import bounded_input
from nova_mig.documents import validation
from nova_mig import fileutils
from nova_mig.model import constants

#: The version this nova-mig writes and reads.
VERSION = 1
#: ``mig_mode`` (or its ``current`` and ``pending``).
MIG_MODES = ('enabled', 'disabled')
#: ``libvirt.mdev_node_name``: how libvirt names an mdev's node device.
MDEV_NAME_FORMS = ('uuid', 'uuid_parent')
#: ``domains[].state``.
DOMAIN_STATES = ('running', 'paused', 'shutoff')


def _items(item: validation.Schema, what: str) -> validation.Schema:
    return {'type': ['array', 'null'], 'items': item,
            'x-reason': 'expected a list of %s, found %%(value)r' % what}


_BOOLEAN = {'type': 'boolean', 'x-reason': 'expected true or false, found '
                                           '%(value)r'}
_UUID = {'type': 'string', 'pattern': '^%s$' % constants.UUID,
         'x-reason': '%(value)r is not a lower-case UUID'}
_PCI_ADDRESS = {'type': 'string', 'pattern': '^%s$' % constants.PCI_ADDRESS,
                'x-reason': '%(value)r is not a lower-case PCI address '
                            'like 0000:41:00.0'}
_GPU_INSTANCE = validation.mapping({
    # Which profiles the GPU has is checked while building.
    'profile': {'type': 'string', 'x-reason': 'expected a MIG profile name '
                                              '(1g.10gb), found %(value)r'},
    'placement': validation.integer(0),
    'compute_instances': {'enum': [0, 1],
                          'x-reason': 'expected 0 or 1, found %(value)r'},
    'processes': _items(validation.integer(1), 'process IDs'),
}, required=('profile',))
_GPU = validation.mapping({
    # Which models the catalog knows is checked while building.
    'model': {'type': 'string', 'x-reason': 'expected a GPU model name, '
                                            'found %(value)r'},
    'pci_address': _PCI_ADDRESS,
    'uuid': {'type': 'string', 'pattern': '^GPU-%s$' % constants.UUID,
             'x-reason': '%(value)r is not a GPU UUID like GPU-<lower-case '
                         'UUID>'},
    'mig_mode': {'if': {'type': 'object'},
                 'then': validation.mapping({
                     'current': validation.choice(*MIG_MODES),
                     'pending': validation.choice(*MIG_MODES)}),
                 'else': validation.choice(*MIG_MODES)},
    'sriov_vfs': validation.integer(0),
    # Hopper after a reboot: a MIG mode change stays pending until the GPU
    # is reset.
    'mig_mode_needs_reset': _BOOLEAN,
    'gpu_instances': _items(_GPU_INSTANCE, 'GPU instances'),
}, required=('model', 'pci_address'))
_VGPU = validation.mapping({
    'uuid': _UUID,
    'type': {},         # the model's vGPU types: checked while building
    'parent': _PCI_ADDRESS,
    'gpu': validation.integer(0),
    'vf': validation.integer(0),
    'gpu_instance': validation.integer(0),
})
_DOMAIN = validation.mapping({
    'name': {'type': 'string', 'minLength': 1,
             'x-reason': 'a domain name is required'},
    'uuid': _UUID,
    'state': validation.choice(*DOMAIN_STATES),
    'nova': _BOOLEAN,
    'display_name': {},
    'mdevs': _items(_UUID, 'mdev UUIDs'),
    'pci_hostdevs': _items(_PCI_ADDRESS, 'PCI addresses'),
}, required=('name',))

#: The simulated-host file.
SCHEMA: validation.Schema = validation.mapping({
    'version': validation.version(VERSION),
    'hostname': {'type': 'string', 'minLength': 1,
                 'x-reason': 'a host name is required'},
    'device_mode': validation.choice(*constants.DEVICE_MODES),
    'vgpu_manager': _BOOLEAN,
    # Vendor-specific VFIO as NVIDIA's driver runs it: the PF's VFs only
    # through sriov-manage (a raw sriov_numvfs write is refused, a re-bind
    # wipes the GPU instances).
    'sriov_manage': _BOOLEAN,
    # GPU models of the host's own (a captured host): the catalog's form,
    # checked while building.
    'models': {'type': ['object', 'null'],
               'x-reason': 'expected a mapping of GPU models, found '
                           '%(value)r'},
    'libvirt': validation.mapping(
        {'mdev_node_name': validation.choice(*MDEV_NAME_FORMS)},
        nullable=True),
    'gpus': _items(_GPU, 'GPUs'),
    'vgpus': _items(_VGPU, 'vGPUs'),
    'domains': _items(_DOMAIN, 'libvirt domains'),
}, required=('version', 'hostname'))

_CHECKER = validation.validator(SCHEMA)


def check(document: object, fail: bounded_input.Fail) -> validation.Document:
    """``document`` when it is a valid simulated-host document.

    :raises: what ``fail(where, reason)`` builds for the first problem.
    """
    return validation.check(_CHECKER, document, fail)


def loads(content: bytes | str,
          fail: bounded_input.Fail) -> validation.Document:
    """Parse (bounded, as every input file) and check host-file content."""
    return check(bounded_input.load_yaml(content, fail), fail)


def read(path: str, fail: bounded_input.Fail) -> validation.Document:
    """Read (bounded), parse and check the host file at ``path``."""
    return loads(bounded_input.read_input(path, fail), fail)


def dumps(document: validation.Document) -> str:
    """The YAML text of a host document, which must be valid.

    :raises: ValueError when it is not (a bug of the writer).
    """
    return validation.dump_yaml(validation.checked(_CHECKER, document))


def write(path: str, document: validation.Document,
          header: str = '') -> bool:
    """Write a host file atomically, ``header`` (comment lines) first.

    :returns: False when the file already held this content.
    """
    return fileutils.write_if_changed(path, header + dumps(document))
