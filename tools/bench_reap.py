#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0

"""Benchmark the reap decision on a host with many defined libvirt domains.

Generates a simulated host (four Tesla T4, 16 T4-1Q mdevs each) whose
libvirt test-driver XML holds ``--domains`` domains (default 2,000): most
shut off and defined (as shelved or powered-off Nova instances are), each
referencing one mdev UUID (existing or long gone), a few running; eight
mdevs are orphans. It then measures, warm and repeated (min / median /
max):

* ``gather``: the facts: discovery (sysfs, libvirt ``listAllDomains(0)``
  with one ``XMLDesc`` per domain), the /proc scan of a fake tree, the
  ownership record, Nova's configuration;
* ``decide``: the pure decision on the gathered facts;
* ``recheck``: the per-device libvirt re-read done before each removal;
* ``proc``: the open-handle scan of this machine's real /proc;
* ``cli``: the whole ``nova-mig reap -f json`` dry run as a new process.

It is a benchmark, not a test: it prints numbers. Usage::

    .venv/bin/python tools/bench_reap.py [--domains N] [--runs N]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import yaml

GPUS = ('0000:3b:00.0', '0000:5e:00.0', '0000:86:00.0', '0000:d8:00.0')
PER_GPU = 16
ORPHANS_PER_GPU = 2


def mdev_uuid(gpu: int, index: int) -> str:
    return str(uuid.UUID(int=(0xbe << 120) + (gpu << 16) + index))


def host_document(domains: int) -> dict:
    vgpus, used = [], []
    for g, address in enumerate(GPUS):
        for i in range(PER_GPU):
            vgpus.append({'uuid': mdev_uuid(g, i), 'type': 'T4-1Q',
                          'parent': address})
            if i >= ORPHANS_PER_GPU:
                used.append(mdev_uuid(g, i))
    doms = []
    for n in range(domains):
        if n < len(used):
            mdev = used[n]
        else:   # a shelved instance whose mdev is long gone
            mdev = str(uuid.UUID(int=(0xde << 120) + n))
        doms.append({'name': 'instance-%08x' % n,
                     'state': 'running' if n % 50 == 0 and n < len(used)
                     else 'shutoff', 'mdevs': [mdev]})
    return {'version': 1, 'hostname': 'bench-reap',
            'gpus': [{'model': 'T4', 'pci_address': a} for a in GPUS],
            'vgpus': vgpus, 'domains': doms}


def stats(samples: list[float]) -> dict:
    return {'min': round(min(samples), 4),
            'median': round(statistics.median(samples), 4),
            'max': round(max(samples), 4)}


def timed(func, runs: int) -> tuple[dict, object]:
    samples, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        samples.append(time.perf_counter() - start)
    return stats(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--domains', type=int, default=2000)
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args()

    from oslo_config import cfg

    import nova_mig.conf
    from nova_mig.reaper import decide
    from nova_mig.reaper import evidence
    from nova_mig.simulator import backend as simulated

    work = tempfile.mkdtemp(prefix='bench-reap-')
    try:
        host_file = os.path.join(work, 'host.yaml')
        with open(host_file, 'w') as f:
            yaml.safe_dump(host_document(args.domains), f)
        nova_conf = os.path.join(work, 'nova.conf')
        with open(nova_conf, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-234\n')
        proc = os.path.join(work, 'proc')
        for pid in range(1, 201):
            os.makedirs(os.path.join(proc, str(pid), 'fd'))
            for fd in range(3):
                os.symlink('/dev/null', os.path.join(proc, str(pid), 'fd',
                                                     str(fd)))
        conf_file = os.path.join(work, 'nova-mig.conf')
        with open(conf_file, 'w') as f:
            f.write('[gpu]\nbackend = simulated\n[host]\nstate_dir = %s\n'
                    '[simulator]\nhost_file = %s\n[reaper]\n'
                    'grace_period = 0\nnova_config_files = %s\n'
                    'proc_root = %s\n[nova]\nconfig_snippet = %s\n'
                    % (os.path.join(work, 'state'), host_file, nova_conf,
                       proc, os.path.join(work, 'none.conf')))
        conf = cfg.ConfigOpts()
        nova_mig.conf.register_opts(conf)
        conf(['--config-file', conf_file], project='nova-mig')
        backend = simulated.SimulatedBackend(conf)
        start = time.perf_counter()
        backend.host.load()
        materialise = time.perf_counter() - start
        gatherer = evidence.Gatherer(conf, backend, placement=False)
        gatherer.gather()      # warm the page cache and imports
        gather_t, host = timed(gatherer.gather, args.runs)
        policy = decide.Policy(grace_period=0, skip_placement_check=True,
                               include_foreign=True)
        decide_t, decisions = timed(
            lambda: decide.decide(host.devices, policy), args.runs)
        orphan = next(d.facts for d in decisions if d.remove)
        recheck_t, _ = timed(lambda: gatherer.recheck(orphan), args.runs)
        proc_t, (nodes, denied) = timed(
            lambda: evidence.open_device_nodes('/proc'), args.runs)
        cli = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run(
                [os.path.join(os.path.dirname(sys.executable), 'nova-mig'),
                 '--config-file', conf_file, 'reap', '-f', 'json',
                 '--skip-placement-check', '--include-foreign'],
                capture_output=True, check=True)
            cli.append(time.perf_counter() - start)
        rows = json.loads(out.stdout)
        result = {
            'domains': len(host.report.domains),
            'devices': len(host.devices),
            'remove': sum(1 for d in decisions if d.remove),
            'materialise_s': round(materialise, 3),
            'gather_s': gather_t, 'decide_s': decide_t,
            'recheck_s': recheck_t, 'cli_s': stats(cli),
            'cli_rows': len(rows),
            'real_proc_scan_s': proc_t,
            'real_proc_processes': len(os.listdir('/proc')),
            'real_proc_unreadable': denied,
        }
        print(json.dumps(result, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
