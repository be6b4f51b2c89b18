# SPDX-License-Identifier: Apache-2.0

"""The simulated GPU backend: NVML answers from the simulated host."""

import logging

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.model import constants
from nova_mig.model import gpu_records
from nova_mig.simulator import card
from nova_mig.simulator import kernel
from nova_mig.simulator import live_state
from nova_mig.simulator import simulated_host

LOG = logging.getLogger(__name__)


class SimulatedBackend(backend_api.GpuBackend):
    """GPU backend over the host described by ``[simulator]host_file``.

    The host is materialised on first use in ``[simulator]work_dir``
    (default ``<[host]state_dir>/simulator``); its sysfs tree and libvirt
    test-driver URI replace ``[host]sysfs_root`` and
    ``[libvirt]connection_uri``.

    :raises: :class:`nova_mig.exception.ConfigError` when
        ``[simulator]host_file`` is not set.
    """

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self.host = simulated_host.SimulatedHost.from_conf(conf)

    @property
    def hostname(self) -> str:
        """The simulated host's name (``hostname`` in the host file)."""
        return self.host.load().hostname

    # -- the host as seen by the kernel -----------------------------------
    def sysfs_root(self) -> str:
        self.host.load()
        return self.host.sysfs_root

    def libvirt_uri(self) -> str:
        self.host.load()
        return self.host.libvirt_uri

    def sysfs_writer(self) -> kernel.SysfsWriter:
        self.host.load()
        return kernel.SysfsWriter(self.host)

    # -- simulator controls ------------------------------------------------
    def reset(self) -> None:
        """Materialise the host file again, dropping every change."""
        self.host.reset()

    def wipe(self) -> None:
        """Simulate a reboot of the host."""
        self.host.wipe()

    # -- reads --------------------------------------------------------------
    def list_gpus(self) -> list[gpu_records.Gpu]:
        state = self.host.load()
        return [self._gpu(state, gpu) for gpu in state.gpus]

    @staticmethod
    def _gpu(state: live_state.HostState, gpu: live_state.GpuRecord
             ) -> gpu_records.Gpu:
        model = state.model(gpu)
        vgpus = state.vgpus_of(gpu)
        instances = []
        for gi, placement in card.occupied(state, gpu):
            instances.append(gpu_records.GpuInstance(
                id=gi['id'], profile_id=gi['profile_id'],
                profile_name=card.gi_profile(state, gpu, gi).name,
                placement=placement,
                compute_instances=tuple(
                    gpu_records.ComputeInstance(ci['id'], ci['profile_id'])
                    for ci in gi['compute_instances']),
                processes=tuple(gi['processes']),
                creatable_vgpu_types=(
                    _creatable(model.vgpu_types, gi, vgpus)
                    if state.vgpu_manager else None)))
        return gpu_records.Gpu(
            index=gpu['index'], pci_address=gpu['pci_address'],
            uuid=gpu['uuid'], name=model.nvml_name,
            pci_device_id=model.pci_device_id,
            memory_total_mb=model.memory_total_mb,
            compute_capability=model.compute_capability,
            mig_current=gpu['mig_current'], mig_pending=gpu['mig_pending'],
            profiles=model.profiles,
            gpu_instances=tuple(instances),
            vgpu_types=model.vgpu_types if state.vgpu_manager else None,
            active_vgpus=tuple(
                gpu_records.ActiveVgpu(mdev_uuid=v['uuid'],
                                       type_id=v['type_id'],
                                       gpu_instance_id=v['gpu_instance_id'],
                                       parent=v['parent'])
                for v in vgpus))

    # -- changes --------------------------------------------------------------
    @staticmethod
    def _gpu_record(state: live_state.HostState, gpu_uuid: str
                    ) -> live_state.GpuRecord:
        gpu = state.gpu_by_uuid(gpu_uuid)
        if gpu is None:
            raise exception.GpuNotFound(selector='UUID %s' % gpu_uuid)
        return gpu

    def _gi(self, gpu: live_state.GpuRecord, gi: live_state.GpuInstanceRecord,
            state: live_state.HostState) -> gpu_records.GpuInstance:
        for item in self._gpu(state, gpu).gpu_instances:
            if item.id == gi['id']:
                return item
        raise AssertionError('GPU instance vanished')  # pragma: no cover

    def create_gpu_instance(self, gpu_uuid: str, profile_id: int,
                            placement: gpu_records.Placement | None = None
                            ) -> gpu_records.GpuInstance:
        with self.host.transaction() as state:
            gpu = self._gpu_record(state, gpu_uuid)
            if placement is not None:
                profile = state.model(gpu).profile(profile_id)
                if profile is not None and placement not in \
                        profile.placements:
                    raise exception.GpuOperationRefused(
                        gpu=gpu_uuid, code=card.INVALID_ARGUMENT,
                        operation='create GPU instance of profile %s'
                        % profile_id,
                        reason='placement %d:%d is not possible' % (
                            placement.start, placement.size))
            gi = card.create_gpu_instance(
                state, gpu, profile_id,
                None if placement is None else placement.start)
            result = self._gi(gpu, gi, state)
        return result

    def destroy_gpu_instance(self, gpu_uuid: str, gpu_instance_id: int
                             ) -> None:
        with self.host.transaction() as state:
            card.destroy_gpu_instance(
                state, self._gpu_record(state, gpu_uuid), gpu_instance_id)

    def create_compute_instance(self, gpu_uuid: str, gpu_instance_id: int
                                ) -> gpu_records.ComputeInstance:
        with self.host.transaction() as state:
            ci = card.create_compute_instance(
                state, self._gpu_record(state, gpu_uuid), gpu_instance_id)
        return gpu_records.ComputeInstance(ci['id'], ci['profile_id'])

    def destroy_compute_instance(self, gpu_uuid: str, gpu_instance_id: int,
                                 compute_instance_id: int) -> None:
        with self.host.transaction() as state:
            card.destroy_compute_instance(
                state, self._gpu_record(state, gpu_uuid), gpu_instance_id,
                compute_instance_id)

    def set_mig_mode(self, gpu_uuid: str, enabled: bool) -> tuple[int, int]:
        """Change the MIG mode at once (the simulated card needs no reset).

        :raises: GpuOperationRefused NOT_SUPPORTED (card not MIG capable)
            or IN_USE (GPU instances or vGPUs exist).
        """
        mode = gpu_records.MIG_ENABLED if enabled else gpu_records.MIG_DISABLED
        operation = '%s MIG mode' % ('enable' if enabled else 'disable')
        with self.host.transaction() as state:
            gpu = self._gpu_record(state, gpu_uuid)
            if not state.model(gpu).mig_capable:
                raise exception.GpuOperationRefused(
                    gpu=gpu_uuid, operation=operation,
                    code=card.NOT_SUPPORTED, reason='the card has no MIG')
            if gpu['mig_current'] != mode:
                busy = gpu['gpu_instances'] or state.vgpus_of(gpu)
                if busy:
                    raise exception.GpuOperationRefused(
                        gpu=gpu_uuid, operation=operation, code=card.IN_USE,
                        reason='GPU instances or vGPUs exist')
                if (state.device_mode == constants.MODE_VENDOR_VFIO and
                        gpu['numvfs']):
                    # NVIDIA's vendor-VFIO driver: no MIG mode change
                    # while the PF has VFs.
                    raise exception.GpuOperationRefused(
                        gpu=gpu_uuid, operation=operation, code=card.IN_USE,
                        reason='%d SR-IOV VFs are enabled; disable them '
                               'first (sriov-manage -d %s)' % (
                                   gpu['numvfs'], gpu['pci_address']))
            gpu['mig_pending'] = mode
            if not gpu.get('mig_mode_needs_reset'):
                gpu['mig_current'] = mode
            result = (gpu['mig_current'], gpu['mig_pending'])
        return result

    def reset_gpu(self, gpu_uuid: str, pci_address: str) -> None:
        """A GPU reset: the pending MIG mode takes effect.

        :raises: GpuOperationRefused IN_USE while GPU instances, vGPUs or
            guests holding its functions exist (nvidia-smi refuses a busy
            GPU).
        """
        with self.host.transaction() as state:
            gpu = self._gpu_record(state, gpu_uuid)
            functions = {gpu['pci_address'], *state.vf_addresses(gpu)}
            users = [d['name'] for d in state.domains
                     if d['state'] in live_state.ACTIVE_DOMAIN_STATES and
                     functions & set(d['pci_hostdevs'])]
            if gpu['gpu_instances'] or state.vgpus_of(gpu) or users:
                raise exception.GpuOperationRefused(
                    gpu=gpu_uuid, operation='reset the GPU',
                    code=card.IN_USE, reason='the GPU is in use')
            gpu['mig_current'] = gpu['mig_pending']


def _creatable(vgpu_types: tuple[gpu_records.VgpuType, ...],
               gi: live_state.GpuInstanceRecord,
               vgpus: list[live_state.VgpuRecord]) -> tuple[int, ...]:
    """What nvmlGpuInstanceGetCreatableVgpus answers for one GPU instance.

    The types backed by the instance's profile with room left on it: an
    instance carries one type at a time, up to the type's per-instance
    maximum.
    """
    on_gi = [v['type_id'] for v in vgpus if v['gpu_instance_id'] == gi['id']]
    return tuple(
        t.id for t in vgpu_types
        if t.gpu_instance_profile_id == gi['profile_id'] and
        set(on_gi) <= {t.id} and len(on_gi) < (t.max_instances_per_gi or 1))
