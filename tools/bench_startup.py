#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Measure nova-mig's start-up budget: whole processes, as a user runs them.

Two budgets (issue 23), each a new process timed from start to exit:

* ``nova-mig --help``: under 0.3 s;
* ``nova-mig discover -f json`` of an 8-GPU simulated host (default: the
  8x H100 SXM5 example): under 0.5 s.

For each it reports the wall time (min / median / max over the runs) and
the CPU time the process used (user + system, from ``wait4``): on a
loaded machine the wall time grows with the other work, the CPU time much
less. The load average before and after goes with the numbers. The budget
is kept on the median wall time; the exit status is 1 when a median is
over its budget (``--no-fail`` reports only). Usage::

    .venv/bin/python tools/bench_startup.py [--host-file F] [--runs N]
"""

import argparse
import compileall
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_discover  # tools/, the script's own directory

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
DEFAULT_HOST = os.path.join(TOP, 'etc', 'nova-mig', 'hosts',
                            'h100-sxm5-8x.yaml')
BUDGETS = {'help': 0.3, 'discover': 0.5}


def timed(command: list[str]) -> tuple[float, float]:
    """Run ``command`` (stdout discarded); its wall and CPU seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit('%s exited %d' % (' '.join(command),
                                           proc.returncode))
    return wall, usage.ru_utime + usage.ru_stime


def _stats(samples: list[float]) -> dict[str, float]:
    return {'min': min(samples), 'median': statistics.median(samples),
            'max': max(samples)}


def measure(command: list[str], runs: int) -> dict[str, dict[str, float]]:
    """Wall and CPU seconds of ``runs`` runs, after one untimed run."""
    timed(command)  # warm: byte code, the page cache, the simulator's
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = timed(command)
        walls.append(wall)
        cpus.append(cpu)
    return {'wall': _stats(walls), 'cpu': _stats(cpus)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host-file', default=DEFAULT_HOST)
    parser.add_argument('--runs', type=int, default=10)
    parser.add_argument('--json', action='store_true',
                        help='print the results as JSON')
    parser.add_argument('--no-fail', action='store_true',
                        help='exit 0 even when a budget is exceeded')
    args = parser.parse_args()
    nova_mig = os.path.join(os.path.dirname(sys.executable), 'nova-mig')
    # As an installed package is: byte-compiled.
    compileall.compile_dir(os.path.join(TOP, 'nova_mig'), quiet=1)
    work = tempfile.mkdtemp(prefix='nova-mig-startup-')
    load_before = os.getloadavg()
    try:
        conf_file = bench_discover.simulated_conf(work, args.host_file)
        results = {
            'help': measure([nova_mig, '--help'], args.runs),
            'discover': measure([nova_mig, '--config-file', conf_file,
                                 'discover', '-f', 'json'], args.runs),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        'host_file': os.path.relpath(args.host_file, TOP),
        'cpus': os.cpu_count(),
        'load_average_before': load_before,
        'load_average_after': os.getloadavg(),
        'max_rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        'runs': args.runs,
        'budgets': BUDGETS,
        'results': results,
    }
    over = [name for name, budget in BUDGETS.items()
            if results[name]['wall']['median'] > budget]
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print('host: %s; %d CPUs; load average %s before, %s after' % (
            report['host_file'], report['cpus'],
            ' '.join('%.2f' % v for v in load_before),
            ' '.join('%.2f' % v for v in report['load_average_after'])))
        for name, budget in BUDGETS.items():
            r = results[name]
            print('%-9s wall %.3f / %.3f / %.3f s (min/median/max), '
                  'CPU median %.3f s, budget %.1f s: %s' % (
                      name, r['wall']['min'], r['wall']['median'],
                      r['wall']['max'], r['cpu']['median'], budget,
                      'over' if name in over else 'within'))
    return 1 if over and not args.no_fail else 0


if __name__ == '__main__':
    sys.exit(main())
