# SPDX-License-Identifier: Apache-2.0

"""The planner's integer program, solved by HiGHS through ``scipy.optimize``.

GPUs in the same state (model, profile table, GPU instances in use, free
GPU instances, scopes) are interchangeable, so the program decides *how
many* GPUs of each such group take each candidate geometry, not which:
4000 GPUs make a few hundred groups. Variables:

* ``x[k,o]`` integer: GPUs of group ``k`` given option ``o`` (option 0 of
  every group is "leave as is");
* ``c[r]`` continuous, ``0 <= c[r] <= wanted[r]``: free slices of demand
  row ``r`` (a profile within a scope) covered, each worth ``weight[r]``
  (the profile's compute slices: a 7g request weighs seven 1g ones);
* ``y[m,g]`` binary: the new geometry ``g`` of model ``m`` is used.

Constraints: ``sum_o x[k,o] = n[k]``; ``c[r] <= sum free[k,o,p_r] x[k,o]``
over the groups in the row's scope; ``x[k,o] <= n[k] y[m,g]``; and, with
``max_gpus``, ``sum x[k,o] <= max_gpus`` over the options that change a GPU.

The objective is lexicographic, solved in three passes, each holding the
optimum of the ones before: maximise the covered demand
``sum weight[r] c[r]``; minimise the GPUs touched; minimise the number of
new geometries per model ``sum y`` (a tie-break given :data:`TIE_LIMIT`
seconds; without an answer in time the second pass's plan stands).
"""

import dataclasses
import time
import typing

from nova_mig import exception

if typing.TYPE_CHECKING:
    # NumPy (typed) comes with the optional extra: imported when solving.
    import numpy
    from numpy import typing as numpy_typing
    Vector = numpy_typing.NDArray[numpy.float64]

#: The extra that installs the solver's libraries (SciPy and NumPy): an
#: admin workstation needs it for "openstack mig rebalance plan", a
#: compute host does not.
EXTRA = 'rebalance'

#: Seconds HiGHS may spend on each pass before the best plan found is used.
DEFAULT_TIME_LIMIT = 60.0
#: Seconds for the last pass, a tie-break between equally good plans.
TIE_LIMIT = 5.0


@dataclasses.dataclass(frozen=True)
class Option:
    """One geometry a group of GPUs may take."""

    #: Free slices per profile a GPU offers with this geometry.
    free: dict[str, int]
    #: Identity of the whole geometry within its model (for ``y``): the
    #: model and the sorted profiles of its GPU instances; None for the
    #: option that keeps the GPU as it is.
    geometry: tuple[str, tuple[str, ...]] | None = None

    @property
    def current(self) -> bool:
        return self.geometry is None


@dataclasses.dataclass
class Group:
    """Interchangeable GPUs."""

    count: int
    options: list[Option]
    scopes: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Row:
    """Free slices of ``profile`` wanted within ``scope`` ('' = cloud)."""

    profile: str
    wanted: int
    scope: str = ''
    #: Value of one covered slice (the profile's compute slices).
    weight: int = 1


@dataclasses.dataclass
class Solution:
    #: Per group: option index -> GPUs.
    chosen: list[dict[int, int]]
    covered: list[int]
    touched: int
    geometries: int
    seconds: float
    optimal: bool = True
    #: Seconds of each HiGHS pass.
    passes: list[float] = dataclasses.field(default_factory=list)


class MilpResult(typing.Protocol):
    """What the planner reads of ``scipy.optimize.milp``'s answer."""

    #: The solution; None when none was found.
    x: 'Vector | None'
    #: The objective's value at :attr:`x`.
    fun: float
    #: 0 when proved optimal.
    status: int
    message: str


def _in_scope(group: Group, row: Row) -> bool:
    return not row.scope or row.scope in group.scopes


def _libraries() -> tuple[typing.Any, typing.Any, typing.Any]:
    """NumPy, ``scipy.optimize`` and ``scipy.sparse``.

    :raises: :class:`nova_mig.exception.RebalanceExtraMissing`
    """
    try:
        import numpy
        from scipy import optimize
        from scipy import sparse
    except ImportError as e:
        raise exception.RebalanceExtraMissing(reason=e, extra=EXTRA)
    return numpy, optimize, sparse


def require() -> None:
    """Raise unless the solver's libraries are installed.

    Called before a plan reads anything, so a missing extra is said
    first, in one line.

    :raises: :class:`nova_mig.exception.RebalanceExtraMissing`
    """
    _libraries()


