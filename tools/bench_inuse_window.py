# SPDX-License-Identifier: Apache-2.0

"""Measure the check-to-act window of nova-mig's destructive steps.

Between the last in-use read (libvirt, read after the process table) and
the write that destroys the target, a guest could still be defined: that
is the window that remains.  This runs ``layout apply`` and ``reap
--apply`` on a simulated host (the a100-mixed example: GPU 0000:81:00.0
goes from 4g.40gb + 3g.40gb with an unused vGPU and 20 VFs to one 7g.80gb
with 16 VFs: a vGPU removal, compute and GPU instance destructions and a
VF-count change; the reaper removes the same vGPU), ``--runs`` times each,
with the real ``/proc`` scanned, and prints per kind of step the time from
the end of the last check to the start of the write (median, 95th
percentile, maximum), and how long the check itself took.

    python tools/bench_inuse_window.py --runs 20

The simulated write stands in for the kernel's: what is measured is
nova-mig's own code between the two, which a real host runs the same.
"""

import argparse
import collections
import os
import statistics
import sys
import tempfile
import time
from unittest import mock

from oslo_config import cfg

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import inuse
from nova_mig.layout import layout_apply
from nova_mig.layout import schema
from nova_mig.reaper import reaper_run
from nova_mig.simulator import backend as simulated
from nova_mig.simulator import kernel

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = os.path.join(REPO, 'etc', 'nova-mig', 'hosts', 'a100-mixed.yaml')
GPU81 = '0000:81:00.0'
LAYOUT = {'version': 1, 'gpus': [
    {'select': {'pci_address': GPU81}, 'mig': 'enabled', 'sriov_vfs': 16,
     'gpu_instances': [{'profile': '7g.80gb', 'placement': 0,
                        'vgpu': False}]}]}


class Clock:
    """Stamps the end of each check and the start of each write."""

    def __init__(self):
        self.checked: float | None = None
        self.check_took: list[float] = []
        self.windows: dict[str, list[float]] = collections.defaultdict(list)

    def after_check(self, started: float) -> None:
        self.checked = time.perf_counter()
        self.check_took.append(self.checked - started)

    def write(self, kind: str) -> None:
        now = time.perf_counter()
        if self.checked is not None:
            self.windows[kind].append(now - self.checked)
            self.checked = None


def _kind(path: str, value: str) -> str | None:
    """The destructive write a sysfs write is, or None."""
    name = os.path.basename(path)
    if name == 'remove':
        return 'remove an mdev (sysfs remove)'
    if name == 'sriov_numvfs' and value == '0':
        return 'VF-count change (sriov_numvfs = 0)'
    if name == 'current_vgpu_type' and value == '0':
        return 'remove a vendor-VFIO vGPU (current_vgpu_type = 0)'
    return None


def instrumented(clock: Clock):
    real_check_all = inuse.Checker.check_all
    real_write = kernel.SysfsWriter.write
    real_gi = simulated.SimulatedBackend.destroy_gpu_instance
    real_ci = simulated.SimulatedBackend.destroy_compute_instance

    def check_all(checker, targets, going=frozenset()):
        started = time.perf_counter()
        try:
            return real_check_all(checker, targets, going)
        finally:
            clock.after_check(started)

    def write(writer, path, value):
        kind = _kind(path, value)
        if kind:
            clock.write(kind)
        return real_write(writer, path, value)

    def destroy_gi(backend, *args):
        clock.write('destroy a GPU instance (NVML)')
        return real_gi(backend, *args)

    def destroy_ci(backend, *args):
        clock.write('destroy a compute instance (NVML)')
        return real_ci(backend, *args)

    return [mock.patch.object(inuse.Checker, 'check_all', check_all),
            mock.patch.object(kernel.SysfsWriter, 'write', write),
            mock.patch.object(simulated.SimulatedBackend,
                              'destroy_gpu_instance', destroy_gi),
            mock.patch.object(simulated.SimulatedBackend,
                              'destroy_compute_instance', destroy_ci)]


def make_conf(state_dir: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf([], project='nova-mig', default_config_files=[])
    conf.set_override('backend', 'simulated', group='gpu')
    conf.set_override('host_file', HOST, group='simulator')
    conf.set_override('state_dir', state_dir, group='host')
    conf.set_override('grace_period', 0, group='reaper')
    conf.set_override('nova_config_files', [], group='reaper')
    conf.set_override('config_snippet', os.path.join(state_dir, 'none'),
                      group='nova')
    return conf


def one_run(work: str, clock: Clock) -> None:
    layout = schema.parse(LAYOUT, "bench")
    conf = make_conf(os.path.join(work, 'apply'))
    result = layout_apply.apply(gpu.load_backend(conf), conf, layout,
                                include_foreign=True)
    if not result.ok:
        sys.exit('layout apply failed: %s' % '; '.join(
            '%s %s %s' % (g.gpu, g.status, g.detail) for g in result.gpus))
    conf = make_conf(os.path.join(work, 'reap'))
    policy = reaper_run.policy_from(conf, all_unassigned=True,
                                    include_foreign=True,
                                    skip_placement_check=True)
    reaped = reaper_run.Reaper(conf, gpu.load_backend(conf),
                               policy).run(apply=True)
    if not reaped.removed():
        sys.exit('reap removed nothing: %s' % reaped.notes)


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return '%7.3f %7.3f %7.3f' % (statistics.median(values) * 1e3,
                                  p95 * 1e3, values[-1] * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=20)
    args = parser.parse_args()
    clock = Clock()
    patches = instrumented(clock)
    for patch in patches:
        patch.start()
    try:
        for n in range(args.runs):
            with tempfile.TemporaryDirectory() as work:
                one_run(work, clock)
    finally:
        for patch in patches:
            patch.stop()
    processes = len([e for e in os.listdir('/proc') if e.isdigit()])
    print('check-to-act window over %d runs (/proc with %d processes, '
          'euid %d), ms:' % (args.runs, processes, os.geteuid()))
    print('%-52s %7s %7s %7s %5s' % ('step', 'median', 'p95', 'max', 'n'))
    for kind in sorted(clock.windows):
        values = clock.windows[kind]
        print('%-52s %s %5d' % (kind, ms(values), len(values)))
    print('%-52s %s %5d' % ('(the check itself: sysfs, NVML, /proc, '
                            'libvirt)', ms(clock.check_took),
                            len(clock.check_took)))


if __name__ == '__main__':
    main()
