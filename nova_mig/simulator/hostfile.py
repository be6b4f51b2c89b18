"""The host file: a versioned YAML description of a simulated host.

The format (``version: 1``) is documented in
``doc/source/reference/simulated-host.rst``.  :func:`load` validates a file
and returns the initial :class:`nova_mig.simulator.state.HostState`; every
error names the file, the key path (``gpus[1].gpu_instances[0].profile``)
and what is allowed there.
"""

import hashlib

from oslo_log import log as logging
import yaml

from nova_mig import exception
from nova_mig.model import gpu as gpu_model
from nova_mig.simulator import card
from nova_mig.simulator import catalog as catalog_mod
from nova_mig.simulator import exception as sim_exception
from nova_mig.simulator import pci
from nova_mig.simulator import state as state_mod

LOG = logging.getLogger(__name__)

FORMAT_VERSION = 1
MIG_MODES = {'enabled': gpu_model.MIG_ENABLED,
             'disabled': gpu_model.MIG_DISABLED}
MDEV_NAME_FORMS = ('uuid', 'uuid_parent')

_TOP_KEYS = ('version', 'hostname', 'device_mode', 'vgpu_manager', 'libvirt',
             'gpus', 'vgpus', 'domains')
_GPU_KEYS = ('model', 'pci_address', 'uuid', 'mig_mode', 'sriov_vfs',
             'gpu_instances')
_GI_KEYS = ('profile', 'placement', 'compute_instances', 'processes')
_VGPU_KEYS = ('uuid', 'type', 'parent', 'gpu', 'vf', 'gpu_instance')
_DOMAIN_KEYS = ('name', 'uuid', 'state', 'nova', 'display_name', 'mdevs',
                'pci_hostdevs')

