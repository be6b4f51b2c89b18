# SPDX-License-Identifier: Apache-2.0

"""The plan's proof: every target a GPU's plan destroys, proved free.

All or nothing per GPU (see :mod:`nova_mig.layout.layout_apply`): the targets
of every destructive step of a GPU (vGPU devices, compute and GPU instances,
every VF a VF-count change removes) are proved free by the one in-use verdict
(:class:`nova_mig.host.inuse.Checker`) once the plan is made, again right
before the GPU's first step, and each right before its own step. After a
removal, a domain that references the removed device is reported with the fix
(:func:`lost_line`).
"""

import dataclasses
import logging

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.layout import layout_plan
from nova_mig.layout import step_types
from nova_mig.model import host_records

LOG = logging.getLogger(__name__)

#: Why the proof refuses a GPU.
IN_USE = ('the layout needs to destroy what is in use; nothing on this GPU '
          'is changed')


def checker(backend: backend_api.GpuBackend, conf: cfg.ConfigOpts,
            skip_handle_check: bool = False) -> inuse.Checker:
    """The in-use check of every destructive path, ``[reaper]``'s roots.

    :param skip_handle_check: go on when the open handles cannot be read
        (``--skip-handle-check``); otherwise nothing is destroyed then.
    """
    return inuse.Checker(backend, conf.reaper.proc_root,
                         conf.reaper.dev_root, strict=not skip_handle_check)


def plan_targets(reader: sysfs.SysfsReader, gplan: layout_plan.GpuPlan
                 ) -> tuple[list[inuse.Target], set[str]]:
    """Every target a GPU's plan destroys, and the vGPUs it removes first.

    :returns: (targets, the keys of the vGPU devices the plan removes:
        a GPU instance carrying only those is free once they are gone).
    """
    targets: list[inuse.Target] = []
    for step in gplan.steps:
        targets += [t for t in step.destroys(reader) if t not in targets]
    going = {key for step in gplan.steps for key in step.removes()}
    return targets, going


def prove(checker: inuse.Checker, reader: sysfs.SysfsReader,
          the_plan: layout_plan.Plan) -> layout_plan.Plan:
    """The plan's proof: refuse whole each GPU with a used target.

    Reads the open handles, the GPU instances' processes and libvirt for
    every target of every GPU not refused already; a used one adds its
    holder, and when it was seen, to the GPU's blockers.

    :returns: the plan with those GPUs refused.
    """
    gpus = []
    for gplan in the_plan.gpus:
        if not gplan.refused:
            targets, going = plan_targets(reader, gplan)
            blockers = checker.prove(targets, going)
            if blockers:
                gplan = gplan.refuse(IN_USE, blockers)
        gpus.append(gplan)
    return dataclasses.replace(the_plan, gpus=tuple(gpus))


def reprove(checker: inuse.Checker, reader: sysfs.SysfsReader,
            gplan: layout_plan.GpuPlan) -> str | None:
    """The whole set again, right before a GPU's first step.

    :returns: why the GPU stops (nothing done on it), or None.
    """
    targets, going = plan_targets(reader, gplan)
    try:
        checker.require_free(*targets, going=going)
    except exception.TargetInUse as e:
        LOG.error('GPU %s: %s', gplan.address, e)
        return str(e)
    return None


def look_after(checker: inuse.Checker, step: step_types.Step,
               targets: list[inuse.Target]) -> list[str]:
    """Look once more after a removal: a domain now referencing it.

    A guest defined between the last check and the write lost its device:
    one line per such domain, with the fix.
    """
    if not step.looked_after:
        return []
    lines = [lost_line(domain, target, step) for target in targets
             for domain in checker.referencing_now(target)]
    for line in lines:
        LOG.error('%s', line)
    return lines


def lost_line(domain: str, target: inuse.Target, step: step_types.Step) -> str:
    """A domain referencing a device just removed, with the fix."""
    name = domain.split(' (')[0]
    return ('domain %s references %s, removed right after its last check '
            '(defined in between): %s, or remove the device from the guest '
            '(virsh edit %s)' % (domain, target.describe(),
                                 step.lost_fix(target), name))


def gpu_users(report: host_records.HostReport, address: str) -> list[str]:
    """What keeps a GPU from being reset: instances, vGPUs, guests."""
    gpu = report.gpu_by_address(address)
    users = []
    if gpu is not None:
        users += ['GPU instance %d' % gi.id for gi in gpu.gpu_instances]
        users += ['vGPU %s' % (v.mdev_uuid or v.type_id)
                  for v in gpu.active_vgpus]
    users += ['vGPU device %s' % (d['uuid'] or d['parent'])
              for d in report.vgpu_devices() if d['gpu'] == address]
    pf = report.sriov.get(address)
    functions = {address, *(pf.vfs if pf else ())}
    users += ['domain %s' % d.name for d in report.domains
              if d.state in ('running', 'paused') and
              functions & set(d.pci_addresses)]
    return users
