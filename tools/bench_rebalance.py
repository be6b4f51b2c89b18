"""Benchmark the rebalance planner on a large fleet.

Builds N hosts x G GPUs (A100 80GB PCIe and H100 SXM5 80GB, alternating
per host, profile tables from the simulator's catalog), gives every GPU a
random valid geometry with each GPU instance in use with probability
``--busy``, asks for random unmet demand per profile, and times
:func:`nova_mig.rebalance.plan.build` (grouping, geometry enumeration, the
two HiGHS passes and the mapping back to GPUs) and writing the layout
files. Seeded: the same arguments give the same fleet.

    python tools/bench_rebalance.py --hosts 500 --gpus-per-host 8
"""

import argparse
import random
import tempfile
import time

from nova_mig.rebalance import demand
from nova_mig.rebalance import fleet
from nova_mig.rebalance import geometry
from nova_mig.rebalance import plan
from nova_mig.simulator import catalog

MODELS = ('A100-PCIE-80GB', 'H100-SXM5-80GB')


def make_fleet(args: argparse.Namespace) -> list[fleet.HostState]:
    rng = random.Random(args.seed)
    cat = catalog.default_catalog()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--hosts', type=int, default=500)
    parser.add_argument('--gpus-per-host', type=int, default=8)
    parser.add_argument('--busy', type=float, default=0.5,
                        help='chance that a GPU instance is in use')
    parser.add_argument('--seed', type=int, default=7)
    args = parser.parse_args()
    hosts = make_fleet(args)
    gpus = args.hosts * args.gpus_per_host
    rng = random.Random(args.seed + 1)
    wanted = [demand.Demand(p, rng.randint(gpus // 40, gpus // 8),
                            source='unmet')
              for p in ('1g.10gb', '2g.20gb', '3g.40gb', '4g.40gb',
                        '7g.80gb')]
    started = time.monotonic()
    result = plan.build(hosts, wanted)
    planned = time.monotonic() - started
    with tempfile.TemporaryDirectory() as out:
        started = time.monotonic()
        plan.write_layouts(result, hosts, out)
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
