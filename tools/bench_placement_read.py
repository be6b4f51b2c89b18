# SPDX-License-Identifier: Apache-2.0

"""Benchmark reading the cloud's MIG capacity from Placement.

Starts one real Placement process (openstack-placement, wsgiref with a
thread per request, SQLite; ``python -m
nova_mig.simulator.embedded_placement``), seeds it with the fleet of
``tools/bench_rebalance.py`` (N hosts x G GPUs, A100 and H100 alternating, a
random geometry per GPU, each GPU instance in use with probability ``--busy``):
per host a compute node provider with VCPU and MEMORY_MB, one child provider
per GPU instance with its MIG resource class and the GPU model trait, an
allocation on those in use. ``--full-hosts`` of them have every slice, VCPU and
MEMORY_MB in use (trees with nothing free, which the bulk read reads provider
by provider). The first ``--api-hosts`` hosts are written through the Placement
API, one provider per request, the others straight into Placement's SQLite
database in one transaction, the same rows (the API takes tens of milliseconds
a write on SQLite: hours for 500 hosts).

Then it reads the capacity the way ``openstack mig capacity list``,
``metrics`` and ``rebalance plan`` do, and before them:

- per provider (:func:`nova_mig.flavor.slice_capacity.provider_slices`, one
  inventories request per provider, usages and traits per GPU provider),
  one at a time and ``--workers`` at a time;
- in bulk (:func:`nova_mig.rebalance.unmet_capacity.read_slices`, one
  ``GET /allocation_candidates`` per MIG resource class);

prints wall time and requests of each, and checks they read the same::

    python tools/bench_placement_read.py --hosts 500 --gpus-per-host 8
"""

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid

import bench_rebalance  # tools/, the script's own directory

from nova_mig.flavor import slice_capacity
from nova_mig import naming
from nova_mig.placement import api_client
from nova_mig.rebalance import fleet
from nova_mig.rebalance import unmet_capacity
from nova_mig.simulator import gpu_catalog

MV_RESHAPER = '1.30'
ROOT = {'VCPU': 64, 'MEMORY_MB': 515072}
MODEL_TRAIT = {m: naming.Scheme().model_trait(
    gpu_catalog.default_catalog().get(
        m).nvml_name) for m in bench_rebalance.MODELS}


def _inventory(rc: str, total: int) -> dict:
    return {rc: {'total': total, 'reserved': 0, 'min_unit': 1,
                 'max_unit': total, 'step_size': 1,
                 'allocation_ratio': 1.0}}


def seed_host(url: str, host: fleet.HostState, model: str,
              full: bool) -> int:
    """The host's providers, inventories, traits and allocations."""
    client = api_client.PlacementClient.for_endpoint(url)
    scheme = naming.Scheme()
    root = client.create_provider(host.name)
    inventories = {root['uuid']: {
        'inventories': dict(_inventory('VCPU', ROOT['VCPU']),
                            **_inventory('MEMORY_MB', ROOT['MEMORY_MB'])),
        'resource_provider_generation': root['generation']}}
    allocations = {}

    def allocate(rp: str, resources: dict) -> None:
        allocations[str(uuid.uuid4())] = {
            'allocations': {rp: {'resources': resources}},
            'project_id': 'bench', 'user_id': 'bench',
            'consumer_generation': None}

    if full:
        allocate(root['uuid'], dict(ROOT))
    trait = MODEL_TRAIT[model]
    for g, gpu in enumerate(host.gpus):
        for i, slot in enumerate(sorted(gpu.fixed + gpu.free)):
            rc = scheme.resource_class(slot.profile)
            rp = client.create_provider(
                '%s_pci_0000_%02x_00_%d' % (host.name, 0x41 + g, i),
                parent=root['uuid'])
            client.set_provider_traits(rp['uuid'], {trait},
                                       rp['generation'])
            inventories[rp['uuid']] = {
                'inventories': _inventory(rc, 1),
                'resource_provider_generation': rp['generation'] + 1}
            if full or slot in gpu.fixed:
                allocate(rp['uuid'], {rc: 1})
    client.request('POST', '/reshaper', MV_RESHAPER,
                   {'inventories': inventories, 'allocations': allocations},
                   ok=(204,))
    return client.requests


