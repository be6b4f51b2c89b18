# SPDX-License-Identifier: Apache-2.0

"""The planner's integer program: covered demand first, then few changes."""

from nova_mig.rebalance import solver
from tests import base

SMALL = {'1g.10gb': 7}
HALVES = {'3g.40gb': 2}
FULL = {'7g.80gb': 1}


def _group(count, current, *others, scopes=()):
    options = [solver.Option(free=current)]
    for free in others:
        options.append(solver.Option(
            free=free, geometry=('m', tuple(sorted(free.items())))))
    return solver.Group(count=count, options=options,
                        scopes=frozenset(scopes))


class SolveTestCase(base.TestCase):

    def test_no_demand_touches_nothing(self):
        result = solver.solve([_group(4, SMALL, HALVES, FULL)], [])
        self.assertEqual([{0: 4}], result.chosen)
        self.assertEqual(0, result.touched)

    def test_covers_demand_with_the_fewest_gpus(self):
        result = solver.solve([_group(10, SMALL, HALVES, FULL)],
                              [solver.Row('3g.40gb', 3),
                               solver.Row('1g.10gb', 20)])
        self.assertEqual([3], [result.covered[0]])
        self.assertEqual(20, result.covered[1])
        self.assertEqual({0: 8, 1: 2}, result.chosen[0])
        self.assertEqual(2, result.touched)

    def test_demand_already_free_is_not_destroyed(self):
        result = solver.solve([_group(2, FULL, SMALL), _group(1, SMALL)],
                              [solver.Row('7g.80gb', 2),
                               solver.Row('1g.10gb', 7)])
        self.assertEqual([{0: 2}, {0: 1}], result.chosen)

    def test_max_gpus_bounds_the_change(self):
        result = solver.solve([_group(10, SMALL, FULL)],
                              [solver.Row('7g.80gb', 5)], max_gpus=2)
        self.assertEqual(2, result.touched)
        self.assertEqual([2], result.covered)

    def test_scoped_demand_uses_only_hosts_in_scope(self):
        groups = [_group(3, SMALL, FULL, scopes={'az:az1'}),
                  _group(3, SMALL, FULL, scopes={'az:az2'})]
        result = solver.solve(groups, [solver.Row('7g.80gb', 2, 'az:az2')])
        self.assertEqual({0: 3}, result.chosen[0])
        self.assertEqual({0: 1, 1: 2}, result.chosen[1])

    def test_few_geometries_break_ties(self):
        # B may take X or Y at the same cost; X alone keeps one geometry.
        x = {'3g.40gb': 1, '1g.10gb': 3}
        y = {'3g.40gb': 1, '2g.20gb': 2}
        result = solver.solve([_group(1, SMALL, x), _group(1, SMALL, y, x)],
                              [solver.Row('3g.40gb', 2)])
        self.assertEqual([{1: 1}, {2: 1}], result.chosen)
        self.assertEqual(1, result.geometries)

    def test_weight_counts_large_profiles_by_their_slices(self):
        # Keeping 7 x 1g covers 7 requests; one 7g weighs 7 slices, and
        # with weight 7 it wins over the 6 small requests it displaces.
        rows = [solver.Row('7g.80gb', 1, weight=7),
                solver.Row('1g.10gb', 6)]
        result = solver.solve([_group(1, SMALL, FULL)], rows)
        self.assertEqual([{1: 1}], result.chosen)
        rows = [solver.Row('7g.80gb', 1), solver.Row('1g.10gb', 6)]
        result = solver.solve([_group(1, SMALL, FULL)], rows)
        self.assertEqual([{0: 1}], result.chosen)
