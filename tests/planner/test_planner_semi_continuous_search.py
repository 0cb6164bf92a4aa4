"""Models whose only non-continuous columns are semi-continuous (a charger with a minimum power): the runner's
repair of the rounding and its own branch and bound (flexcem.planner.highs_runner, steps 3–4) return plans
within the gap of HiGHS's exact optimum, whichever step settles them; a charger's share below its minimum that
the plain options only move from slot to slot is settled by keeping the idle slots idle; and when the branch
and bound cannot prove the gap within its node limit (or the rounded plan is too far from the bound to try),
the MILP still decides.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from flexcem.planner import highs_runner as runner_module
from flexcem.planner.builder import ColumnKind, Level, ModelBuilder
from flexcem.planner.grid import FloatArray, IntArray
from flexcem.planner.highs_runner import HighsRunner, RunResult
from highs_reference import exact_optimum, loaded_runner

GAP = 1e-4
"""The planner's default relative MIP gap."""


class _NothingDiscrete:
    """The :class:`~flexcem.planner.highs_runner.Rounding` of a model without discrete columns."""

    def is_integral(self, x: FloatArray) -> bool:
        return True

    def round(self, x_relaxed: FloatArray, cost: FloatArray) -> FloatArray:
        return x_relaxed.copy()

    def dive(self, x_relaxed: FloatArray) -> tuple[IntArray, FloatArray] | None:
        return None


def _charger(seed: int, slots: int = 12) -> tuple[ModelBuilder, FloatArray]:
    """A charger (0 or 2–5 kW per 1 h slot) that must deliver an energy, fed in three slots by a little cheap surplus
    (0–1.5 kW at a low price) and the grid (at the slot's price): the relaxation spreads small shares over the
    surplus, below the charger's minimum; a fixed cost of the rest of the home makes the relaxation's gap about
    the size of the simulation's (1e-4 to 1e-2). Returns the builder and its objective."""
    rng = random.Random(seed)
    builder = ModelBuilder()
    power = builder.add_columns(slots, 2.0, 5.0, ColumnKind.SEMI_CONTINUOUS)
    sunny = set(rng.sample(range(slots), 3))
    surplus = builder.add_columns(slots, 0.0, [rng.uniform(0.0, 1.5) if k in sunny else 0.0 for k in range(slots)])
    grid = builder.add_columns(slots, 0.0, 5.0)
    balance = builder.add_rows(slots, 0.0, 0.0)  # power − surplus − grid = 0
    builder.add_entries(balance, power, np.ones(slots))
    builder.add_entries(balance, surplus, -np.ones(slots))
    builder.add_entries(balance, grid, -np.ones(slots))
    energy = rng.uniform(6.0, 20.0)
    need = builder.add_rows(1, energy, energy)
    builder.add_entries(np.full(slots, need[0]), power, np.ones(slots))
    builder.add_objective(Level.COST, surplus, [rng.uniform(0.01, 0.05) for _ in range(slots)])
    builder.add_objective(Level.COST, grid, [rng.uniform(0.2, 0.4) for _ in range(slots)])
    household = builder.add_columns(1, 1.0, 1.0)  # the cost of the rest of the home, which the charger leaves
    builder.add_objective(Level.COST, household, [rng.uniform(500.0, 2000.0)])
    return builder, builder.objective(Level.COST)


def _run(builder: ModelBuilder, objective: FloatArray) -> tuple[RunResult, HighsRunner]:
    runner = loaded_runner(builder, objective)
    result = runner.run(time_limit_s=30.0, mip_rel_gap=GAP, start=None, rounding=_NothingDiscrete())
    return result, runner


def _valid(builder: ModelBuilder, x: FloatArray) -> bool:
    power = x[builder.col_kind == ColumnKind.SEMI_CONTINUOUS]
    return bool(np.all((power <= 1e-6) | (power >= 2.0 - 1e-6)))


SEEDS = range(24)


def test_semi_continuous_models_are_within_the_gap_of_the_exact_optimum_whichever_step_settles_them() -> None:
    methods = set()
    for seed in SEEDS:
        builder, objective = _charger(seed)
        result, runner = _run(builder, objective)
        assert result.x is not None and result.optimal and _valid(builder, result.x), seed
        best = exact_optimum(builder, objective)
        value = runner.value(result.x)
        assert best - 1e-6 <= value <= best + GAP * abs(best) + 1e-6, (seed, result.method)
        methods.add(result.method)
    assert {"rounding", "branching"} <= methods  # the seeds exercise the repair and the branch and bound


def test_a_share_below_the_minimum_is_settled_by_keeping_the_idle_slots_idle() -> None:
    """Slots 0 and 1 charge 4 kW cheaply, more at a higher price; the relaxation charges the 9th kWh in the
    cheapest idle slot, below the 4 kW minimum. Switching it off only moves it to the next idle slot, and on
    costs 3 kWh moved from the cheap slots; keeping the idle slots at 0 charges it in slot 0 or 1 at the
    higher price, which is the optimum."""
    builder = ModelBuilder()
    slots = 10
    power = builder.add_columns(slots, 4.0, 5.0, ColumnKind.SEMI_CONTINUOUS)
    cheap = builder.add_columns(2, 0.0, 4.0)
    dear = builder.add_columns(2, 0.0, 5.0)
    split = builder.add_rows(2, 0.0, 0.0)  # power − cheap − dear = 0 in slots 0 and 1
    builder.add_entries(split, power[:2], np.ones(2))
    builder.add_entries(split, cheap, -np.ones(2))
    builder.add_entries(split, dear, -np.ones(2))
    need = builder.add_rows(1, 9.0, 9.0)
    builder.add_entries(np.full(slots, need[0]), power, np.ones(slots))
    builder.add_objective(Level.COST, cheap, [0.1, 0.1])
    builder.add_objective(Level.COST, dear, [0.25, 0.25])
    builder.add_objective(Level.COST, power[2:], [0.2 + 0.001 * k for k in range(slots - 2)])
    household = builder.add_columns(1, 1.0, 1.0)
    builder.add_objective(Level.COST, household, [2000.0])
    objective = builder.objective(Level.COST)
    result, runner = _run(builder, objective)
    assert result.method == "rounding" and result.x is not None
    assert runner.value(result.x) == pytest.approx(exact_optimum(builder, objective), abs=1e-9)
    assert np.all(result.x[power[2:]] == 0.0)


def test_the_milp_decides_when_the_branch_and_bound_cannot_prove_the_gap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_SEMI_NODES", 1)
    seen = 0
    for seed in SEEDS:
        builder, objective = _charger(seed)
        with monkeypatch.context() as patch:
            patch.setattr(runner_module, "_SEMI_NODES", 10_000)
            unlimited, _ = _run(builder, objective)
        if unlimited.method != "branching":
            continue
        seen += 1
        result, runner = _run(builder, objective)
        assert result.method == "mip" and result.x is not None
        best = exact_optimum(builder, objective)
        assert best - 1e-6 <= runner.value(result.x) <= best + GAP * abs(best) + 1e-6
    assert seen


def test_a_rounded_plan_far_from_the_bound_goes_to_the_milp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner_module, "_SEMI_GAPS", 0.0)  # no rounded plan is close enough
    for seed in SEEDS:
        builder, objective = _charger(seed)
        result, _ = _run(builder, objective)
        assert result.method != "branching"