# libyaml's loader when PyYAML was built with it: several times faster.
_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class _Parser:
    """Validates one host file into a state; raises HostFileError."""

    def __init__(self, path: str, catalog: catalog_mod.Catalog):
        self.path = path
        self.catalog = catalog

    def error(self, where: str, reason: str) -> sim_exception.HostFileError:
        return sim_exception.HostFileError(path=self.path,
                                           reason='%s: %s' % (where, reason))

    def mapping(self, value, where: str, keys: tuple) -> dict:
        if not isinstance(value, dict):
            raise self.error(where or '(top level)',
                             'expected a mapping with keys %s'
                             % ', '.join(keys))
        unknown = sorted(set(value) - set(keys), key=str)
        if unknown:
            raise self.error('%s.%s' % (where, unknown[0]) if where else
                             unknown[0], 'unknown key; allowed keys: %s'
                             % ', '.join(keys))
        return value

    def items(self, value, where: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(where, 'expected a list')
        return value

    def integer(self, value, where: str, low: int = 0,
                high: int | None = None) -> int:
        if (not isinstance(value, int) or isinstance(value, bool) or
                value < low or (high is not None and value > high)):
            raise self.error(where, 'expected an integer from %d to %s, got '
                             '%r' % (low, 'any' if high is None else high,
                                     value))
        return value

    def choice(self, value, where: str, allowed) -> object:
        if value not in allowed:
            raise self.error(where, '%r is not allowed; use one of %s'
                             % (value, ', '.join(str(a) for a in allowed)))
        return value

    def address(self, value, where: str) -> str:
        if not pci.is_pci_address(value):
            raise self.error(where, '%r is not a lower-case PCI address '
                             'like 0000:41:00.0' % (value,))
        return value

    def uuid(self, value, where: str) -> str:
        if not pci.is_uuid(value):
            raise self.error(where, '%r is not a lower-case UUID' % (value,))
        return value

    # -- sections ----------------------------------------------------------
    def parse(self, data) -> state_mod.HostState:
        data = self.mapping(data, '', _TOP_KEYS)
        if data.get('version') != FORMAT_VERSION:
            raise self.error('version', 'unsupported version %r; this '
                             'nova-mig reads version %d'
                             % (data.get('version'), FORMAT_VERSION))
        hostname = data.get('hostname')
        if not isinstance(hostname, str) or not hostname:
            raise self.error('hostname', 'a host name is required')
        mode = self.choice(data.get('device_mode', state_mod.MODE_MDEV),
                           'device_mode', state_mod.DEVICE_MODES)
        manager = self.choice(data.get('vgpu_manager', True),
                              'vgpu_manager', (True, False))
        state = state_mod.HostState(
            state_mod.empty(hostname, mode, manager), self.catalog)
        libvirt = self.mapping(data.get('libvirt') or {}, 'libvirt',
                               ('mdev_node_name',))
        state.data['mdev_node_name'] = self.choice(
            libvirt.get('mdev_node_name', 'uuid_parent'),
            'libvirt.mdev_node_name', MDEV_NAME_FORMS)
        for index, gpu in enumerate(self.items(data.get('gpus'), 'gpus')):
            self.gpu(state, index, gpu)
        for index, vgpu in enumerate(self.items(data.get('vgpus'),
                                                'vgpus')):
            self.vgpu(state, index, vgpu)
        for index, domain in enumerate(self.items(data.get('domains'),
                                                  'domains')):
            self.domain(state, index, domain)
        return state

    def mig_mode(self, value, where: str) -> tuple[int, int]:
        if isinstance(value, dict):
            value = self.mapping(value, where, ('current', 'pending'))
            current = self.choice(value.get('current', 'disabled'),
                                  where + '.current', tuple(MIG_MODES))
            pending = self.choice(value.get('pending', current),
                                  where + '.pending', tuple(MIG_MODES))
            return MIG_MODES[current], MIG_MODES[pending]
        value = self.choice(value, where, tuple(MIG_MODES))
        return MIG_MODES[value], MIG_MODES[value]

    def gpu(self, state: state_mod.HostState, index: int, data) -> None:
        where = 'gpus[%d]' % index
        data = self.mapping(data, where, _GPU_KEYS)
        model = self.catalog.get(data.get('model'), self.path,
                                 where + '.model')
        address = self.address(data.get('pci_address'),
                               where + '.pci_address')
        gpu_uuid = data.get('uuid') or pci.gpu_uuid(state.hostname, address)
        if not (gpu_uuid.startswith('GPU-') and pci.is_uuid(gpu_uuid[4:])):
            raise self.error(where + '.uuid', '%r is not a GPU UUID like '
                             'GPU-<lower-case UUID>' % gpu_uuid)
        current, pending = self.mig_mode(data.get('mig_mode', 'disabled'),
                                         where + '.mig_mode')
        if not model.mig_capable and (current or pending):
            raise self.error(where + '.mig_mode', '%s is not MIG capable; '
                             'only "disabled" is allowed' % model.key)
        numvfs = self.integer(data.get('sriov_vfs', 0), where + '.sriov_vfs',
                              0, model.sriov_totalvfs)
        gpu = {'index': index, 'model': model.key, 'pci_address': address,
               'uuid': gpu_uuid, 'mig_current': current,
               'mig_pending': pending, 'numvfs': numvfs,
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
        for gi_index, gi in enumerate(self.items(
                data.get('gpu_instances'), where + '.gpu_instances')):
            self.gpu_instance(state, gpu, model, '%s.gpu_instances[%d]'
                              % (where, gi_index), gi)

    def gpu_instance(self, state, gpu, model, where, data) -> None:
        data = self.mapping(data, where, _GI_KEYS)
        names = [p.name for p in model.profiles]
        if gpu['mig_current'] != gpu_model.MIG_ENABLED:
            raise self.error(where, 'GPU instances need MIG mode current '
                             '"enabled"')
        profile = model.profile_by_name(data.get('profile'))
        if profile is None:
            raise self.error(where + '.profile', 'unknown profile %r for %s;'
                             ' allowed: %s' % (data.get('profile'),
                                               model.key, ', '.join(names)))
        start = data.get('placement')
        if start is not None:
            self.integer(start, where + '.placement')
        cis = self.integer(data.get('compute_instances', 1),
                           where + '.compute_instances', 0, 1)
        processes = [self.integer(pid, '%s.processes[%d]' % (where, i), 1)
                     for i, pid in enumerate(self.items(
                         data.get('processes'), where + '.processes'))]
        try:
            gi = card.create_gpu_instance(state, gpu, profile.id, start)
        except exception.GpuOperationRefused as exc:
            raise self.error(where + ('.placement' if start is not None
                                      else '.profile'), exc.kwargs['reason'])
        if cis:
            card.create_compute_instance(state, gpu, gi['id'])
        gi['processes'] = processes

    def vgpu(self, state: state_mod.HostState, index: int, data) -> None:
        where = 'vgpus[%d]' % index
        data = self.mapping(data, where, _VGPU_KEYS)
        if not state.vgpu_manager:
            raise self.error(where, 'vGPUs need vgpu_manager: true')
        if ('parent' in data) == ('gpu' in data):
            raise self.error(where, 'give either parent (a PCI address) or '
                             'gpu (an index) with vf (a VF index)')
        if 'parent' in data:
            address = self.address(data['parent'], where + '.parent')
        else:
            gpu_index = self.integer(data['gpu'], where + '.gpu', 0,
                                     len(state.gpus) - 1)
            gpu = state.gpus[gpu_index]
            if 'vf' in data:
                vf = self.integer(data['vf'], where + '.vf', 0,
                                  max(gpu['numvfs'] - 1, 0))
                address = pci.vf_address(gpu['pci_address'], vf)
            else:
                address = gpu['pci_address']
        found = state.locate(address)
        parents = state.vgpu_parents(found[0]) if found else []
        if address not in parents:
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
                                              ', '.join(catalog_mod.
                                                        short_type_name(t.name)
                                                        for t in
                                                        model.vgpu_types)))
        if state.device_mode == state_mod.MODE_VENDOR_VFIO:
            vgpu_uuid = data.get('uuid') or state.new_vgpu_uuid(address)
        else:
            vgpu_uuid = data.get('uuid')
        self.uuid(vgpu_uuid, where + '.uuid')
        start = data.get('gpu_instance')
        if start is not None:
            self.integer(start, where + '.gpu_instance')
            if vgpu_type.gpu_instance_profile_id is None:
                raise self.error(where + '.gpu_instance', 'time-sliced type '
                                 '%s sits on no GPU instance' % data['type'])
        try:
            state.create_vgpu(address, vgpu_type.id, vgpu_uuid, start)
        except OSError as exc:
            raise self.error(where, 'the host would refuse this vGPU (%s)%s'
                             % (exc.strerror, self._hint(vgpu_type)))

    @staticmethod
    def _hint(vgpu_type: gpu_model.VgpuType) -> str:
        if vgpu_type.gpu_instance_profile_id is None:
            return ('; time-sliced types need MIG disabled, a free parent '
                    'and no vGPU of another type on the GPU')
        return ('; MIG-backed types need MIG enabled, a free VF and a free '
                'GPU instance of profile %d with a compute instance'
                % vgpu_type.gpu_instance_profile_id)

    def domain(self, state: state_mod.HostState, index: int, data) -> None:
        where = 'domains[%d]' % index
        data = self.mapping(data, where, _DOMAIN_KEYS)
        name = data.get('name')
        if not isinstance(name, str) or not name:
            raise self.error(where + '.name', 'a domain name is required')
        if name in {d['name'] for d in state.domains}:
            raise self.error(where + '.name', 'duplicate domain %r' % name)
        domain_uuid = self.uuid(data.get('uuid') or
                                pci.domain_uuid(state.hostname, name),
                                where + '.uuid')
        run_state = self.choice(data.get('state', 'running'),
                                where + '.state', state_mod.DOMAIN_STATES)
        mdevs = [self.uuid(u, '%s.mdevs[%d]' % (where, i)) for i, u in
                 enumerate(self.items(data.get('mdevs'), where + '.mdevs'))]
        hostdevs = [self.address(a, '%s.pci_hostdevs[%d]' % (where, i))
                    for i, a in enumerate(self.items(
                        data.get('pci_hostdevs'), where + '.pci_hostdevs'))]
        if mdevs and state.device_mode != state_mod.MODE_MDEV:
            raise self.error(where + '.mdevs', 'a vendor-vfio host has no '
                             'mdevs; give the VFs in pci_hostdevs')
        domain = {'name': name, 'uuid': domain_uuid, 'state': run_state,
                  'nova': self.choice(data.get('nova', True), where + '.nova',
                                      (True, False)),
                  'display_name': str(data.get('display_name') or name),
                  'mdevs': mdevs, 'pci_hostdevs': hostdevs}
        if run_state in state_mod.ACTIVE_DOMAIN_STATES:
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
                         if d['state'] in state_mod.ACTIVE_DOMAIN_STATES and
                         address in d['pci_hostdevs']]
                if users:
                    raise self.error('%s.pci_hostdevs[%d]' % (where, i),
                                     '%s is already held by domain %s'
                                     % (address, users[0]['name']))
        state.domains.append(domain)


