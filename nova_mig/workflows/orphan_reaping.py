# SPDX-License-Identifier: Apache-2.0

"""``nova-mig reap`` as one call: locks, queue, embedded cloud, a run.

:func:`reap` builds the reaper's policy from the options, takes the
devices the libvirt hook queued (``--queued``), chooses where the
allocations and the nova-compute service are read (``[placement]``'s
cloud, or the embedded cloud when ``[placement_sync]embedded`` is chosen
explicitly), and runs the reaper: a dry run reads only; ``apply`` takes
the workflow lock and the host lock, refuses while nova-compute is
enabled (unless forced) and empties the queue when it succeeded. The
command parses, calls it and renders the outcomes.
"""

import contextlib
import dataclasses
import typing

from oslo_config import cfg

from nova_mig.gpu import backend_api
from nova_mig import lock
from nova_mig.model import host_records
from nova_mig.reaper import decide
from nova_mig.reaper import queue
from nova_mig.reaper import reaper_run
from nova_mig.workflows import compute_service


@dataclasses.dataclass(frozen=True)
class Request:
    """What ``nova-mig reap`` was asked, as its options say."""

    #: Remove the removable devices (False: decide and report only).
    apply: bool = False
    #: Only the devices the libvirt hook queued.
    queued: bool = False
    #: Fail at once when another command holds a lock.
    no_wait: bool = False
    #: Remove even while the nova-compute service is enabled.
    force_with_enabled_service: bool = False
    all_unassigned: bool = False
    include_foreign: bool = False
    skip_placement_check: bool = False
    skip_handle_check: bool = False


def _embedded_cloud(conf: cfg.ConfigOpts, stack: contextlib.ExitStack[
                    bool | None], backend: backend_api.GpuBackend,
                    policy: decide.Policy
                    ) -> tuple[reaper_run.FactSource | None, typing.Any]:
    """The facts gatherer and Compute API of the embedded cloud.

    With ``[placement_sync]embedded`` chosen, the allocations are read
    from the embedded Placement (seeded with the host's providers and its
    instances' allocations) and the nova-compute service from the
    embedded cloud's records; (None, None) otherwise: the reaper then
    uses ``[placement]``.
    """
    # Only when chosen explicitly: an unconfigured host must not get its
    # service check answered by a simulated cloud.
    connect_compute = compute_service.embedded_compute(conf)
    if connect_compute is None:
        return None, None
    from nova_mig.host import discovery
    from nova_mig.novaconf import type_plan
    from nova_mig.placement import connect
    from nova_mig.reaper import evidence
    conn: typing.Any = connect_compute(conf)
    if policy.skip_placement_check:
        return None, conn
    config = type_plan.build(conf, discovery.discover(backend))
    client = stack.enter_context(connect.placement(conf, config))
    return evidence.Gatherer(conf, backend, placement=client), conn


def reap(conf: cfg.ConfigOpts,
         backend: typing.Callable[[], backend_api.GpuBackend],
         request: Request) -> reaper_run.RunResult:
    """Decide every vGPU device; with ``request.apply``, remove orphans.

    :param backend: builds the GPU backend (after the queue is read).
    :raises: :class:`nova_mig.exception.LockHeld` with ``no_wait``, the
        service guard's refusal, and the discovery errors, before
        anything was removed.
    """
    policy = reaper_run.policy_from(
        conf, all_unassigned=request.all_unassigned,
        include_foreign=request.include_foreign,
        skip_placement_check=request.skip_placement_check,
        skip_handle_check=request.skip_handle_check)
    only = None
    taken = None
    if request.queued:
        taken = queue.Queue(conf.host.state_dir)
        only = taken.take() if request.apply else taken.peek()
    with contextlib.ExitStack() as stack:
        the_backend = backend()
        gatherer, conn = _embedded_cloud(conf, stack, the_backend, policy)
        reaper = reaper_run.Reaper(conf, the_backend, policy,
                                   gatherer=gatherer, only=only)
        if not request.apply:
            return reaper.run(apply=False)

        def guard(report: host_records.HostReport) -> None:
            compute_service.guard_apply(
                conf, report.hostname,
                force=request.force_with_enabled_service, conn=conn)

        stack.enter_context(lock.workflow_lock(conf,
                                               wait=not request.no_wait))
        with lock.host_lock(conf, wait=not request.no_wait):
            result = reaper.run(apply=True, guard=guard)
        if taken is not None and not result.failed:
            taken.finish()
        return result
