# SPDX-License-Identifier: Apache-2.0

"""The plan's proof: every target a GPU's plan destroys, proved free.

All or nothing per GPU (see :mod:`nova_mig.layout.apply`): the targets of
every destructive action of a GPU (vGPU devices, compute and GPU
instances, every VF a VF-count change removes) are proved free by the one
in-use verdict (:class:`nova_mig.host.inuse.Checker`) once the plan is
made, again right before the GPU's first step, and each right before its
own step.  After a removal, a domain that references the removed device
is reported with the fix (:func:`lost_line`).
"""

import logging
import os

from oslo_config import cfg

from nova_mig import exception
from nova_mig.gpu import base
from nova_mig.host import inuse
from nova_mig.host import sysfs
from nova_mig.layout import plan as plan_mod
from nova_mig.model import host as host_model

LOG = logging.getLogger(__name__)

#: Actions whose targets are destroyed (proved at plan time).
DESTRUCTIVE = (plan_mod.REMOVE_VGPU, plan_mod.DESTROY_CI, plan_mod.DESTROY_GI,
               plan_mod.SET_NUMVFS)


def _planned(value: str | None) -> str:
    """A field the plan always sets for the kind of action at hand."""
    if value is None:  # pragma: no cover - the plan sets it
        raise AssertionError('incomplete layout plan action')
    return value


def checker(backend: base.GpuBackend, conf: cfg.ConfigOpts,
            skip_handle_check: bool = False) -> inuse.Checker:
    """The in-use check of every destructive path, ``[reaper]``'s roots.

    :param skip_handle_check: go on when the open handles cannot be read
        (``--skip-handle-check``); otherwise nothing is destroyed then.
    """
    return inuse.Checker(backend, conf.reaper.proc_root,
                         conf.reaper.dev_root, strict=not skip_handle_check)


def destroyed(root: str, action: plan_mod.Action) -> list[inuse.Target]:
    """What a destructive action destroys, read from sysfs now.

    A VF-count change (``sriov_numvfs`` to 0) destroys every VF of the GPU,
    also one without a vGPU that a guest references.
    """
    kind = action.kind
    if kind == plan_mod.REMOVE_VGPU:
        if action.vendor_vfio:
            return [inuse.Target(inuse.FUNCTION, _planned(action.parent))]
        return [inuse.Target(inuse.MDEV, _planned(action.uuid))]
    if kind in (plan_mod.DESTROY_CI, plan_mod.DESTROY_GI):
        return [inuse.Target(inuse.GPU_INSTANCE, action.gpu_uuid,
                             gi_id=action.gi_id)]
    if kind == plan_mod.SET_NUMVFS and action.count == 0:
        reader = sysfs.SysfsReader(root)
        pf = os.path.join(root, sysfs.PCI_DEVICES, action.gpu)
        return [inuse.Target(inuse.FUNCTION, name,
                             role='removed by the VF-count change')
                for name in (reader.link_name(os.path.join(pf, entry))
                             for entry in reader.listdir(pf)
                             if entry.startswith('virtfn'))
                if name]
    return []


def plan_targets(root: str, gplan: plan_mod.GpuPlan
                 ) -> tuple[list[inuse.Target], set[str]]:
    """Every target a GPU's plan destroys, and the vGPUs it removes first.

    :returns: (targets, the keys of the vGPU devices the plan removes:
        a GPU instance carrying only those is free once they are gone).
    """
    targets: list[inuse.Target] = []
    for action in gplan.actions:
        if action.kind in DESTRUCTIVE:
            targets += [t for t in destroyed(root, action)
                        if t not in targets]
    going = {key for a in gplan.actions if a.kind == plan_mod.REMOVE_VGPU
             for key in (a.uuid, a.parent) if key}
    return targets, going


def prove(checker: inuse.Checker, root: str, the_plan: plan_mod.Plan
          ) -> None:
    """The plan's proof: refuse whole each GPU with a used target.

    Reads the open handles, the GPU instances' processes and libvirt for
    every target of every GPU not refused already; a used one adds its
    holder, and when it was seen, to the GPU's blockers.
    """
    for gplan in the_plan.gpus:
        if gplan.refused:
            continue
        targets, going = plan_targets(root, gplan)
        blockers = checker.prove(targets, going)
        if blockers:
            gplan.blockers += blockers
            gplan.refused = ('the layout needs to destroy what is in use; '
                             'nothing on this GPU is changed')


def reprove(checker: inuse.Checker, root: str, gplan: plan_mod.GpuPlan
            ) -> str | None:
    """The whole set again, right before a GPU's first step.

    :returns: why the GPU stops (nothing done on it), or None.
    """
    targets, going = plan_targets(root, gplan)
    try:
        checker.require_free(*targets, going=going)
    except exception.TargetInUse as e:
        LOG.error('GPU %s: %s', gplan.address, e)
        return str(e)
    return None


def look_after(checker: inuse.Checker, action: plan_mod.Action,
               targets: list[inuse.Target]) -> list[str]:
    """Look once more after a removal: a domain now referencing it.

    A guest defined between the last check and the write lost its device:
    one line per such domain, with the fix.
    """
    if action.kind not in (plan_mod.REMOVE_VGPU, plan_mod.SET_NUMVFS):
        return []
    lines = [lost_line(domain, target, action) for target in targets
             for domain in checker.referencing_now(target)]
    for line in lines:
        LOG.error('%s', line)
    return lines


def lost_line(domain: str, target: inuse.Target,
              action: plan_mod.Action) -> str:
    """A domain referencing a device just removed, with the fix."""
    name = domain.split(' (')[0]
    if target.kind == inuse.MDEV:
        fix = ('re-create it with the same UUID before the guest starts '
               '(mdevctl start -u %s -p %s -t <nvidia-N of %s>, or "nova-mig '
               'layout apply" of a layout that keeps it)' % (
                   target.key, action.parent, action.type_name))
    elif action.kind == plan_mod.SET_NUMVFS:
        fix = ('enable the VFs again ("nova-mig layout apply" of a layout '
               'with the previous sriov_vfs)')
    else:
        fix = ('set its vGPU type again before the guest starts (echo '
               '<type id of %s> > /sys/bus/pci/devices/%s/nvidia/'
               'current_vgpu_type)' % (action.type_name, target.key))
    return ('domain %s references %s, removed right after its last check '
            '(defined in between): %s, or remove the device from the guest '
            '(virsh edit %s)' % (domain, target.describe(), fix, name))


def gpu_users(report: host_model.HostReport, address: str) -> list[str]:
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
