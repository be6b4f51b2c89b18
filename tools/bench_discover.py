#!/usr/bin/env python3
"""Benchmark ``nova-mig discover`` on a simulated host.

Measures, on the given host file (default: the 8x H100 SXM5 example):

* the in-process scan (``discovery.discover(backend).as_dict()``), warm,
  repeated, reporting min / median / max;
* the whole command ``nova-mig discover -f json`` as a new process,
  repeated, reporting min / median / max wall time;
* peak memory: Python allocations during one in-process scan
  (tracemalloc) and the maximum resident set size of the whole command.

It is a benchmark, not a test: it prints numbers and compares them with the
targets (scan under 0.3 s in-process, whole command under 1.5 s) without
failing. Usage::

    .venv/bin/python tools/bench_discover.py [--host-file F] [--runs N]
"""

import argparse
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

from nova_mig import conf as nova_mig_conf
from nova_mig import gpu
from nova_mig.host import discovery

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_HOST = os.path.join(HERE, '..', 'etc', 'nova-mig', 'hosts',
                            'h100-sxm5-8x.yaml')
SCAN_TARGET = 0.3
COMMAND_TARGET = 1.5


def _stats(samples):
    return {'min': min(samples), 'median': statistics.median(samples),
            'max': max(samples), 'runs': len(samples)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host-file', default=DEFAULT_HOST)
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--json', action='store_true',
                        help='print the results as JSON')
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix='nova-mig-bench-')
    try:
        conf_file = os.path.join(work, 'nova-mig.conf')
        with open(conf_file, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n'
                    '[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\n'
                    % (os.path.join(work, 'state'),
                       os.path.abspath(args.host_file)))
        conf = cfg.ConfigOpts()
        nova_mig_conf.register_opts(conf)
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
        runs = []
        for _ in range(max(3, args.runs // 4)):
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            runs.append(time.perf_counter() - start)
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results = {
        'host_file': os.path.relpath(args.host_file),
        'host': size,
        'scan_seconds': _stats(scans),
        'command_seconds': _stats(runs),
        'scan_peak_python_alloc_mib': round(peak / 2 ** 20, 2),
        'command_max_rss_mib': round(rss_kb / 1024, 1),
        'targets': {'scan_seconds': SCAN_TARGET,
                    'command_seconds': COMMAND_TARGET},
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print('host: %s (%s)' % (results['host_file'], ', '.join(
        '%s=%d' % item for item in size.items())))
    for key, target in (('scan_seconds', SCAN_TARGET),
                        ('command_seconds', COMMAND_TARGET)):
        s = results[key]
        verdict = 'meets' if s['median'] < target else 'MISSES'
        print('%-16s min %.3f  median %.3f  max %.3f s over %d runs '
              '(%s the %.1f s target)'
              % (key, s['min'], s['median'], s['max'], s['runs'], verdict,
                 target))
    print('scan peak Python allocations: %.2f MiB'
          % results['scan_peak_python_alloc_mib'])
    print('command max RSS: %.1f MiB' % results['command_max_rss_mib'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
