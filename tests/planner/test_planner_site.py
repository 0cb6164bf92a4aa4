"""Site limits are soft: when they cannot be met the planner still plans and names every violation."""

from __future__ import annotations

import numpy as np
import pytest
from planner_builders import DISHWASHER, WASHER_ECO, at, committed, ev, flexible, prices, problem, sequence

from flexcem.model.power_profile import Direction
from flexcem.planner import PlanStatus, ViolationKind, exhaustive_optimum, solve


def test_unavoidable_overload_is_planned_with_violations_and_amounts() -> None:
    # Two 2 kW jobs that must both run 12:00–13:00 under a 3 kW limit, with 500 W of base load.
    heater = flexible("heater", at(0), at(0), at(1), sequence("h", (60, 2000.0)))
    boiler = flexible("boiler", at(0), at(0), at(1), sequence("b", (60, 2000.0)))
    p = problem(
        [heater, boiler],
        prices([0.3, 0.3]),
        import_limit_w=3000.0,
        committed_load=committed((at(0), 60, 500.0)),
    )
    plan = solve(p)
    assert plan.status is PlanStatus.OPTIMAL
    excess = plan.violations_of(ViolationKind.SITE_IMPORT_LIMIT)
    assert [v.slot_start for v in excess] == [at(0), at(0, 15), at(0, 30), at(0, 45)]
    assert all(v.amount == pytest.approx(1500.0) and v.unit == "W" and v.device_id is None for v in excess)
    assert "above its limit of 3000 W" in excess[0].message
    assert plan.solves[:2] == ("blend:relaxation", "violation:relaxation")


def test_overload_is_kept_as_small_as_possible() -> None:
    # The dishwasher could avoid the washer's heating phase: the least violation wins over a lower cost.
    washer = flexible("washer", at(0), at(0), at(2), WASHER_ECO)
    dishwasher = flexible("dishwasher", at(0), at(1), at(4), DISHWASHER)
    p = problem([washer, dishwasher], prices([0.1, 0.5, 0.5, 0.5]), import_limit_w=2500.0)
    plan = solve(p)
    assert plan.violations == ()
    assert max(plan.site_power_w) <= 2500.0 + 1e-6
    best = exhaustive_optimum(p)
    assert best.best.violation == 0.0
    assert plan.total_cost == pytest.approx(best.cost)


def test_committed_load_alone_above_the_limit() -> None:
    washer = flexible("washer", at(0), at(2), at(4), WASHER_ECO)
    base = committed((at(1), 60, 5000.0))
    plan = solve(problem([washer], prices([0.3] * 4), import_limit_w=4000.0, committed_load=base))
    excess = plan.violations_of(ViolationKind.SITE_IMPORT_LIMIT)
    assert len(excess) == 4
    assert sum(v.amount for v in excess) == pytest.approx(4 * 1000.0)
    # The washer keeps out of the overloaded hour.
    power = np.array(plan.device("washer").power_w)
    assert np.all(power[4:8] == 0.0)


def test_export_limit_is_soft_too() -> None:
    pv = committed((at(0), 120, -6000.0))
    battery_like = flexible("chp", at(0), at(0), at(1), sequence("gen", (60, 1000.0), direction=Direction.GENERATION))
    plan = solve(
        problem(
            [battery_like],
            prices([0.3, 0.3]),
            export_limit_w=5000.0,
            committed_load=pv,
            export_prices=prices([0.1, 0.1]),
        )
    )
    excess = plan.violations_of(ViolationKind.SITE_EXPORT_LIMIT)
    assert len(excess) == 4
    assert all(v.amount == pytest.approx(2000.0) for v in excess)


def test_export_price_above_import_price_does_not_import_and_export_at_once() -> None:
    # Negative import price and a positive feed-in: without the direction binaries the LP would import
    # and export at the same time to cash the difference.
    pv = committed((at(0), 60, -3000.0))
    washer = flexible("washer", at(0), at(0), at(1), sequence("w", (60, 1000.0)))
    plan = solve(problem([washer], prices([-0.05]), export_prices=prices([0.08]), committed_load=pv))
    assert plan.total_cost == pytest.approx(-2.0 * 0.08)
    assert plan.site_power_w == pytest.approx((-2000.0,) * 4)


def test_ev_shortfall_rather_than_overload() -> None:
    charger = ev(at(0), at(2), 20_000.0, max_power_w=11_000.0)
    plan = solve(problem([charger], prices([0.3, 0.3]), import_limit_w=5_000.0))
    assert plan.violations_of(ViolationKind.SITE_IMPORT_LIMIT) == ()
    shortfall = plan.violations_of(ViolationKind.ENERGY_SHORTFALL)
    assert shortfall[0].amount == pytest.approx(10_000.0, abs=0.01)
    assert max(plan.site_power_w) <= 5_000.0 + 0.01


def test_plan_totals_are_consistent() -> None:
    washer = flexible("washer", at(0), at(3), at(5), WASHER_ECO)
    charger = ev(at(0), at(5), 8_000.0)
    base = committed((at(0), 300, 400.0))
    p = problem(
        [washer, charger],
        prices([0.3, 0.2, 0.1, 0.2, 0.3], [200.0] * 5),
        committed_load=base,
        import_limit_w=9_000.0,
    )
    plan = solve(p)
    hours = 0.25
    site = np.array(plan.site_power_w) / 1000.0
    assert plan.total_cost == pytest.approx(float(np.sum(np.maximum(site, 0) * plan.price_per_kwh) * hours))
    device_cost = sum(d.cost for d in plan.devices)
    base_cost = float(np.sum(np.array(plan.committed_power_w) / 1000.0 * plan.price_per_kwh) * hours)
    assert plan.total_cost == pytest.approx(device_cost + base_cost)
    assert plan.total_co2_g == pytest.approx(float(np.sum(site) * 200.0 * hours))
    assert plan.device("ev").energy_wh == pytest.approx(8_000.0, abs=0.01)
    assert plan.end == at(5)
    assert len(plan.slot_starts) == plan.slot_count == 20
    with pytest.raises(KeyError):
        plan.device("toaster")