def solve(groups: list[Group], rows: list[Row],
          max_gpus: int | None = None,
          time_limit: float = DEFAULT_TIME_LIMIT) -> Solution:
    """Choose geometries; see the module docstring for the program.

    :raises: :class:`nova_mig.exception.RebalanceSolverFailed`,
        :class:`nova_mig.exception.RebalanceExtraMissing`
    """
    numpy, optimize, sparse = _libraries()
    started = time.monotonic()
    x_index = []
    for k, group in enumerate(groups):
        for o in range(len(group.options)):
            x_index.append((k, o))
    nx = len(x_index)
    nc = len(rows)
    geometries: dict[tuple[str, tuple[str, ...]], int] = {}
    for k, o in x_index:
        geo = groups[k].options[o].geometry
        if geo is not None and geo not in geometries:
            geometries[geo] = len(geometries)
    ny = len(geometries)
    n = nx + nc + ny
    # Constraint matrix, built as coordinates.
    data: list[float] = []
    rows_i: list[int] = []
    cols: list[int] = []
    lower: list[float] = []
    upper: list[float] = []

    def add(entries: typing.Iterable[tuple[int, float]], lo: float,
            hi: float) -> None:
        line = len(lower)
        for col, value in entries:
            rows_i.append(line)
            cols.append(col)
            data.append(value)
        lower.append(lo)
        upper.append(hi)

    first: dict[int, int] = {}
    for i, (k, o) in enumerate(x_index):
        first.setdefault(k, i)
    for k, group in enumerate(groups):
        start = first[k]
        add(((start + o, 1.0) for o in range(len(group.options))),
            group.count, group.count)
    for r, row in enumerate(rows):
        entries = [(nx + r, 1.0)]
        for i, (k, o) in enumerate(x_index):
            free = groups[k].options[o].free.get(row.profile, 0)
            if free and _in_scope(groups[k], row):
                entries.append((i, -float(free)))
        add(entries, -numpy.inf, 0.0)
    for i, (k, o) in enumerate(x_index):
        geo = groups[k].options[o].geometry
        if geo is not None:
            add(((i, 1.0), (nx + nc + geometries[geo],
                            -float(groups[k].count))), -numpy.inf, 0.0)
    change = [(i, 1.0) for i, (k, o) in enumerate(x_index)
              if groups[k].options[o].geometry is not None]
    if max_gpus is not None:
        add(change, 0.0, float(max_gpus))
    lo_bounds = numpy.zeros(n)
    hi_bounds = numpy.concatenate([
        numpy.array([float(groups[k].count) for k, _ in x_index]),
        numpy.array([float(r.wanted) for r in rows]),
        numpy.ones(ny)])
    integrality = numpy.concatenate([numpy.ones(nx), numpy.zeros(nc),
                                     numpy.ones(ny)])
    matrix = sparse.coo_matrix((data, (rows_i, cols)),
                               shape=(len(lower), n)).tocsr()
    bounds = optimize.Bounds(lo_bounds, hi_bounds)

    passes: list[float] = []

    # Constraints are SciPy's LinearConstraint objects (SciPy has no type
    # information): only handed back to it.
    def run(cost: 'Vector', extra: list[object], limit: float,
            required: bool = True) -> MilpResult:
        begun = time.monotonic()
        constraints = [optimize.LinearConstraint(matrix, lower, upper)]
        constraints += extra
        result: MilpResult = optimize.milp(
            cost, constraints=constraints, integrality=integrality,
            bounds=bounds, options={'time_limit': limit})
        passes.append(time.monotonic() - begun)
        if result.x is None and required:
            raise exception.RebalanceSolverFailed(reason=result.message)
        return result

    def at_least(weights: 'Vector', value: float) -> object:
        return optimize.LinearConstraint(
            weights.reshape(1, -1), value - 1e-6 * max(1.0, abs(value)),
            numpy.inf)

    # 1. The most covered demand, in compute slices.
    covered_cost = numpy.zeros(n)
    covered_cost[nx:nx + nc] = [-float(r.weight) for r in rows]
    first_pass = run(covered_cost, [], time_limit)
    floor = [at_least(-covered_cost, -float(first_pass.fun))]
    # 2. Holding it, the fewest GPUs touched.
    touched_cost = numpy.zeros(n)
    for i, _ in change:
        touched_cost[i] = 1.0
    second_pass = run(touched_cost, floor, time_limit)
    # 3. Holding both, the fewest new geometries: a tie-break, given
    # less time; without an answer in time the second pass's plan stands.
    geometry_cost = numpy.zeros(n)
    geometry_cost[nx + nc:] = 1.0
    third_pass = run(geometry_cost, floor + [at_least(
        -touched_cost, -float(second_pass.fun))], min(time_limit, TIE_LIMIT),
        required=False)
    final = third_pass if third_pass.x is not None else second_pass
    values = numpy.round(final.x).astype(int)
    chosen: list[dict[int, int]] = [dict() for _ in groups]
    for i, (k, o) in enumerate(x_index):
        if values[i]:
            chosen[k][o] = int(values[i])
    covered = []
    for row in rows:
        free = sum(groups[k].options[o].free.get(row.profile, 0) * count
                   for k, by_option in enumerate(chosen)
                   for o, count in by_option.items()
                   if _in_scope(groups[k], row))
        covered.append(min(row.wanted, free))
    return Solution(
        chosen=chosen, covered=covered,
        touched=int(sum(values[i] for i, _ in change)),
        geometries=int(sum(values[nx + nc:])),
        seconds=time.monotonic() - started,
        optimal=all(r.status == 0
                    for r in (first_pass, second_pass, third_pass)),
        passes=passes)
