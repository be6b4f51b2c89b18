# SPDX-License-Identifier: Apache-2.0

"""GPU and compute instances on a simulated card, refused as NVML does."""

import logging

from nova_mig import exception
from nova_mig.model import gpu_records
from nova_mig.simulator import gpu_catalog
from nova_mig.simulator import live_state

LOG = logging.getLogger(__name__)

NOT_SUPPORTED = 'NOT_SUPPORTED'
INVALID_ARGUMENT = 'INVALID_ARGUMENT'
INSUFFICIENT_RESOURCES = 'INSUFFICIENT_RESOURCES'
IN_USE = 'IN_USE'
NOT_FOUND = 'NOT_FOUND'


def _refuse(gpu: live_state.GpuRecord, operation: str, code: str,
            reason: str) -> exception.GpuOperationRefused:
    return exception.GpuOperationRefused(
        gpu=gpu['uuid'], operation=operation, code=code, reason=reason)


def _placement(gi: live_state.GpuInstanceRecord,
               profile: gpu_records.GpuInstanceProfile
               ) -> gpu_records.Placement:
    return gpu_records.Placement(gi['start'], profile.placements[0].size)


def gi_profile(state: live_state.HostState, gpu: live_state.GpuRecord,
               gi: live_state.GpuInstanceRecord
               ) -> gpu_records.GpuInstanceProfile:
    """The profile of an existing GPU instance of ``gpu``."""
    profile = state.model(gpu).profile(gi['profile_id'])
    if profile is None:
        raise ValueError('GPU instance %s of %s has profile %s, unknown to '
                         'the card' % (gi['id'], gpu['pci_address'],
                                       gi['profile_id']))
    return profile


def occupied(state: live_state.HostState, gpu: live_state.GpuRecord
             ) -> list[tuple[live_state.GpuInstanceRecord,
                             gpu_records.Placement]]:
    """The GPU instances of a GPU with their placements."""
    return [(gi, _placement(gi, gi_profile(state, gpu, gi)))
            for gi in gpu['gpu_instances']]


def create_gpu_instance(state: live_state.HostState,
                        gpu: live_state.GpuRecord,
                        profile_id: int, start: int | None = None
                        ) -> live_state.GpuInstanceRecord:
    """Create a GPU instance, at placement ``start`` when given.

    Without a placement the first free possible placement is taken, as
    ``nvmlDeviceCreateGpuInstance`` does.

    :raises: :class:`nova_mig.exception.GpuOperationRefused` with code
        NOT_SUPPORTED (MIG disabled or not capable), INVALID_ARGUMENT
        (unknown profile, impossible placement) or INSUFFICIENT_RESOURCES
        (overlap, no room, count or "+me" limit reached).
    """
    operation = 'create GPU instance of profile %s' % profile_id
    model = state.model(gpu)
    if not model.mig_capable or gpu['mig_current'] != gpu_records.MIG_ENABLED:
        raise _refuse(gpu, operation, NOT_SUPPORTED, 'MIG mode is disabled')
    profile = model.profile(profile_id)
    if profile is None:
        raise _refuse(gpu, operation, INVALID_ARGUMENT,
                      'no such profile; the card offers %s' %
                      ', '.join(str(p.id) for p in model.profiles))
    existing = occupied(state, gpu)
    same = [gi for gi, _p in existing if gi['profile_id'] == profile_id]
    if len(same) >= profile.instance_count:
        raise _refuse(gpu, operation, INSUFFICIENT_RESOURCES,
                      'already %d instances of %s' % (len(same),
                                                      profile.name))
    if profile.media_extensions and any(
            gi_profile(state, gpu, gi).media_extensions
            for gi, _p in existing):
        raise _refuse(gpu, operation, INSUFFICIENT_RESOURCES,
                      'a "+me" GPU instance already exists')
    if start is not None:
        wanted = [p for p in profile.placements if p.start == start]
        if not wanted:
            raise _refuse(gpu, operation, INVALID_ARGUMENT,
                          'placement %d is not among %s' % (start, ', '.join(
                              '%d:%d' % (p.start, p.size)
                              for p in profile.placements)))
        placement = wanted[0]
        clash = [gi for gi, p in existing if p.overlaps(placement)]
        if clash:
            raise _refuse(gpu, operation, INSUFFICIENT_RESOURCES,
                          'placement %d:%d overlaps GPU instance %d' % (
                              placement.start, placement.size,
                              clash[0]['id']))
    else:
        free = [p for p in profile.placements
                if not any(p.overlaps(q) for _gi, q in existing)]
        if not free:
            raise _refuse(gpu, operation, INSUFFICIENT_RESOURCES,
                          'no free placement left for %s' % profile.name)
        placement = free[0]
    used_ids = {gi['id'] for gi, _p in existing}
    gi: live_state.GpuInstanceRecord = {
        'id': min(i for i in range(1, len(used_ids) + 2)
                  if i not in used_ids),
        'profile_id': profile_id, 'start': placement.start,
        'compute_instances': [], 'processes': []}
    gpu['gpu_instances'].append(gi)
    gpu['gpu_instances'].sort(key=lambda item: item['start'])
    LOG.debug('Simulator created GPU instance %d (%s) at %d on %s',
              gi['id'], profile.name, placement.start, gpu['uuid'])
    return gi


