"""Flexible-start jobs: incentive programmes, plan stability, impossible windows, friendly tie-breaks."""

from __future__ import annotations

import numpy as np
import pytest
from planner_builders import DISHWASHER, WASHER_ECO, WASHER_QUICK, at, flexible, prices, problem, sequence

from flexcem.model.flexibility import FlexibleStartOffer, IncentiveProgram
from flexcem.model.power_profile import Direction, PowerProfile
from flexcem.planner import FlexibleStartDevice, PlanStatus, ViolationKind, exhaustive_optimum, solve

# Cheap when the grid is dirty, dear when it is clean: price and CO2 disagree.
PRICES = [0.40, 0.10, 0.40, 0.40, 0.30, 0.40, 0.40, 0.40]
CO2 = [300.0, 650.0, 300.0, 300.0, 120.0, 300.0, 300.0, 300.0]
ONE_HOUR = sequence("run", (60, 2000.0))


def test_cheapest_and_greenest_differ_when_price_and_co2_disagree() -> None:
    cheapest = flexible("washer", at(0), at(6), at(8), ONE_HOUR)
    greenest = cheapest.model_copy(update={"incentive": IncentiveProgram.GREENEST})
    cheap_plan = solve(problem([cheapest], prices(PRICES, CO2)))
    green_plan = solve(problem([greenest], prices(PRICES, CO2)))
    assert cheap_plan.device("washer").start == at(1)
    assert green_plan.device("washer").start == at(4)
    assert cheap_plan.total_cost < green_plan.total_cost
    assert cheap_plan.total_co2_g is not None
    assert green_plan.total_co2_g is not None
    assert green_plan.total_co2_g < cheap_plan.total_co2_g
    assert green_plan.device("washer").co2_g == pytest.approx(2.0 * 120.0)
    assert green_plan.solves == ("co2:relaxation", "cost:relaxation")


def test_greenest_breaks_co2_ties_by_cost() -> None:
    greenest = flexible("washer", at(0), at(6), at(8), ONE_HOUR, incentive=IncentiveProgram.GREENEST)
    plan = solve(problem([greenest], prices([0.4, 0.3, 0.2, 0.5, 0.1, 0.6, 0.4, 0.4], [200.0] * 8)))
    assert plan.device("washer").start == at(4)  # every hour is as green: the cheapest wins


def test_co2_objective_minimises_site_co2_first() -> None:
    washer = flexible("washer", at(0), at(6), at(8), ONE_HOUR)
    plan = solve(problem([washer], prices(PRICES, CO2), objective="co2"))
    assert plan.device("washer").start == at(4)


def test_greenest_without_co2_data_is_planned_cheapest_with_a_warning() -> None:
    washer = flexible("washer", at(0), at(6), at(8), ONE_HOUR, incentive=IncentiveProgram.GREENEST)
    plan = solve(problem([washer], prices(PRICES)))
    assert plan.device("washer").start == at(1)
    assert plan.co2_g_per_kwh is None
    assert plan.device("washer").co2_g is None
    assert any("greenest" in warning and "washer" in warning for warning in plan.warnings)


def test_committed_start_kept_unless_the_saving_exceeds_the_move_penalty() -> None:
    # Committed at 14:00 (0.40/kWh); 13:00 is 0.10/kWh: moving saves 2 kWh × 0.30 = 0.60.
    def plan_with(penalty: float) -> FlexibleStartDevice:
        return flexible(
            "washer",
            at(0),
            at(6),
            at(8),
            ONE_HOUR,
            committed_start=at(2),
            committed_sequence_id="run",
            move_penalty=penalty,
        )

    kept = solve(problem([plan_with(0.61)], prices(PRICES)))
    assert kept.device("washer").start == at(2)
    assert kept.device("washer").moved is False
    assert kept.move_cost == 0.0
    moved = solve(problem([plan_with(0.59)], prices(PRICES)))
    assert moved.device("washer").start == at(1)
    assert moved.device("washer").moved is True
    assert moved.move_cost == pytest.approx(0.59)
    # Without a penalty the committed start is irrelevant.
    free = solve(problem([plan_with(0.0)], prices(PRICES)))
    assert free.device("washer").start == at(1)


def test_committed_start_off_the_grid_is_a_candidate() -> None:
    washer = flexible(
        "washer",
        at(0),
        at(6),
        at(8),
        ONE_HOUR,
        committed_start=at(2, 7),
        committed_sequence_id="run",
        move_penalty=10.0,
    )
    plan = solve(problem([washer], prices(PRICES)))
    assert plan.device("washer").start == at(2, 7)
    assert plan.device("washer").moved is False


def test_changing_the_committed_sequence_counts_as_a_move() -> None:
    washer = flexible(
        "washer",
        at(0),
        at(6),
        at(8),
        WASHER_ECO,
        WASHER_QUICK,
        committed_start=at(1),
        committed_sequence_id="eco",
        move_penalty=100.0,
    )
    plan = solve(problem([washer], prices(PRICES)))
    assert plan.device("washer").sequence_id == "eco"
    assert plan.device("washer").start == at(1)


