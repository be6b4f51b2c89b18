# SPDX-License-Identifier: Apache-2.0

"""Benchmark nova-mig sync for a fleet of hosts against one Placement.

Starts one real Placement process (openstack-placement, wsgiref, SQLite;
``python -m nova_mig.simulator.embedded_placement``), seeds it with the
providers nova-compute would create for N hosts, each a copy of a discovered
simulated host under another name, then runs a first sync and a no-op sync of
every host from a few worker threads and prints requests per host, writes,
conflicts retried and wall time.

    python tools/bench_fleet_sync.py --hosts 500 --workers 4
"""

import argparse
import concurrent.futures
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time

from oslo_config import cfg

import nova_mig.conf
from nova_mig import gpu
from nova_mig.host import discovery
from nova_mig.novaconf import type_plan
from nova_mig.placement import api_client
from nova_mig.placement import host_offer
from nova_mig.placement import ledger
from nova_mig.placement import sync
from nova_mig.simulator import embedded_placement

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def make_conf(work: str, host_file: str) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    nova_mig.conf.register_opts(conf)
    conf([], project='nova-mig', default_config_files=[])
    conf.set_override('backend', 'simulated', group='gpu')
    conf.set_override('host_file', host_file, group='simulator')
    conf.set_override('state_dir', work, group='host')
    return conf


def start_placement(work: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, '-m', 'nova_mig.simulator.embedded_placement',
         '--state-dir', os.path.join(work, 'server')],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()


def run_phase(conf, url, configs, workers, phase):
    def one(config):
        client = api_client.PlacementClient.for_endpoint(url)
        state = ledger.SyncState.load(os.path.join(
            conf.host.state_dir, 'hosts', config.hostname + '.json'))
        syncer = sync.Syncer(conf, client, state=state)
        return syncer.run(config)

    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        results = list(pool.map(one, configs))
    elapsed = time.monotonic() - start
    reqs = [r.requests for r in results]
    return {
        'phase': phase, 'hosts': len(results), 'seconds': elapsed,
        'req_mean': statistics.mean(reqs), 'req_max': max(reqs),
        'writes': sum(r.writes for r in results),
        'writes_max': max(r.writes for r in results),
        'conflicts': sum(r.conflicts for r in results),
        'providers': sum(len(r.providers) for r in results),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--workers', type=int, default=4)
    parser.add_argument('--host-file', default=os.path.join(
        REPO, 'etc', 'nova-mig', 'hosts', 'h100-sxm5-8x.yaml'))
    args = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix='bench-fleet-sync-')
    conf = make_conf(work, args.host_file)
    template = discovery.discover(gpu.load_backend(conf))
    # One plan per host, as each host's own sync builds it.
    configs = [type_plan.build(conf, dataclasses.replace(
        template, hostname='cn%04d' % i)) for i in range(args.hosts)]
    proc, url = start_placement(work)
    try:
        admin = api_client.PlacementClient.for_endpoint(url)
        t0 = time.monotonic()
        for config in configs:
            embedded_placement.seed(admin, config.hostname,
                                    host_offer.providers(config,
                                                         config.hostname))
        seeded = time.monotonic() - t0
        rows = [run_phase(conf, url, configs, args.workers, phase)
                for phase in ('first sync', 'no-op sync')]
    finally:
        proc.terminate()
        proc.wait()
    gpus = len(template.gpus)
    print('%d hosts x %d GPUs (%d GPU providers each), %d workers, '
          'one Placement process; seeding took %.1fs'
          % (args.hosts, gpus, rows[0]['providers'] // args.hosts,
             args.workers, seeded))
    print('%-11s %8s %9s %8s %8s %10s %9s %10s'
          % ('phase', 'seconds', 'hosts/s', 'req/host', 'req max',
             'writes', 'max w/h', 'conflicts'))
    for r in rows:
        print('%-11s %8.1f %9.1f %8.2f %8d %10d %9d %10d'
              % (r['phase'], r['seconds'], r['hosts'] / r['seconds'],
                 r['req_mean'], r['req_max'], r['writes'], r['writes_max'],
                 r['conflicts']))
    noop = rows[1]
    ok = noop['req_max'] <= 3 and noop['writes'] == 0
    print('target (no-op: <= 3 requests, 0 writes per host): %s'
          % ('met' if ok else 'MISSED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
