"""The battery kind: the stored energy follows the exact step of docs/home-physics.md and stays in its band;
a start outside the band, an unreachable final energy or reserve give a plan with named violations."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_data import PARAMETERS, battery, day_start, home, pv

from flexcem.model.home_parameters import BatteryParameters
from flexcem.physics import battery_step_coefficients, step
from flexcem.planner import Plan, PlanStatus, ViolationKind, solve
from flexcem.planner.devices.battery import ReserveSlot

START = day_start(1)  # Wednesday 2 June 2021, 00:00 CST


def replay(plan: Plan, device_id: str, parameters: BatteryParameters, initial_wh: float) -> np.ndarray:
    """The battery's energy [Wh] at the slot boundaries, stepped by flexcem.physics from the planned flows."""
    device = plan.device(device_id)
    stored_input = parameters.charge_efficiency * np.array(device.charge_power_w) - np.array(
        device.discharge_power_w
    ) / parameters.discharge_efficiency
    hours = plan.slot_duration.total_seconds() / 3600.0
    return step(initial_wh, stored_input, battery_step_coefficients(parameters.self_discharge_per_h, hours))


def test_stored_energy_follows_the_exact_step_and_stays_in_the_band() -> None:
    parameters = PARAMETERS.model_copy(update={"self_discharge_per_h": 0.002})  # visible self-discharge
    problem = home(START, 24, [pv(START, 24, 5.0), battery(0.3, parameters=parameters)], export_share=0.4)
    plan = solve(problem)
    assert plan.status is PlanStatus.OPTIMAL and plan.violations == ()
    device = plan.device("battery")
    assert device.state_quantity == "stored_energy" and device.state_unit == "Wh"
    assert device.state is not None and len(device.state) == plan.slot_count + 1
    state = np.array(device.state)
    assert state[0] == pytest.approx(3000.0)
    np.testing.assert_allclose(state, replay(plan, "battery", parameters, 3000.0), rtol=0, atol=1e-3)
    assert np.all(state >= 0.1 * 10_000 - 1e-6) and np.all(state <= 0.95 * 10_000 + 1e-6)
    assert np.all(np.array(device.power_w) <= 5_000 + 1e-6) and np.all(np.array(device.power_w) >= -5_000 - 1e-6)
    assert state[-1] >= 3000.0 - 1e-3  # not emptied for free


def test_the_battery_is_used_and_lowers_the_cost() -> None:
    without = solve(home(START, 24, [pv(START, 24, 5.0)], export_share=0.4))
    with_battery = solve(home(START, 24, [pv(START, 24, 5.0), battery(0.3)], export_share=0.4))
    assert with_battery.total_cost < without.total_cost - 0.01
    assert max(with_battery.device("battery").power_w) > 1000.0


def test_the_systems_own_consumption_is_drawn_in_every_slot() -> None:
    parameters = PARAMETERS.model_copy(update={"standby_w": 15.0, "self_discharge_per_h": 0.0})
    plan = solve(home(START, 24, [battery(0.5, parameters=parameters)]))
    device = plan.device("battery")
    power = np.array(device.power_w)
    flow = np.array(device.charge_power_w) - np.array(device.discharge_power_w)
    np.testing.assert_allclose(power, flow + 15.0, atol=1e-6)
    assert np.isclose(flow, 0.0).any() and (~np.isclose(flow, 0.0)).any()
    # The stored energy changes by exactly the converted charge and discharge flows.
    np.testing.assert_allclose(
        np.array(plan.device("battery").state), replay(plan, "battery", parameters, 5000.0), atol=1e-3
    )
    site = np.array(plan.committed_power_w) + power
    np.testing.assert_allclose(plan.site_power_w, site, atol=1e-6)


def test_start_below_soc_min_reachable_in_the_first_slot_is_met_without_violation() -> None:
    plan = solve(home(START, 12, [battery(0.02)]))
    device = plan.device("battery")
    assert plan.violations == ()
    # From 200 Wh, soc_min (1000 Wh) needs 800 Wh / 0.95 in the first quarter hour: at least 3368 W.
    assert device.power_w[0] >= 800.0 / 0.95 / 0.25 - 1e-3
    assert np.all(np.array(device.state)[1:] >= 1000.0 - 1e-6)


def test_start_far_below_soc_min_reports_every_slot_it_cannot_reach_the_band() -> None:
    parameters = PARAMETERS.model_copy(update={"charge_power_max_w": 1_000.0, "soc_min": 0.3})
    plan = solve(home(START, 12, [battery(0.0, parameters=parameters)]))
    violations = plan.violations_of(ViolationKind.SOC_BAND)
    # 3000 Wh at 950 Wh/h: the band is reached in the 13th quarter hour; the first 12 end below it.
    assert len(violations) == 12
    assert violations[0].slot_start == START and violations[0].amount == pytest.approx(3000 - 237.5, abs=0.1)
    assert all(p == pytest.approx(1000.0) for p in plan.device("battery").power_w[:12])
    assert plan.status is PlanStatus.OPTIMAL


def test_start_above_soc_max_discharges_and_names_the_violation() -> None:
    parameters = PARAMETERS.model_copy(update={"discharge_power_max_w": 1_000.0, "soc_max": 0.8})
    plan = solve(home(START, 12, [battery(1.0, parameters=parameters)]))
    violations = plan.violations_of(ViolationKind.SOC_BAND)
    assert violations and "above soc_max" in violations[0].message
    state = np.array(plan.device("battery").state)
    assert state[-1] <= 8000.0 + 1e-6
    assert plan.device("battery").power_w[0] == pytest.approx(-1000.0)


def test_unreachable_final_energy_is_a_named_violation() -> None:
    plan = solve(home(START, 1, [battery(0.1, final_energy_wh=9_000.0)]))
    (violation,) = plan.violations_of(ViolationKind.FINAL_ENERGY)
    # One hour at 5 kW × 0.95 from 1000 Wh (self-discharge aside): 5750 Wh, 3250 Wh short.
    assert violation.amount == pytest.approx(3250.0, rel=1e-3)
    assert all(p == pytest.approx(5000.0) for p in plan.device("battery").power_w)


def test_reserve_is_kept_and_an_unreachable_one_is_named() -> None:
    evening = ReserveSlot(start=START + timedelta(hours=15), duration=timedelta(hours=3), energy_wh=8_000.0)
    kept = solve(home(START, 24, [battery(0.5, reserve=(evening,))]))
    state = np.array(kept.device("battery").state)
    assert kept.violations == ()
    assert np.all(state[15 * 4 : 18 * 4 + 1] >= 8000.0 - 1e-6)

    soon = ReserveSlot(start=START, duration=timedelta(hours=1), energy_wh=9_000.0)
    short = solve(home(START, 24, [battery(0.5, reserve=(soon,))]))
    violations = short.violations_of(ViolationKind.ENERGY_RESERVE)
    assert violations and violations[0].slot_start == START
    assert short.device("battery").power_w[0] == pytest.approx(5000.0)


def test_greenest_battery_charges_at_low_and_discharges_at_high_co2() -> None:
    plan = solve(home(START, 24, [battery(0.5, incentive="greenest")], load=True))
    power = np.array(plan.device("battery").power_w)
    co2 = np.array(plan.co2_g_per_kwh)
    assert co2[power > 1.0].mean() < co2[power < -1.0].mean()


def test_battery_alone_needs_an_end() -> None:
    from pydantic import ValidationError

    from flexcem.planner import PlanningProblem

    with pytest.raises(ValidationError, match="end is required when no device has a window"):
        PlanningProblem(start=START, devices=(battery(0.5),), prices=home(START, 2, []).prices)
