# SPDX-License-Identifier: Apache-2.0

"""The metrics of one compute host, from its discover report.

:func:`registry` turns the JSON document of ``nova-mig discover`` (and
what the caller found about orphans and the layout checkpoint) into a
``prometheus_client`` registry; nothing here reads the host. Every metric
carries the ``host`` label, the hostname Nova and Placement know.
"""

import collections
import dataclasses
import typing

from prometheus_client import core

#: The values of ``nova_mig_gpu_slice_state``: the slice map of a GPU.
SLICE_FREE = 0
SLICE_NO_VGPU = 1
SLICE_IDLE_VGPU = 2
SLICE_IN_USE = 3
SLICE_STATES = {SLICE_FREE: 'free', SLICE_NO_VGPU: 'GPU instance, no vGPU',
                SLICE_IDLE_VGPU: 'vGPU, no guest', SLICE_IN_USE: 'in use'}


@dataclasses.dataclass
class Extra:
    """What the caller found beside the report.

    ``None`` means it could not be found out; the metric is then left out
    and ``nova_mig_host_collector_success`` says so.
    """

    #: vGPU type -> devices no guest uses whose type Nova no longer
    #: enables (the reaper's orphans).
    orphans: dict[str, int] | None = None
    #: Devices "nova-mig reap" would remove now.
    removable: int | None = None
    #: When the layout checkpoint was written (epoch seconds); 0: never.
    checkpoint_time: float | None = None
    #: GPU address -> actions needed to bring it back to the checkpoint.
    drift: dict[str, int] | None = None
    #: collector -> one-line reason it failed.
    failures: dict[str, str] = dataclasses.field(default_factory=dict)


#: A discover document (``nova-mig discover -f json``) or one of its parts,
#: as :meth:`nova_mig.model.host_records.HostReport.as_dict` makes it: JSON.
Json = dict[str, typing.Any]


def slice_states(gpu: Json) -> list[tuple[int, str, int]]:
    """(slice, profile, state) of every memory slice of ``gpu``."""
    slices = [(i, '', SLICE_FREE) for i in range(gpu['memory_slices'])]
    for gi in gpu['gpu_instances']:
        state = (SLICE_IN_USE if gi['in_use'] else
                 SLICE_IDLE_VGPU if gi.get('vgpu_devices') or
                 gi.get('vgpu_device') else SLICE_NO_VGPU)
        start = gi['placement_start']
        for i in range(start, start + gi['placement_size']):
            if i < len(slices):
                slices[i] = (i, gi['profile'], state)
    return slices


def _gauge(name: str, text: str, labels: tuple[str, ...]
           ) -> core.GaugeMetricFamily:
    return core.GaugeMetricFamily(name, text, labels=('host',) + labels)


