# SPDX-License-Identifier: Apache-2.0

"""Benchmark the rebalance planner on a large fleet.

Builds N hosts x G GPUs (A100 80GB PCIe and H100 SXM5 80GB, alternating
per host, profile tables from the simulator's catalog), gives every GPU a
random valid geometry with each GPU instance in use with probability
``--busy``, asks for random unmet demand per profile, and times
:func:`nova_mig.rebalance.fleet_plan.build` (grouping, geometry enumeration,
the two HiGHS passes and the mapping back to GPUs) and writing the layout
files. Seeded: the same arguments give the same fleet.

    python tools/bench_rebalance.py --hosts 500 --gpus-per-host 8

With ``--placement`` the whole command path is timed instead: a real
Placement process (openstack-placement, SQLite) is seeded with the GPU
providers nova-compute would make for the fleet (one per GPU instance,
its MIG resource class, an allocation on those in use), the discover
documents are written to a directory, and the time to read Placement's
usages (:func:`nova_mig.rebalance.unmet_capacity.read_slices`, one request per
MIG resource class; ``tools/bench_placement_read.py`` compares it with the
per-provider read), load and check the documents and plan is printed.
Seeding is slow (tens of milliseconds per provider); use fewer hosts::

    python tools/bench_rebalance.py --placement --hosts 50
"""

import argparse
import collections.abc
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid

from nova_mig.documents import discover
from nova_mig.model import host_records
from nova_mig import naming
from nova_mig.placement import api_client
from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import fleet_plan
from nova_mig.rebalance import geometry
from nova_mig.rebalance import unmet_capacity
from nova_mig.simulator import gpu_catalog

MODELS = ('A100-PCIE-80GB', 'H100-SXM5-80GB')


def make_fleet(args: argparse.Namespace) -> list[fleet.HostState]:
    rng = random.Random(args.seed)
    cat = gpu_catalog.default_catalog()
    hosts = []
    for h in range(args.hosts):
        model = cat.get(MODELS[h % len(MODELS)])
        table = geometry.ProfileTable(model.profiles)
        shapes = geometry.completions(table)
        gpus = []
        for i in range(args.gpus_per_host):
            slots = rng.choice(shapes)
            fixed = tuple(s for s in slots if rng.random() < args.busy)
            gpus.append(fleet.GpuState(
                host='host%04d' % h, pci_address='0000:%02x:00.0' % (
                    0x41 + i),
                model=model.nvml_name, table=table, fixed=fixed,
                free=tuple(s for s in slots if s not in fixed),
                sriov_vfs=16))
        hosts.append(fleet.HostState('host%04d' % h, '', 'mdev', gpus))
    return hosts


def document(host: fleet.HostState) -> dict:
    """A ``nova-mig discover -f json`` document of a benchmark host."""
    gpus = []
    for gpu in host.gpus:
        gpus.append({
            'pci_address': gpu.pci_address, 'uuid': gpu.uuid,
            'model': gpu.model, 'mig_capable': True,
            'mig_mode': 'enabled',
            'sriov_vfs': {'total': 16, 'enabled': 16},
            'profiles': [host_records.profile_dict(p)
                         for p in gpu.table.profiles],
            'gpu_instances': [
                {'id': i, 'profile': s.profile, 'placement_start': s.start,
                 'placement_size': s.size, 'in_use': s in gpu.fixed}
                for i, s in enumerate(sorted(gpu.fixed + gpu.free))]})
    return {'version': discover.VERSION, 'hostname': host.name,
            'device_mode': 'mdev', 'gpus': gpus, 'vgpu_devices': []}


def seed_host(url: str, host: fleet.HostState) -> int:
    """The host's providers as nova-compute makes them; requests made."""
    client = api_client.PlacementClient.for_endpoint(url)
    scheme = naming.Scheme()
    root = client.create_provider(host.name)
    for g, gpu in enumerate(host.gpus):
        for i, slot in enumerate(sorted(gpu.fixed + gpu.free)):
            rc = scheme.resource_class(slot.profile)
            rp = client.create_provider(
                '%s_pci_0000_%02x_00_%d' % (host.name, 0x41 + g, i),
                parent=root['uuid'])
            client.set_inventories(rp['uuid'], {rc: {
                'total': 1, 'reserved': 0, 'min_unit': 1, 'max_unit': 1,
                'step_size': 1, 'allocation_ratio': 1.0}},
                rp['generation'])
            if slot in gpu.fixed:
                client.request(
                    'PUT', '/allocations/%s' % uuid.uuid4(), '1.28',
                    body={'allocations': {rp['uuid']: {
                        'resources': {rc: 1}}}, 'project_id': 'bench',
                        'user_id': 'bench', 'consumer_generation': None},
                    ok=(204,))
    return client.requests


