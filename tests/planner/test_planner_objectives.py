"""The objectives "self_consumption" (imports first, cost second) and "weighted" (cost + CO2 at a price per kg
+ imports at a weight, all in currency) on a home with PV and a battery."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from home_data import battery, day_start, home, pv

from flexcem.planner import Plan, PlanningProblem, solve
from flexcem.planner.problem import ObjectiveWeights

START = day_start(7)  # Tuesday 8 June 2021, 00:00 CST


def imports_wh(plan: Plan) -> float:
    """Energy imported from the grid [Wh]."""
    return float(np.sum(np.maximum(plan.site_power_w, 0.0)) * plan.slot_duration.total_seconds() / 3600.0)


def problem(objective: str = "cost", **extra: Any) -> PlanningProblem:
    # A battery nearly empty at midnight and a small PV: buying cheap night energy for the evening peak pays.
    return home(
        START,
        24,
        [pv(START, 24, 0.5), battery(0.15, final_energy_wh=1000.0)],
        export_share=0.4,
        objective=objective,
        **extra,
    )


def test_self_consumption_imports_least_and_is_cheapest_among_such_plans() -> None:
    cost = solve(problem("cost"))
    own = solve(problem("self_consumption"))
    assert imports_wh(own) < imports_wh(cost) - 20.0  # the cost plan charges from the grid for the peak
    assert own.total_cost > cost.total_cost
    # The battery is charged from the PV only: it never charges while the site imports.
    power = np.array(own.device("battery").power_w)
    site = np.array(own.site_power_w)
    assert np.all((power <= 1e-6) | (site <= 1e-6))


def test_self_consumption_without_any_flexibility_is_the_cost_plan() -> None:
    plain = home(START, 24, [pv(START, 24, 3.0, curtailable=False)])
    assert solve(plain).site_power_w == solve(plain.model_copy(update={"objective": "self_consumption"})).site_power_w


def test_weighted_with_cost_only_is_the_cost_objective() -> None:
    cost = solve(problem("cost"))
    weighted = solve(problem("weighted", weights=ObjectiveWeights(cost=1.0)))
    assert weighted.total_cost == pytest.approx(cost.total_cost, abs=1e-6)


def test_weighted_with_a_high_import_weight_imports_like_self_consumption() -> None:
    own = solve(problem("self_consumption"))
    weighted = solve(problem("weighted", weights=ObjectiveWeights(cost=1.0, import_weight_per_kwh=10.0)))
    assert imports_wh(weighted) == pytest.approx(imports_wh(own), abs=1.0)


def test_weighted_co2_price_trades_cost_for_co2() -> None:
    cost = solve(problem("cost"))
    green = solve(problem("weighted", weights=ObjectiveWeights(cost=1.0, co2_price_per_kg=2.0)))
    assert green.total_co2_g is not None and cost.total_co2_g is not None
    assert green.total_co2_g < cost.total_co2_g - 1.0
    assert green.total_cost >= cost.total_cost - 1e-9


def test_weighted_co2_price_without_co2_data_is_a_warning() -> None:
    bare = problem("weighted", weights=ObjectiveWeights(co2_price_per_kg=1.0, cost=1.0))
    no_co2 = tuple(slot.model_copy(update={"co2_g_per_kwh": None}) for slot in bare.prices)
    plan = solve(bare.model_copy(update={"prices": no_co2}))
    assert any("co2_price_per_kg ignored" in warning for warning in plan.warnings)
