# SPDX-License-Identifier: Apache-2.0

"""The host file: a versioned YAML description of a simulated host.

The format (``version: 1``) is documented in
``doc/source/reference/simulated-host.rst``; its version, JSON schema,
reader and writer are :mod:`nova_mig.documents.simulated_host_file`, which
checks the form of a file. :func:`load` then builds the initial
:class:`nova_mig.simulator.live_state.HostState`, checking what a schema cannot
know (the GPU model's profiles and VF count, free GPU instances, devices
held twice). Every error names the file, the key path
(``gpus[1].gpu_instances[0].profile``) and the reason, in one line.
"""

import logging
import typing

from nova_mig import bounded_input
from nova_mig.documents import simulated_host_file
from nova_mig import exception
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.model import vgpu_types
from nova_mig.simulator import card
from nova_mig.simulator import gpu_catalog
from nova_mig.simulator import live_state
from nova_mig.simulator import pci
from nova_mig.simulator import sim_exception

#: An item of a list :meth:`_Parser.index` picks from.
_Item = typing.TypeVar('_Item')

LOG = logging.getLogger(__name__)

MIG_MODES = {'enabled': gpu_records.MIG_ENABLED,
             'disabled': gpu_records.MIG_DISABLED}


class _Parser:
    """Builds the state of a host file its schema accepted.

    Raises HostFileError for what only the catalog and the state know.
    """

    def __init__(self, path: str, catalog: gpu_catalog.Catalog):
        self.path = path
        self.catalog = catalog

    def error(self, where: str, reason: str) -> sim_exception.HostFileError:
        return sim_exception.HostFileError(path=self.path,
                                           reason='%s: %s' % (where, reason))

    def parse(self, data: dict[str, typing.Any]) -> live_state.HostState:
        models = data.get('models') or {}
        for key, value in models.items():
            try:
                self.catalog = self.catalog.extended({key: value})
            except (AttributeError, KeyError, TypeError, ValueError) as exc:
                raise self.error('models.%s' % key, 'not a GPU model of the '
                                 'catalog form (%s: %s)'
                                 % (type(exc).__name__, exc))
        state = live_state.HostState(
            live_state.empty(data['hostname'],
                             data.get('device_mode', constants.MODE_MDEV),
                             data.get('vgpu_manager', True)),
            self.catalog)
        if models:
            state.data['models'] = models
        state.data['sriov_manage'] = bool(data.get('sriov_manage', False))
        state.data['mdev_node_name'] = (data.get('libvirt') or {}).get(
            'mdev_node_name', 'uuid_parent')
        for index, gpu in enumerate(data.get('gpus') or []):
            self.gpu(state, index, gpu)
        for index, vgpu in enumerate(data.get('vgpus') or []):
            self.vgpu(state, index, vgpu)
        for index, domain in enumerate(data.get('domains') or []):
            self.domain(state, index, domain)
        return state

    @staticmethod
    def mig_mode(value: str | dict[str, str]) -> tuple[int, int]:
        if isinstance(value, dict):
            current = value.get('current', 'disabled')
            pending = value.get('pending', current)
            return MIG_MODES[current], MIG_MODES[pending]
        return MIG_MODES[value], MIG_MODES[value]

    def gpu(self, state: live_state.HostState, index: int,
            data: dict[str, typing.Any]) -> None:
        where = 'gpus[%d]' % index
        model = self.catalog.get(data['model'], self.path,
                                 where + '.model')
        address = data['pci_address']
        gpu_uuid = data.get('uuid') or pci.gpu_uuid(state.hostname, address)
        current, pending = self.mig_mode(data.get('mig_mode', 'disabled'))
        if not model.mig_capable and (current or pending):
            raise self.error(where + '.mig_mode', '%s is not MIG capable; '
                             'only "disabled" is allowed' % model.key)
        numvfs = data.get('sriov_vfs', 0)
        if numvfs > model.sriov_totalvfs:
            raise self.error(where + '.sriov_vfs', 'expected an integer from '
                             '0 to %d, got %r' % (model.sriov_totalvfs,
                                                  numvfs))
        if model.sriov_totalvfs:
            try:
                pci.vf_address(address, model.sriov_totalvfs - 1)
            except ValueError:
                raise self.error(where + '.pci_address', 'the %d VFs of %s '
                                 'would lie past bus ff; choose a lower bus'
                                 % (model.sriov_totalvfs, address))
        gpu: live_state.GpuRecord = {
            'index': index, 'model': model.key, 'pci_address': address,
            'uuid': gpu_uuid, 'mig_current': current,
            'mig_pending': pending, 'numvfs': numvfs,
            'mig_mode_needs_reset': data.get('mig_mode_needs_reset', False),
            'gpu_instances': []}
        taken = {pci_address for other in state.gpus
                 for pci_address in [other['pci_address']] +
                 state.vf_addresses(other)}
        mine = [address] + state.vf_addresses(gpu)
        clash = [a for a in mine if a in taken]
        if clash:
            raise self.error(where + '.pci_address', 'function %s is '
                             'already used by another GPU or its VFs'
                             % clash[0])
        if gpu_uuid in {other['uuid'] for other in state.gpus}:
            raise self.error(where + '.uuid', 'duplicate GPU UUID')
        state.gpus.append(gpu)
        for gi_index, gi in enumerate(data.get('gpu_instances') or []):
            self.gpu_instance(state, gpu, model, '%s.gpu_instances[%d]'
                              % (where, gi_index), gi)

    def gpu_instance(self, state: live_state.HostState,
                     gpu: live_state.GpuRecord, model: gpu_catalog.GpuModel,
                     where: str, data: dict[str, typing.Any]) -> None:
        names = [p.name for p in model.profiles]
        if gpu['mig_current'] != gpu_records.MIG_ENABLED:
            raise self.error(where, 'GPU instances need MIG mode current '
                             '"enabled"')
        profile = model.profile_by_name(data['profile'])
        if profile is None:
            raise self.error(where + '.profile', 'unknown profile %r for %s;'
                             ' allowed: %s' % (data.get('profile'),
                                               model.key, ', '.join(names)))
        start = data.get('placement')
        cis = data.get('compute_instances', 1)
        processes = list(data.get('processes') or [])
        try:
            gi = card.create_gpu_instance(state, gpu, profile.id, start)
        except exception.GpuOperationRefused as exc:
            raise self.error(where + ('.placement' if start is not None
                                      else '.profile'), exc.kwargs['reason'])
        if cis:
            card.create_compute_instance(state, gpu, gi['id'])
        gi['processes'] = processes

    def vgpu(self, state: live_state.HostState, index: int,
             data: dict[str, typing.Any]) -> None:
        where = 'vgpus[%d]' % index
        if not state.vgpu_manager:
            raise self.error(where, 'vGPUs need vgpu_manager: true')
        if ('parent' in data) == ('gpu' in data):
            raise self.error(where, 'give either parent (a PCI address) or '
                             'gpu (an index) with vf (a VF index)')
        if 'parent' in data:
            address = data['parent']
        else:
            gpu = self.index(state.gpus, data['gpu'], where + '.gpu')
            if 'vf' in data:
                vf = self.index(range(gpu['numvfs']), data['vf'],
                                where + '.vf')
                address = pci.vf_address(gpu['pci_address'], vf)
            else:
                address = gpu['pci_address']
        found = state.locate(address)
        if found is None or address not in state.vgpu_parents(found[0]):
            raise self.error(where + '.parent', '%s cannot carry a vGPU; '
                             'vGPU parents here: %s' % (address, ', '.join(
                                 a for g in state.gpus
                                 for a in state.vgpu_parents(g)) or 'none'))
        gpu = found[0]
        model = state.model(gpu)
        vgpu_type = model.vgpu_type_by_name(str(data.get('type')))
        if vgpu_type is None:
            raise self.error(where + '.type', 'unknown vGPU type %r for %s; '
                             'allowed: %s' % (data.get('type'), model.key,
                                              ', '.join(
                                                  vgpu_types.bare_name(t.name)
                                                  for t in model.vgpu_types)))
        if state.device_mode == constants.MODE_VENDOR_VFIO:
            vgpu_uuid = data.get('uuid') or state.new_vgpu_uuid(address)
        else:
            vgpu_uuid = data.get('uuid')
        if vgpu_uuid is None:
            raise self.error(where + '.uuid', 'None is not a lower-case '
                             'UUID; an mdev needs one')
        start = data.get('gpu_instance')
        if start is not None:
            if vgpu_type.gpu_instance_profile_id is None:
                raise self.error(where + '.gpu_instance', 'time-sliced type '
                                 '%s sits on no GPU instance' % data['type'])
        try:
            state.create_vgpu(address, vgpu_type.id, vgpu_uuid, start)
        except OSError as exc:
            raise self.error(where, 'the host would refuse this vGPU (%s)%s'
                             % (exc.strerror, self._hint(vgpu_type)))

    def index(self, items: typing.Sequence[_Item], value: int,
              where: str) -> _Item:
        """``items[value]``, or an error naming the allowed range."""
        if value >= len(items):
            raise self.error(where, 'expected an integer from 0 to %s, got '
                             '%r' % (len(items) - 1 if items else 'none',
                                     value))
        return items[value]

    @staticmethod
    def _hint(vgpu_type: gpu_records.VgpuType) -> str:
        if vgpu_type.gpu_instance_profile_id is None:
            return ('; time-sliced types need MIG disabled, a free parent '
                    'and no vGPU of another type on the GPU')
        return ('; MIG-backed types need MIG enabled, a free VF and a free '
                'GPU instance of profile %d with a compute instance'
                % vgpu_type.gpu_instance_profile_id)

    def domain(self, state: live_state.HostState, index: int,
               data: dict[str, typing.Any]) -> None:
        where = 'domains[%d]' % index
        name = data['name']
        if name in {d['name'] for d in state.domains}:
            raise self.error(where + '.name', 'duplicate domain %r' % name)
        domain_uuid = data.get('uuid') or pci.domain_uuid(state.hostname,
                                                          name)
        run_state = data.get('state', 'running')
        mdevs = list(data.get('mdevs') or [])
        hostdevs = list(data.get('pci_hostdevs') or [])
        if mdevs and state.device_mode != constants.MODE_MDEV:
            raise self.error(where + '.mdevs', 'a vendor-vfio host has no '
                             'mdevs; give the VFs in pci_hostdevs')
        domain: live_state.DomainRecord = {
            'name': name, 'uuid': domain_uuid, 'state': run_state,
            'nova': data.get('nova', True),
            'display_name': str(data.get('display_name') or name),
            'mdevs': mdevs, 'pci_hostdevs': hostdevs}
        if run_state in live_state.ACTIVE_DOMAIN_STATES:
            for i, mdev in enumerate(mdevs):
                vgpu = state.vgpu(mdev)
                if vgpu is None:
                    raise self.error('%s.mdevs[%d]' % (where, i), 'a %s '
                                     'domain cannot hold missing mdev %s; '
                                     'declare it in vgpus or shut the domain'
                                     ' off' % (run_state, mdev))
                if state.active_users(vgpu):
                    raise self.error('%s.mdevs[%d]' % (where, i), 'mdev %s is'
                                     ' already held by domain %s' % (
                                         mdev, state.active_users(vgpu)[0][
                                             'name']))
            for i, address in enumerate(hostdevs):
                users = [d for d in state.domains
                         if d['state'] in live_state.ACTIVE_DOMAIN_STATES and
                         address in d['pci_hostdevs']]
                if users:
                    raise self.error('%s.pci_hostdevs[%d]' % (where, i),
                                     '%s is already held by domain %s'
                                     % (address, users[0]['name']))
        state.domains.append(domain)


def parse(content: bytes, path: str,
          catalog: gpu_catalog.Catalog | None = None
          ) -> live_state.HostState:
    """Validate host-file content and build the initial state.

    :raises: :class:`nova_mig.simulator.sim_exception.HostFileError`
    """
    parser = _Parser(path, catalog or gpu_catalog.default_catalog())
    state = parser.parse(simulated_host_file.loads(content, parser.error))
    state.data['host_file'] = path
    state.data['host_file_sha256'] = live_state.file_digest(content)
    LOG.debug('Host file %s describes %d GPUs, %d vGPUs, %d domains', path,
              len(state.gpus), len(state.vgpus), len(state.domains))
    return state


def load(path: str, catalog: gpu_catalog.Catalog | None = None
         ) -> live_state.HostState:
    """Read and validate the host file at ``path``."""
    content = bounded_input.read_input(
        path, lambda where, reason: sim_exception.HostFileError(
            path=path, reason=reason))
    return parse(content, path, catalog)