def seed_db(db: str, hosts: list[fleet.HostState], first: int,
            full_hosts: int) -> None:
    """Hosts ``first``.. as :func:`seed_host` makes them, written as rows.

    The project and user are those :func:`seed_host` made on host 0.
    """
    scheme = naming.Scheme()
    now = time.strftime('%Y-%m-%d %H:%M:%S')
    con = sqlite3.connect(db)
    try:
        cur = con.cursor()
        rc_id = dict(cur.execute('SELECT name, id FROM resource_classes'))
        trait_id = dict(cur.execute('SELECT name, id FROM traits'))
        project = cur.execute('SELECT id FROM projects').fetchone()[0]
        user = cur.execute('SELECT id FROM users').fetchone()[0]

        def provider(name: str, root: int | None) -> int:
            cur.execute(
                'INSERT INTO resource_providers (uuid, name, generation, '
                'root_provider_id, parent_provider_id, created_at) '
                'VALUES (?, ?, 1, ?, ?, ?)',
                (str(uuid.uuid4()), name, root, root, now))
            rp = cur.lastrowid
            if root is None:
                cur.execute('UPDATE resource_providers SET '
                            'root_provider_id = ? WHERE id = ?', (rp, rp))
            return rp

        def inventory(rp: int, rc: str, total: int) -> None:
            cur.execute(
                'INSERT INTO inventories (resource_provider_id, '
                'resource_class_id, total, reserved, min_unit, max_unit, '
                'step_size, allocation_ratio, created_at) '
                'VALUES (?, ?, ?, 0, 1, ?, 1, 1.0, ?)',
                (rp, rc_id[rc], total, total, now))

        def allocate(rp: int, rc: str, used: int) -> None:
            consumer = str(uuid.uuid4())
            cur.execute(
                'INSERT INTO consumers (uuid, project_id, user_id, '
                'generation, created_at) VALUES (?, ?, ?, 1, ?)',
                (consumer, project, user, now))
            cur.execute(
                'INSERT INTO allocations (resource_provider_id, '
                'consumer_id, resource_class_id, used, created_at) '
                'VALUES (?, ?, ?, ?, ?)', (rp, consumer, rc_id[rc], used,
                                           now))

        for h in range(first, len(hosts)):
            host, full = hosts[h], h < full_hosts
            root = provider(host.name, None)
            for rc, total in ROOT.items():
                inventory(root, rc, total)
            if full:
                for rc, total in ROOT.items():
                    allocate(root, rc, total)
            trait = trait_id[MODEL_TRAIT[bench_rebalance.MODELS[h % 2]]]
            for g, gpu in enumerate(host.gpus):
                for i, slot in enumerate(sorted(gpu.fixed + gpu.free)):
                    rc = scheme.resource_class(slot.profile)
                    rp = provider('%s_pci_0000_%02x_00_%d'
                                  % (host.name, 0x41 + g, i), root)
                    cur.execute(
                        'INSERT INTO resource_provider_traits '
                        '(resource_provider_id, trait_id, created_at) '
                        'VALUES (?, ?, ?)', (rp, trait, now))
                    inventory(rp, rc, 1)
                    if full or slot in gpu.fixed:
                        allocate(rp, rc, 1)
        con.commit()
    finally:
        con.close()


def timed(func, *args, **kwargs):
    started = time.monotonic()
    result = func(*args, **kwargs)
    return result, time.monotonic() - started


def _key(row: slice_capacity.Slices) -> tuple:
    return (row.host, row.provider, row.uuid, row.profile,
            row.resource_class, row.capacity, row.used, tuple(row.traits))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--gpus-per-host', type=int, default=8)
    parser.add_argument('--busy', type=float, default=0.5,
                        help='chance that a GPU instance is in use')
    parser.add_argument('--full-hosts', type=int, default=0,
                        help='hosts with every slice, VCPU and MEMORY_MB '
                             'used')
    parser.add_argument('--api-hosts', type=int, default=2,
                        help='hosts written through the Placement API (at '
                             'least 1); the others go straight into its '
                             'database')
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--workers', type=int, default=8,
                        help='per-provider reads at the same time, as the '
                             'commands did (and still do on Placement '
                             'older than 1.29)')
    parser.add_argument('--skip-serial', action='store_true',
                        help='do not time the one-at-a-time per-provider '
                             'read')
    parser.add_argument('--bulk-only', action='store_true',
                        help='time the bulk read only (nothing to compare '
                             'it with)')
    args = parser.parse_args()
    hosts = bench_rebalance.make_fleet(args)
    scheme = naming.Scheme()
    with tempfile.TemporaryDirectory() as work:
        with bench_rebalance.placement_process(work) as url:
            admin = api_client.PlacementClient.for_endpoint(url)
            for profile in sorted({s.profile for h in hosts
                                   for g in h.gpus
                                   for s in g.fixed + g.free}):
                admin.ensure_resource_class(scheme.resource_class(profile))
            for trait in MODEL_TRAIT.values():
                admin.ensure_trait(trait)
            started = time.monotonic()
            # One writer: SQLite serialises them, and refuses a second.
            api_hosts = max(1, min(args.api_hosts, len(hosts)))
            for i, host in enumerate(hosts[:api_hosts]):
                seed_host(url, host, bench_rebalance.MODELS[i % 2],
                          i < args.full_hosts)
            seed_db(os.path.join(work, 'placement', 'placement',
                                 'placement.db'),
                    hosts, api_hosts, args.full_hosts)
            seeded = time.monotonic() - started
            results = []
            runs = [('per provider, %d at a time' % args.workers,
                     args.workers)]
            if not args.skip_serial:
                runs.insert(0, ('per provider, one at a time', 1))
            if args.bulk_only:
                runs = []
            for label, workers in runs:
                client = api_client.PlacementClient.for_endpoint(url)
                rows, seconds = timed(slice_capacity.provider_slices,
                                      client, scheme, traits=True,
                                      workers=workers)
                results.append((label, seconds, client.requests, rows))
            client = api_client.PlacementClient.for_endpoint(url)
            rows, seconds = timed(unmet_capacity.read_slices, client, scheme)
            results.append(('bulk (allocation candidates)', seconds,
                            client.requests, rows))
    providers = len(results[0][3])
    print('%d hosts x %d GPUs (%d GPU providers, %d hosts with nothing '
          'free), one Placement process; seeded in %.0f s'
          % (args.hosts, args.gpus_per_host, providers, args.full_hosts,
             seeded))
    print('%-32s %9s %9s' % ('read', 'seconds', 'requests'))
    for label, seconds, requests, _ in results:
        print('%-32s %9.2f %9d' % (label, seconds, requests))
    same = all([_key(r) for r in rows] == [_key(r) for r in results[0][3]]
               for _, _, _, rows in results)
    print('the reads agree: %s' % ('not compared' if args.bulk_only else
                                   'yes' if same else 'NO'))
    return 0 if same else 1


if __name__ == '__main__':
    sys.exit(main())