def _find_gi(state: live_state.HostState, gpu: live_state.GpuRecord,
             gi_id: int, operation: str) -> live_state.GpuInstanceRecord:
    gi = state.gpu_instance(gpu, gi_id)
    if gi is None:
        raise _refuse(gpu, operation, NOT_FOUND,
                      'no GPU instance %s' % gi_id)
    return gi


def destroy_gpu_instance(state: live_state.HostState,
                         gpu: live_state.GpuRecord,
                         gi_id: int) -> None:
    """Destroy a GPU instance.

    :raises: GpuOperationRefused NOT_FOUND, or IN_USE when it holds compute
        instances or processes or carries a vGPU.
    """
    operation = 'destroy GPU instance %s' % gi_id
    gi = _find_gi(state, gpu, gi_id, operation)
    vgpu = state.vgpu_on_gi(gpu, gi)
    if vgpu is not None:
        raise _refuse(gpu, operation, IN_USE, 'vGPU %s runs on it'
                      % vgpu['uuid'])
    if gi['compute_instances']:
        raise _refuse(gpu, operation, IN_USE, 'it holds compute instances')
    if gi['processes']:
        raise _refuse(gpu, operation, IN_USE, 'processes %s run on it' %
                      ', '.join(str(p) for p in gi['processes']))
    gpu['gpu_instances'].remove(gi)


def create_compute_instance(state: live_state.HostState,
                            gpu: live_state.GpuRecord,
                            gi_id: int) -> live_state.ComputeInstanceRecord:
    """Create the full-size compute instance of a GPU instance.

    :raises: GpuOperationRefused NOT_FOUND, or INSUFFICIENT_RESOURCES when
        the GPU instance already holds its compute instance.
    """
    operation = 'create compute instance on GPU instance %s' % gi_id
    gi = _find_gi(state, gpu, gi_id, operation)
    if gi['compute_instances']:
        raise _refuse(gpu, operation, INSUFFICIENT_RESOURCES,
                      'the full-size compute instance exists already')
    profile = gi_profile(state, gpu, gi)
    ci: live_state.ComputeInstanceRecord = {
        'id': 0,
        'profile_id': gpu_catalog.CI_PROFILE_FOR_SLICES[profile.slice_count]}
    gi['compute_instances'].append(ci)
    return ci


def destroy_compute_instance(state: live_state.HostState,
                             gpu: live_state.GpuRecord,
                             gi_id: int, ci_id: int) -> None:
    """Destroy a compute instance.

    :raises: GpuOperationRefused NOT_FOUND, or IN_USE when processes or a
        vGPU run on its GPU instance.
    """
    operation = 'destroy compute instance %s/%s' % (gi_id, ci_id)
    gi = _find_gi(state, gpu, gi_id, operation)
    cis = [ci for ci in gi['compute_instances'] if ci['id'] == ci_id]
    if not cis:
        raise _refuse(gpu, operation, NOT_FOUND,
                      'no compute instance %s' % ci_id)
    vgpu = state.vgpu_on_gi(gpu, gi)
    if vgpu is not None:
        raise _refuse(gpu, operation, IN_USE, 'vGPU %s runs on it'
                      % vgpu['uuid'])
    if gi['processes']:
        raise _refuse(gpu, operation, IN_USE, 'processes %s run on it' %
                      ', '.join(str(p) for p in gi['processes']))
    gi['compute_instances'].remove(cis[0])