def test_window_already_passed_is_planned_as_soon_as_possible_with_violations() -> None:
    # The window opened at 09:00 and the job had to end by 12:30; now it is 12:00 and the job runs 80 min.
    washer = flexible("washer", at(-3), at(-1), at(0, 30), WASHER_ECO)
    plan = solve(problem([washer], prices([0.3, 0.3], start=at(0))))
    result = plan.device("washer")
    assert result.start == at(0)
    assert result.end == at(1, 20)
    late_start = plan.violations_of(ViolationKind.LATEST_START)
    late_end = plan.violations_of(ViolationKind.LATEST_END)
    assert len(late_start) == 1
    assert late_start[0].amount == 3600.0
    assert late_start[0].unit == "s"
    assert len(late_end) == 1
    assert late_end[0].amount == 50 * 60.0
    assert late_end[0].device_id == "washer"
    assert plan.status is PlanStatus.OPTIMAL


def test_impossible_window_prefers_the_least_late_alternative() -> None:
    washer = flexible("washer", at(-3), at(-1), at(0, 30), WASHER_ECO, WASHER_QUICK)
    plan = solve(problem([washer], prices([0.3, 0.3], start=at(0))))
    assert plan.device("washer").sequence_id == "quick"
    assert plan.violations_of(ViolationKind.LATEST_END)[0].amount == 10 * 60.0


def test_window_partly_in_the_past_starts_now_or_later() -> None:
    washer = flexible("washer", at(-2), at(3), at(6), ONE_HOUR)
    plan = solve(problem([washer], prices([0.1, 0.4, 0.4, 0.4, 0.4, 0.4])))
    assert plan.device("washer").start == at(0)
    assert plan.violations == ()


def test_equal_cost_prefers_earlier_completion() -> None:
    washer = flexible("washer", at(0, 10), at(5), at(7), ONE_HOUR)
    dishwasher = flexible("dishwasher", at(0), at(5), at(7), DISHWASHER)
    plan = solve(problem([washer, dishwasher], prices([0.25] * 7)))
    assert plan.device("washer").start == at(0, 10)
    assert plan.device("dishwasher").start == at(0)


def test_equal_cost_prefers_lower_co2() -> None:
    washer = flexible("washer", at(0), at(5), at(7), ONE_HOUR)
    plan = solve(problem([washer], prices([0.25] * 7, [400.0, 390.0, 380.0, 200.0, 380.0, 390.0, 400.0])))
    assert plan.device("washer").start == at(3)


def test_generation_is_negative_power() -> None:
    generator = flexible("chp", at(0), at(4), at(6), sequence("gen", (60, 1500.0), direction=Direction.GENERATION))
    plan = solve(
        problem(
            [generator],
            prices([0.10, 0.20, 0.50, 0.20, 0.10, 0.10]),
            export_prices=prices([0.05, 0.05, 0.30, 0.05, 0.05, 0.05]),
        )
    )
    result = plan.device("chp")
    assert result.start == at(2)  # exported at the best remuneration
    assert result.energy_wh == pytest.approx(-1500.0)
    assert min(result.power_w) == pytest.approx(-1500.0)
    assert plan.total_cost == pytest.approx(-1.5 * 0.30)


def test_matches_exhaustive_on_a_realistic_evening() -> None:
    washer = flexible("washer", at(5), at(9), at(11), WASHER_ECO, WASHER_QUICK)
    dishwasher = flexible("dishwasher", at(6), at(10), at(12), DISHWASHER)
    dryer = flexible("dryer", at(7), at(10), at(12), sequence("dry", (20, 2500.0), (70, 2200.0), (10, 300.0)))
    evening = [0.30, 0.30, 0.32, 0.35, 0.40, 0.45, 0.42, 0.38, 0.30, 0.25, 0.22, 0.20, 0.21]
    p = problem(
        [washer, dishwasher, dryer],
        prices(evening, [300.0 + 10 * h for h in range(13)]),
        import_limit_w=3500.0,
    )
    plan = solve(p)
    best = exhaustive_optimum(p)
    assert plan.violations == ()
    assert plan.total_cost == pytest.approx(best.cost, rel=1e-6)
    assert max(plan.site_power_w) <= 3500.0 + 1e-6


def test_from_offer_keeps_the_window_and_profile() -> None:
    offer = FlexibleStartOffer(
        offer_id="job-1",
        device_id="washer",
        earliest_start=at(0),
        latest_start=at(3),
        latest_end=at(5),
        programme_duration=WASHER_ECO.duration,
        profile=PowerProfile(alternatives=(WASHER_ECO, WASHER_QUICK)),
        incentive=IncentiveProgram.GREENEST,
    )
    device = FlexibleStartDevice.from_offer(offer)
    assert device.alternatives == (WASHER_ECO, WASHER_QUICK)
    assert device.latest_start == at(3)
    assert device.incentive is IncentiveProgram.GREENEST
    plan = solve(problem([device], prices([0.2] * 5, [300.0] * 5)))
    assert np.isclose(sum(plan.device("washer").power_w) / 4.0, plan.device("washer").energy_wh)