@contextlib.contextmanager
def placement_process(work: str) -> collections.abc.Iterator[str]:
    """A threaded embedded Placement in a process of its own; its URL.

    Its database goes below ``work``; the process is stopped on exit.
    """
    proc = subprocess.Popen(
        [sys.executable, '-m', 'nova_mig.simulator.embedded_placement',
         '--state-dir', os.path.join(work, 'placement'), '--threaded'],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        proc.wait()


def with_placement(args: argparse.Namespace, hosts: list[fleet.HostState],
                   wanted: list[demand.Demand]) -> None:
    with tempfile.TemporaryDirectory() as work:
        with placement_process(work) as url:
            client = api_client.PlacementClient.for_endpoint(url)
            for profile in {s.profile for h in hosts for g in h.gpus
                            for s in g.fixed + g.free}:
                client.ensure_resource_class(
                    naming.Scheme().resource_class(profile))
            started = time.monotonic()
            # One writer: SQLite serialises them anyway.
            for host in hosts:
                seed_host(url, host)
            seeded = time.monotonic() - started
            docs = os.path.join(work, 'hosts')
            os.makedirs(docs)
            for host in hosts:
                with open(os.path.join(docs, host.name + '.json'),
                          'w') as stream:
                    stream.write(discover.dumps(document(host)))
            client = api_client.PlacementClient.for_endpoint(url)
            started = time.monotonic()
            rows = unmet_capacity.read_slices(
                client, naming.Scheme(), workers=args.workers)
            read = time.monotonic() - started
            started = time.monotonic()
            loaded, left = fleet.load_hosts(docs, 3600)
            kept, disagreeing = fleet.join_placement(loaded, rows)
            result = fleet_plan.build(kept, wanted, left + disagreeing)
            planned = time.monotonic() - started
    print('Placement: %d providers seeded in %.0f s; read in %.1f s '
          '(%d requests); documents loaded, joined and '
          'planned in %.2f s '
          '(solver %.2f s); %d hosts planned, %d left out' % (
              len(rows), seeded, read, client.requests, planned,
              result.seconds, len(kept), len(left + disagreeing)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--gpus-per-host', type=int, default=8)
    parser.add_argument('--busy', type=float, default=0.5,
                        help='chance that a GPU instance is in use')
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--workers', type=int, default=8,
                        help='Placement reads at the same time where '
                             'Placement is older than microversion 1.29')
    parser.add_argument('--placement', action='store_true',
                        help='time the command path against a real '
                             'Placement seeded with the fleet')
    args = parser.parse_args()
    hosts = make_fleet(args)
    gpus = args.hosts * args.gpus_per_host
    rng = random.Random(args.seed + 1)
    wanted = [demand.Demand(p, rng.randint(gpus // 40, gpus // 8),
                            source='unmet')
              for p in ('1g.10gb', '2g.20gb', '3g.40gb', '4g.40gb',
                        '7g.80gb')]
    if args.placement:
        with_placement(args, hosts, wanted)
        return
    started = time.monotonic()
    result = fleet_plan.build(hosts, wanted)
    planned = time.monotonic() - started
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        fleet_plan.write_layouts(result, hosts, out)
        written = time.monotonic() - started
    print('%d hosts x %d GPUs (%d GPUs, %.0f%% of GPU instances in use)'
          % (args.hosts, args.gpus_per_host, gpus, 100 * args.busy))
    for row in result.rows:
        print('  %-8s wanted %5d  free before %5d  after %5d' % (
            row.profile, row.wanted, row.free_before, row.free_after))
    print('plan: %.2f s (solver %.2f s, %s), %d GPUs on %d hosts changed; '
          'layout files: %.2f s' % (
              planned, result.seconds,
              'optimal' if result.optimal else 'time limit',
              len(result.changes), len(result.hosts_touched), written))


if __name__ == '__main__':
    main()
