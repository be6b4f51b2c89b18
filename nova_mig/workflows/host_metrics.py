# SPDX-License-Identifier: Apache-2.0

"""This host's metrics for node_exporter, collected in one call.

:func:`collect` is what ``nova-mig metrics`` runs: it discovers the host
with the reaper's facts (devices, guests, enabled types; no Placement),
counts the orphans and what the reaper would remove now, compares the
host with the last layout checkpoint, and returns the registry of
:mod:`nova_mig.metrics.host_gauges`. A part that cannot be collected is left
out and named in the registry's collector-success metric.
"""

import datetime
import json
import logging

from oslo_config import cfg
from prometheus_client import core

from nova_mig import exception
from nova_mig.gpu import backend_api
from nova_mig.layout import checkpoint
from nova_mig.layout import layout_plan
from nova_mig.metrics import host_gauges
from nova_mig.model import host_records
from nova_mig.reaper import decide
from nova_mig.reaper import evidence

LOG = logging.getLogger(__name__)


def collect(conf: cfg.ConfigOpts,
            backend: backend_api.GpuBackend) -> core.CollectorRegistry:
    """The host's MIG and vGPU metrics; changes nothing on the host."""
    gathered = evidence.Gatherer(conf, backend, placement=False).gather()
    report = gathered.report
    extra = host_gauges.Extra()
    _orphans(extra, gathered.devices)
    _checkpoint(extra, conf, report, backend.sysfs_root())
    return host_gauges.registry(report.as_dict(), extra)


def _orphans(extra: host_gauges.Extra,
             devices: list[decide.DeviceFacts]) -> None:
    """Orphans by type, and what the reaper would remove now.

    An orphan is a vGPU device no guest uses whose type Nova's
    configuration no longer enables; without that configuration none can
    be told apart, and the collector is marked failed.
    """
    unknown = [d for d in devices if d.type_enabled is None]
    if unknown:
        extra.failures['orphans'] = ('enabled types unknown: %s'
                                     % (unknown[0].type_note or
                                        'not checked'))
        LOG.warning('Orphans not counted: %s', extra.failures['orphans'])
        return
    orphans: dict[str, int] = {}
    for dev in devices:
        if not dev.domains and dev.type_enabled is False:
            orphans[dev.type_id] = orphans.get(dev.type_id, 0) + 1
    extra.orphans = orphans
    policy = decide.Policy(skip_placement_check=True)
    extra.removable = sum(1 for d in decide.decide(devices, policy)
                          if d.remove)


def _checkpoint(extra: host_gauges.Extra, conf: cfg.ConfigOpts,
                report: host_records.HostReport, sysfs_root: str) -> None:
    """When the last apply wrote its checkpoint; how far each GPU is."""
    try:
        layout = checkpoint.load(conf.host.state_dir)
        if layout is None:
            extra.checkpoint_time = 0
            return
        with open(checkpoint.path(conf.host.state_dir),
                  encoding='utf-8') as stream:
            saved = json.load(stream).get('saved_at')
        extra.checkpoint_time = (
            datetime.datetime.fromisoformat(saved).timestamp()
            if isinstance(saved, str) else 0)
        the_plan = layout_plan.plan(report, layout, sysfs_root, owned=None)
    except (exception.NovaMigException, OSError, ValueError) as e:
        extra.failures['checkpoint'] = str(e).splitlines()[0]
        extra.checkpoint_time = None
        LOG.warning('Layout checkpoint not compared: %s',
                    extra.failures['checkpoint'])
        return
    extra.drift = {g.address: len(g.steps) + (1 if g.refused else 0)
                   for g in the_plan.gpus}
