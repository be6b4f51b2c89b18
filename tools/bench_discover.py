#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Benchmark ``nova-mig discover`` on a simulated host.

Measures, on the given host file (default: the 8x H100 SXM5 example):

* the in-process scan (``discovery.discover(backend).as_dict()``), warm,
  repeated, reporting min / median / max;
* the whole command ``nova-mig discover -f json`` as a new process,
  repeated, reporting min / median / max wall time;
* peak memory: Python allocations during one in-process scan
  (tracemalloc) and the maximum resident set size of the whole command;
* ``nova-mig --help`` as a new process;
* side by side, ``mdevctl types`` + ``mdevctl list`` reading the same
  simulated sysfs tree, bind-mounted on /sys in a private mount namespace
  (``unshare -m``: only as root, with mdevctl installed, e.g. ``bindep -b
  bench``), and the ratio of the two medians.

It is a benchmark, not a test: it prints numbers and compares them with the
targets (scan under 0.3 s in-process, whole command under 0.4 s, help
under 0.3 s) without failing; the load average goes with them, as other
work on the machine inflates every figure. Usage::

    .venv/bin/python tools/bench_discover.py [--host-file F] [--runs N]
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
import tracemalloc

from oslo_config import cfg

import nova_mig
import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_HOST = os.path.join(HERE, '..', 'etc', 'nova-mig', 'hosts',
                            'h100-sxm5-8x.yaml')
SCAN_TARGET = 0.3
COMMAND_TARGET = 0.4
HELP_TARGET = 0.3


def simulated_conf(work: str, host_file: str) -> str:
    """nova-mig.conf of the simulated host ``host_file``, state in ``work``."""
    conf_file = os.path.join(work, 'nova-mig.conf')
    with open(conf_file, 'w') as f:
        f.write('[gpu]\nbackend = simulated\n'
                '[host]\nstate_dir = %s\n'
                '[simulator]\nhost_file = %s\n'
                % (os.path.join(work, 'state'), os.path.abspath(host_file)))
    return conf_file


def _stats(samples):
    return {'min': min(samples), 'median': statistics.median(samples),
            'max': max(samples), 'runs': len(samples)}


# Runs inside the private mount namespace: bind the simulated tree on /sys
# and time each "mdevctl types; mdevctl list" pair, one line per run.
_MDEVCTL_SCRIPT = '''
set -e
mount --bind "$1" /sys
mdevctl types >/dev/null; mdevctl list >/dev/null
for _ in $(seq "$2"); do
    start=$(date +%s%N)
    mdevctl types >/dev/null
    mdevctl list >/dev/null
    echo $(( $(date +%s%N) - start ))
done
'''


