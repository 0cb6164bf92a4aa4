"""The MILP of a model with semi-continuous columns (a charger with a minimum power) runs from the best plan
known so far (flexcem.planner.highs_runner, step 5: HiGHS gets it as its first incumbent, without presolve):
whatever the start — the repaired rounding, a poor feasible plan, the optimum itself or an infeasible point
no cheaper than the optimum — the plan is within the gap of HiGHS's exact optimum, valid, and HiGHS's verdict
matches it; when HiGHS returns nothing, the start is the plan. A model passed as arrays solves as the same
model passed as a HighsLp.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_planner_semi_continuous_search import GAP, SEEDS, _charger, _NothingDiscrete, _valid

from flexcem.planner import highs_runner as runner_module
from flexcem.planner.builder import ColumnKind, ModelBuilder
from flexcem.planner.grid import FloatArray
from flexcem.planner.highs_runner import HighsRunner, RunResult
from highs_reference import exact_optimum, exact_solution, loaded_runner


def _poor_start(builder: ModelBuilder, objective: FloatArray) -> FloatArray:
    """A feasible plan of :func:`_charger`'s model: the energy from the grid alone, shared equally by the
    fewest of the dearest slots that can take it (each then between the 2 kW minimum and the 5 kW limit)."""
    power_cols = np.flatnonzero(builder.col_kind == ColumnKind.SEMI_CONTINUOUS)
    slots = power_cols.size
    grid_cols = power_cols + 2 * slots
    energy = float(builder.to_lp(objective).row_lower_[slots])
    x = np.zeros(builder.num_cols)
    x[grid_cols[-1] + 1] = 1.0  # the household column
    dearest = np.argsort(-objective[grid_cols])[: int(np.ceil(energy / 5.0))]
    x[power_cols[dearest]] = x[grid_cols[dearest]] = energy / dearest.size
    return x


def _check(builder: ModelBuilder, objective: FloatArray, runner: HighsRunner, result: RunResult) -> None:
    assert result.x is not None and result.optimal and not result.from_start
    assert _valid(builder, result.x)
    best = exact_optimum(builder, objective)
    value = runner.value(result.x)
    assert best - 1e-6 <= value <= best + GAP * abs(best) + 1e-6
    assert 0.0 <= result.mip_gap <= GAP


@pytest.mark.parametrize("start", ["poor", "optimum", "infeasible", "none"])
def test_the_milp_from_any_start_is_within_the_gap_of_the_exact_optimum(start: str) -> None:
    for seed in SEEDS:
        builder, objective = _charger(seed)
        runner = loaded_runner(builder, objective)
        if start == "poor":
            x0: FloatArray | None = _poor_start(builder, objective)
        elif start == "optimum":
            x0 = exact_solution(builder, objective)
        elif start == "infeasible":
            x0 = _poor_start(builder, objective)  # as dear, but below every minimum and short of energy
            x0[builder.col_kind == ColumnKind.SEMI_CONTINUOUS] = 1.0
        else:
            x0 = None
        result = runner._solve_mip(30.0, GAP, x0)
        _check(builder, objective, runner, result)


def test_rounded_plans_far_from_the_bound_are_settled_by_the_milp_from_them_within_the_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner_module, "_SEMI_GAPS", 0.0)  # no branch and bound: the MILP from the rounded plan
    started = 0
    original = HighsRunner._solve_mip

    def counting(self: HighsRunner, time_limit_s: float, gap: float, start: FloatArray | None) -> RunResult:
        nonlocal started
        started += start is not None
        return original(self, time_limit_s, gap, start)

    monkeypatch.setattr(HighsRunner, "_solve_mip", counting)
    for seed in SEEDS:
        builder, objective = _charger(seed)
        runner = loaded_runner(builder, objective)
        result = runner.run(time_limit_s=30.0, mip_rel_gap=GAP, start=None, rounding=_NothingDiscrete())
        assert result.x is not None and result.optimal and _valid(builder, result.x)
        best = exact_optimum(builder, objective)
        assert best - 1e-6 <= runner.value(result.x) <= best + GAP * abs(best) + 1e-6, (seed, result.method)
    assert started  # some seeds reached the MILP with a rounded plan


def test_the_start_is_the_plan_when_highs_returns_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    builder, objective = _charger(0)
    runner = loaded_runner(builder, objective)
    start = _poor_start(builder, objective)
    monkeypatch.setattr(runner_module, "_run", lambda highs: None)  # HiGHS never runs: no solution
    result = runner._solve_mip(30.0, GAP, start)
    assert result.from_start and not result.optimal and result.x is not None
    assert np.array_equal(result.x, start)


def test_successive_levels_do_not_reuse_an_earlier_start() -> None:
    """A start given to one level is not carried to the next (its objective and rows differ)."""
    builder, objective = _charger(3)
    runner = loaded_runner(builder, objective)
    first = runner._solve_mip(30.0, GAP, _poor_start(builder, objective))
    assert first.x is not None
    runner.add_bound(objective, runner.value(first.x) + 1e-6)
    reversed_objective = -objective.copy()
    reversed_objective[np.flatnonzero(builder.col_kind == ColumnKind.SEMI_CONTINUOUS)] *= 0.0
    runner.set_objective(reversed_objective)
    second = runner._solve_mip(30.0, GAP, None)
    assert second.x is not None and second.optimal and _valid(builder, second.x)
    assert runner.value(second.x) <= runner.value(first.x) + 1e-6


def test_a_model_passed_as_arrays_solves_as_the_same_model_passed_as_a_highs_lp() -> None:
    for seed in range(6):
        builder, objective = _charger(seed)
        values = []
        for source in (builder.to_lp(objective), builder.to_arrays(objective)):
            runner = HighsRunner()
            runner.load(source, builder.col_kind)
            runner.set_objective(objective)
            result = runner.run(time_limit_s=30.0, mip_rel_gap=GAP, start=None, rounding=_NothingDiscrete())
            assert result.x is not None
            values.append(runner.value(result.x))
            assert np.array_equal(runner.lower, builder.col_lower) and np.array_equal(runner.upper, builder.col_upper)
        assert values[0] == pytest.approx(values[1], rel=1e-9)