class _Collector:
    """A one-shot collector over one report."""

    def __init__(self, report: Json, extra: Extra) -> None:
        self.report = report
        self.extra = extra

    def describe(self) -> list[core.Metric]:
        return []

    def collect(self) -> list[core.GaugeMetricFamily]:
        host = self.report['hostname']
        return (self._gpus(host) + self._devices(host) +
                self._extra(host))

    def _gpus(self, host: str) -> list[core.GaugeMetricFamily]:
        gpus = _gauge('nova_mig_gpus', 'GPUs of the host, per model.',
                      ('model',))
        mig = _gauge('nova_mig_gpu_mig_enabled',
                     'Whether MIG mode is enabled on the GPU (1) or not (0).',
                     ('gpu', 'model'))
        pending = _gauge('nova_mig_gpu_mig_change_pending',
                         'Whether the GPU waits for a reset to change its '
                         'MIG mode.', ('gpu', 'model'))
        slices = _gauge('nova_mig_gpu_memory_slices',
                        'Memory slices of the GPU (0 without MIG).',
                        ('gpu', 'model'))
        instances = _gauge('nova_mig_gpu_instances',
                           'GPU instances per profile.',
                           ('gpu', 'model', 'profile'))
        in_use = _gauge('nova_mig_gpu_instances_in_use',
                        'GPU instances per profile whose vGPU a guest uses '
                        '(or that run processes).',
                        ('gpu', 'model', 'profile'))
        state = _gauge('nova_mig_gpu_slice_state',
                       'The slice map: per memory slice, 0 free, 1 GPU '
                       'instance without vGPU, 2 vGPU without guest, 3 in '
                       'use; profile is the GPU instance\'s.',
                       ('gpu', 'model', 'slice', 'profile'))
        per_model: collections.Counter[str] = collections.Counter()
        for gpu in self.report['gpus']:
            labels = (host, gpu['pci_address'], gpu['model'])
            per_model[gpu['model']] += 1
            mig.add_metric(labels, 1 if gpu['mig_mode'] == 'enabled' else 0)
            pending.add_metric(labels, 0 if gpu.get('mig_pending') in (
                None, gpu['mig_mode']) else 1)
            slices.add_metric(labels, gpu.get('memory_slices') or 0)
            counts: collections.Counter[str] = collections.Counter()
            used: collections.Counter[str] = collections.Counter()
            for gi in gpu['gpu_instances']:
                counts[gi['profile']] += 1
                used[gi['profile']] += 1 if gi['in_use'] else 0
            for profile in sorted(counts):
                instances.add_metric(labels + (profile,), counts[profile])
                in_use.add_metric(labels + (profile,), used[profile])
            if gpu.get('memory_slices'):
                for index, profile, value in slice_states(gpu):
                    state.add_metric(labels + (str(index), profile), value)
        for model in sorted(per_model):
            gpus.add_metric((host, model), per_model[model])
        return [gpus, mig, pending, slices, instances, in_use, state]

    def _devices(self, host: str) -> list[core.GaugeMetricFamily]:
        devices = _gauge('nova_mig_vgpu_devices',
                         'vGPU devices per type and state (in_guest: a '
                         'libvirt domain uses it; no_guest: none does).',
                         ('gpu', 'type', 'type_name', 'profile', 'state'))
        counts: collections.Counter[tuple[str, ...]] = collections.Counter()
        for dev in self.report['vgpu_devices']:
            counts[(dev['gpu'], dev['type'], dev.get('type_name') or '',
                    dev.get('profile') or '',
                    'in_guest' if dev.get('domain') else 'no_guest')] += 1
        for key in sorted(counts):
            devices.add_metric((host,) + key, counts[key])
        return [devices]

    def _extra(self, host: str) -> list[core.GaugeMetricFamily]:
        extra = self.extra
        out = []
        if extra.orphans is not None:
            orphans = _gauge('nova_mig_vgpu_orphans',
                             'vGPU devices no guest uses whose type Nova no '
                             'longer enables, per type.', ('type',))
            for type_id in sorted(extra.orphans):
                orphans.add_metric((host, type_id), extra.orphans[type_id])
            out.append(orphans)
        if extra.removable is not None:
            removable = _gauge('nova_mig_vgpu_removable',
                               'vGPU devices "nova-mig reap --apply" would '
                               'remove now.', ())
            removable.add_metric((host,), extra.removable)
            out.append(removable)
        if extra.checkpoint_time is not None:
            when = _gauge('nova_mig_layout_checkpoint_timestamp_seconds',
                          'When the last layout apply wrote its checkpoint '
                          '(0: never).', ())
            when.add_metric((host,), extra.checkpoint_time)
            out.append(when)
        if extra.drift is not None:
            drift = _gauge('nova_mig_layout_drift_actions',
                           'Actions needed to bring the GPU back to the '
                           'last applied layout (0: as applied).', ('gpu',))
            for address in sorted(extra.drift):
                drift.add_metric((host, address), extra.drift[address])
            out.append(drift)
        success = _gauge('nova_mig_host_collector_success',
                         'Whether a part of the host metrics could be '
                         'collected (1) or not (0).', ('collector',))
        for name in ('orphans', 'checkpoint'):
            success.add_metric((host, name),
                               0 if name in extra.failures else 1)
        out.append(success)
        return out


def registry(report: Json, extra: Extra | None = None
             ) -> core.CollectorRegistry:
    """A registry holding the host's metrics, to expose or write."""
    reg = core.CollectorRegistry(auto_describe=False)
    reg.register(_Collector(report, extra or Extra()))
    return reg
