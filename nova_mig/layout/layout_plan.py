# SPDX-License-Identifier: Apache-2.0

"""The diff between a host and a layout: steps with reasons, per GPU.

A plan is immutable: a tuple of typed steps (:mod:`nova_mig.layout.step_types`)
per GPU, made by the planner (:mod:`nova_mig.layout.planner`).  A GPU
whose change would destroy something in use (a GPU instance with
processes, a vGPU device referenced by any libvirt domain, running or
merely defined) is refused as a whole: none of its steps run.
"""

import dataclasses
import typing

from nova_mig.layout import gpu_targets
from nova_mig.layout import planner
from nova_mig.layout import spec
from nova_mig.layout import step_types
from nova_mig.model import host_records

#: Why the planner refuses a GPU.
REFUSED = ('the layout needs to destroy what is in use or not nova-mig\'s; '
           'nothing on this GPU is changed')


@dataclasses.dataclass(frozen=True)
class GpuPlan:
    """The steps of one GPU, or why it is refused."""

    target: gpu_targets.GpuTarget
    steps: tuple[step_types.Step, ...]
    #: Why the GPU is refused (something in use), or None.
    refused: str | None = None
    blockers: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        return self.target.gpu.pci_address

    def refuse(self, why: str, blockers: typing.Iterable[str]) -> 'GpuPlan':
        """This GPU's plan, refused with more blockers."""
        return dataclasses.replace(self, refused=why,
                                   blockers=self.blockers + tuple(blockers))


@dataclasses.dataclass(frozen=True)
class Plan:
    hostname: str
    source: str
    gpus: tuple[GpuPlan, ...]
    #: GPUs no layout entry selects: left alone.
    untouched: tuple[str, ...]

    @property
    def steps(self) -> tuple[step_types.Step, ...]:
        return tuple(s for g in self.gpus for s in g.steps)

    @property
    def refused(self) -> tuple[GpuPlan, ...]:
        return tuple(g for g in self.gpus if g.refused)

    @property
    def empty(self) -> bool:
        """True when the host matches the layout."""
        return not self.steps and not self.refused


def _gpu_plan(report: host_records.HostReport, target: gpu_targets.GpuTarget,
              owned: set[str] | None) -> GpuPlan:
    steps, blockers = planner.GpuPlanner(report, target, owned).plan()
    return GpuPlan(target, tuple(steps), REFUSED if blockers else None,
                   tuple(blockers))


def plan(report: host_records.HostReport, layout: spec.Layout,
         sysfs_root: str, owned: set[str] | None = None) -> Plan:
    """Validate ``layout`` against the host and compute the diff.

    :param sysfs_root: the backend's sysfs root (device-mode detection).
    :param owned: the vGPU devices (UUIDs, vendor-VFIO VF addresses)
        nova-mig created; a GPU whose layout needs to remove another,
        even unused, is refused. None removes unused devices whoever made
        them (a drained host, as ``retype`` makes it).
    :raises: :class:`nova_mig.exception.LayoutValidationFailed`
    """
    targets = gpu_targets.resolve(report, layout, sysfs_root)
    selected = {t.gpu.pci_address for t in targets}
    return Plan(
        hostname=report.hostname, source=layout.source,
        gpus=tuple(_gpu_plan(report, t, owned) for t in targets),
        untouched=tuple(g.pci_address for g in report.gpus
                        if g.pci_address not in selected))