def parse(content: bytes, path: str,
          catalog: catalog_mod.Catalog | None = None
          ) -> state_mod.HostState:
    """Validate host-file content and build the initial state.

    :raises: :class:`nova_mig.simulator.exception.HostFileError`
    """
    parser = _Parser(path, catalog or catalog_mod.default_catalog())
    try:
        data = yaml.load(content, Loader=_LOADER)
    except yaml.YAMLError as exc:
        where = getattr(exc, 'problem_mark', None)
        reason = getattr(exc, 'problem', None) or str(exc)
        if where is not None:
            reason = 'line %d column %d: %s' % (where.line + 1,
                                                where.column + 1, reason)
        raise sim_exception.HostFileError(
            path=path, reason='not valid YAML: %s' % ' '.join(reason.split()))
    state = parser.parse(data)
    state.data['host_file'] = path
    state.data['host_file_sha256'] = file_digest(content)
    LOG.debug('Host file %s describes %d GPUs, %d vGPUs, %d domains', path,
              len(state.gpus), len(state.vgpus), len(state.domains))
    return state


def load(path: str, catalog: catalog_mod.Catalog | None = None
         ) -> state_mod.HostState:
    """Read and validate the host file at ``path``."""
    try:
        with open(path, 'rb') as stream:
            content = stream.read()
    except OSError as exc:
        raise sim_exception.HostFileError(path=path, reason=exc.strerror)
    return parse(content, path, catalog)
