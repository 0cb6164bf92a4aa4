"""The runner's own branch and bound (flexcem.planner.highs_runner, step 4): on random MILPs with binaries and
semi-continuous columns it returns plans within the gap of HiGHS's exact optimum, leaves the LP instance's
bounds as it found them, gives up (None) when its node limit cannot prove the gap, and a planning problem
whose rounding misses the gap is settled by it within the gap of the exact optimum.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from planner_builders import at, flexible, prices, problem, sequence

from flexcem.planner import PlanningProblem, solve
from flexcem.planner import highs_runner as runner_module
from flexcem.planner.builder import ColumnKind, Level, ModelBuilder
from flexcem.planner.grid import FloatArray
from flexcem.planner.highs_runner import HighsRunner, RunResult
from flexcem.planner.model import build_model
from highs_reference import exact_optimum, loaded_runner

GAP = 1e-4
"""The planner's default relative MIP gap."""


def _random_model(seed: int) -> tuple[ModelBuilder, FloatArray]:
    """A knapsack of binaries and semi-continuous columns sharing two capacity rows; minimise −value.

    Returns the builder and its objective; all zeros is feasible (the incumbent of the tests).
    """
    rng = random.Random(seed)
    builder = ModelBuilder()
    binaries = builder.add_binaries(12)
    semi = builder.add_columns(6, 2.0, 5.0, ColumnKind.SEMI_CONTINUOUS)
    capacity = builder.add_rows(2, -np.inf, [rng.uniform(10.0, 20.0), rng.uniform(10.0, 20.0)])
    for row in capacity:
        builder.add_entries(np.full(12, row), binaries, [rng.uniform(1.0, 6.0) for _ in range(12)])
        builder.add_entries(np.full(6, row), semi, [rng.uniform(0.5, 2.0) for _ in range(6)])
    builder.add_objective(Level.COST, binaries, [-rng.uniform(1.0, 10.0) for _ in range(12)])
    builder.add_objective(Level.COST, semi, [-rng.uniform(0.5, 3.0) for _ in range(6)])
    return builder, builder.objective(Level.COST)


def _feasible(builder: ModelBuilder, x: FloatArray) -> bool:
    rows, cols, values = builder.matrix_coo()
    activity = np.zeros(builder.num_rows)
    np.add.at(activity, rows, values * x[cols])
    upper = np.concatenate(builder._row_upper)
    kinds = builder.col_kind
    semi = x[kinds == ColumnKind.SEMI_CONTINUOUS]
    binary = x[kinds == ColumnKind.INTEGER]
    return (
        bool(np.all(activity <= upper + 1e-6))
        and bool(np.all((semi <= 1e-6) | (semi >= 2.0 - 1e-6)))
        and bool(np.all(np.minimum(binary, 1.0 - binary) <= 1e-6))
    )


@pytest.mark.parametrize("seed", range(8))
def test_branch_and_bound_is_within_the_gap_of_the_exact_optimum(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_NODES", 10_000)  # the proof, not the limit, is under test here
    builder, objective = _random_model(seed)
    runner = loaded_runner(builder, objective)
    result = runner._branch_and_bound(np.zeros(builder.num_cols), GAP, deadline=float("inf"))
    assert result is not None and result.x is not None and result.optimal and result.method == "branching"
    assert _feasible(builder, result.x)
    best = exact_optimum(builder, objective)
    value = runner.value(result.x)
    assert best - 1e-6 <= value <= best + GAP * abs(best) + 1e-6
    assert result.mip_gap <= GAP


def test_branch_and_bound_restores_the_relaxations_bounds() -> None:
    builder, objective = _random_model(3)
    runner = loaded_runner(builder, objective)
    before = runner.lp.getLp()
    lower, upper = np.array(before.col_lower_), np.array(before.col_upper_)
    runner._branch_and_bound(np.zeros(builder.num_cols), GAP, deadline=float("inf"))
    after = runner.lp.getLp()
    assert np.array_equal(np.array(after.col_lower_), lower)
    assert np.array_equal(np.array(after.col_upper_), upper)


def test_branch_and_bound_gives_up_when_its_node_limit_cannot_prove_the_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_NODES", 1)
    builder, objective = _random_model(0)
    runner = loaded_runner(builder, objective)
    assert runner._branch_and_bound(np.zeros(builder.num_cols), GAP, deadline=float("inf")) is None


def _appliances(seed: int) -> PlanningProblem:
    """Three appliances with two programmes each over a jagged tariff and an import limit that binds."""
    rng = random.Random(seed)
    tariff = [round(rng.uniform(0.1, 0.4), 3) for _ in range(12)]
    devices = [
        flexible(
            f"job{index}",
            at(0),
            at(9),
            at(12),
            sequence("eco", *[(45, rng.uniform(500.0, 2500.0)) for _ in range(3)]),
            sequence("quick", *[(30, rng.uniform(1500.0, 3000.0)) for _ in range(2)]),
        )
        for index in range(3)
    ]
    return problem(devices, prices(tariff), import_limit_w=3500.0)


def _first_level(seed: int) -> tuple[str, float, float]:
    """How the first level of the appliances' plan was solved, its value, and the exact optimum of that level."""
    home = _appliances(seed)
    seen: list[tuple[str, float, FloatArray]] = []
    run = HighsRunner.run

    def recording(self: HighsRunner, **kwargs: Any) -> RunResult:
        result = run(self, **kwargs)
        assert result.x is not None
        seen.append((result.method, self.value(result.x), self.cost.copy()))
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HighsRunner, "run", recording)
        solve(home)
    method, value, objective = seen[0]  # the first level has no bound rows: the model itself
    return method, value, exact_optimum(build_model(home).builder, objective)


SEEDS = range(10)


def test_planning_problems_settled_by_branching_are_within_the_gap() -> None:
    methods = []
    for seed in SEEDS:
        method, value, best = _first_level(seed)
        methods.append(method)
        assert best - 1e-6 <= value <= best + GAP * abs(best) + 1e-6, (seed, method)
    assert "branching" in methods  # the seeds exercise the branch and bound