def timed_mdevctl(sysfs: str, runs: int) -> tuple[list[float], str]:
    """Times of mdevctl on the tree, or [] and why it could not run."""
    if shutil.which('mdevctl') is None:
        return [], 'mdevctl is not installed (bindep -b bench)'
    if os.geteuid() != 0 or shutil.which('unshare') is None:
        return [], 'needs root and unshare for a private mount namespace'
    result = subprocess.run(
        ['unshare', '-m', '--propagation', 'private', 'sh', '-c',
         _MDEVCTL_SCRIPT, 'bench', sysfs, str(runs)],
        capture_output=True, text=True)
    if result.returncode != 0:
        return [], 'unshare/mdevctl failed: %s' % result.stderr.strip()
    return [int(line) / 1e9 for line in result.stdout.split()], ''


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host-file', default=DEFAULT_HOST)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--json', action='store_true',
                        help='print the results as JSON')
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix='nova-mig-bench-')
    try:
        conf_file = simulated_conf(work, args.host_file)
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', conf_file], project='nova-mig')
        backend = gpu.load_backend(conf)
        report = discovery.discover(backend).as_dict()  # materialise, warm
        size = {
            'gpus': len(report['gpus']),
            'gpu_instances': sum(len(g['gpu_instances'])
                                 for g in report['gpus']),
            'vgpu_parents': len(report['vgpu_parents']),
            'vgpu_types': sum(len(p['types'])
                              for p in report['vgpu_parents']),
            'vgpu_devices': len(report['vgpu_devices']),
            'domains': len(report['domains']),
        }

        scans = []
        for _ in range(args.runs):
            start = time.perf_counter()
            discovery.discover(backend).as_dict()
            scans.append(time.perf_counter() - start)

        tracemalloc.start()
        discovery.discover(backend).as_dict()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        command = [os.path.join(os.path.dirname(sys.executable), 'nova-mig'),
                   '--config-file', conf_file, 'discover', '-f', 'json']
        # As an installed package is: byte-compiled (a source tree run with
        # PYTHONDONTWRITEBYTECODE compiles every module on every run), and
        # one untimed run to fill the simulator's and stevedore's caches.
        compileall.compile_dir(os.path.dirname(nova_mig.__file__),
                               quiet=1)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        # nova-mig and mdevctl take turns, so that the machine's drift
        # (other jobs, a VM's neighbours) weighs on both alike.
        sysfs = os.path.realpath(os.path.join(work, 'state', 'simulator',
                                              'sys'))
        runs = []
        mdevctl: list[float] = []
        why = ''
        for _ in range(max(5, args.runs // 2)):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            runs.append(time.perf_counter() - start)
            if not why:
                times, why = timed_mdevctl(sysfs, 1)
                mdevctl += times
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        helps = []
        for _ in range(max(3, args.runs // 4)):
            start = time.perf_counter()
            subprocess.run(command[:1] + ['--help'], check=True,
                           stdout=subprocess.DEVNULL)
            helps.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results = {
        'host_file': os.path.relpath(args.host_file),
        'host': size,
        'scan_seconds': _stats(scans),
        'command_seconds': _stats(runs),
        'help_seconds': _stats(helps),
        'mdevctl_seconds': _stats(mdevctl) if mdevctl else why,
        'ratio_to_mdevctl': (round(statistics.median(runs) /
                                   statistics.median(mdevctl), 1)
                             if mdevctl else None),
        # The ratio of each interleaved pair: steadier than the medians'.
        'paired_ratio_to_mdevctl': (
            round(statistics.median(a / b for a, b in zip(runs, mdevctl)),
                  1) if mdevctl else None),
        'load_average': [round(v, 2) for v in os.getloadavg()],
        'scan_peak_python_alloc_mib': round(peak / 2 ** 20, 2),
        'command_max_rss_mib': round(rss_kb / 1024, 1),
        'targets': {'scan_seconds': SCAN_TARGET,
                    'command_seconds': COMMAND_TARGET,
                    'help_seconds': HELP_TARGET},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print('host: %s (%s)' % (results['host_file'], ', '.join(
        '%s=%d' % item for item in size.items())))
    for key, target in (('scan_seconds', SCAN_TARGET),
                        ('command_seconds', COMMAND_TARGET),
                        ('help_seconds', HELP_TARGET)):
        s = results[key]
        verdict = 'meets' if s['median'] < target else 'MISSES'
        print('%-16s min %.3f  median %.3f  max %.3f s over %d runs '
              '(%s the %.1f s target)'
              % (key, s['min'], s['median'], s['max'], s['runs'], verdict,
                 target))
    print('scan peak Python allocations: %.2f MiB'
          % results['scan_peak_python_alloc_mib'])
    print('command max RSS: %.1f MiB' % results['command_max_rss_mib'])
    if mdevctl:
        s = results['mdevctl_seconds']
        print('mdevctl types + list: min %.3f  median %.3f  max %.3f s; '
              'nova-mig discover takes %.1fx as long (%.1fx, median of '
              'the interleaved pairs)'
              % (s['min'], s['median'], s['max'],
                 results['ratio_to_mdevctl'],
                 results['paired_ratio_to_mdevctl']))
    else:
        print('mdevctl not timed: %s' % why)
    print('load average: %s (%d CPUs)' % (
        ' '.join('%.2f' % v for v in results['load_average']),
        os.cpu_count() or 0))
    return 0


if __name__ == '__main__':
    sys.exit(main())
