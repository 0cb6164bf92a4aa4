"""Verification: a battery plan executed on the battery physics keeps its constraints, its trajectory and its cost.

A home with the default 10 kWh / 5 kW battery (10 W standby), a 5 kWp PV roof that cannot be curtailed (pvlib
forecast from the data's irradiance), Building 1's base load, a 3 kW export limit and a 6 kW import limit,
planned over 48 h from noon on Tuesday 6 July 2021 (two afternoon peaks of 0.066 USD/kWh, 0.030 otherwise;
feed-in at 40 %). The plan is executed minute by minute on :class:`~flexcem.devices.BatteryModel` and
:class:`~flexcem.devices.PvGenerator`.

The plan reports the battery's *site* power, its own consumption (standby) included in every slot
(docs/home-physics.md); the device charges or discharges at that set point minus the standby, as its agent does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest
from verification_harness import (
    HOUR,
    SUBSTEPS,
    Execution,
    assert_cost,
    assert_site_limits,
    assert_trajectory,
    at,
    execute,
    home_data,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_BATTERY, DEFAULT_PV, BatteryModel, PvGenerator, pv_forecast_series
from flexcem.planner import Plan, PlanningProblem
from flexcem.planner.devices.battery import BatteryDevice
from flexcem.planner.devices.pv import PvDevice

START = at(35, 12)  # Tuesday 6 July 2021, 12:00
HOURS = 48
IMPORT_LIMIT_W = 6_000.0
EXPORT_LIMIT_W = 3_000.0
INITIAL_SOC = 0.3
FIXED_PV = DEFAULT_PV.model_copy(update={"curtailable": False})


def _problem(with_battery: bool = True) -> PlanningProblem:
    forecast = pv_forecast_series(FIXED_PV, home_data(), START, START + HOURS * HOUR)
    devices: list[object] = [PvDevice.from_power_slots("pv", forecast.slots, curtailable=False)]
    if with_battery:
        devices.append(BatteryDevice(device_id="battery", parameters=DEFAULT_BATTERY, initial_soc=INITIAL_SOC))
    return problem(START, HOURS, devices, import_limit_w=IMPORT_LIMIT_W, export_limit_w=EXPORT_LIMIT_W)


def flow_w(planned_site_w: float) -> float:
    """The battery's charge (+) or discharge (−) power for a planned site power: the set point minus the standby."""
    return planned_site_w - DEFAULT_BATTERY.standby_w


@dataclass
class Run:
    """The battery after the run, its energy at the slot boundaries and every minute [Wh], the meter."""

    battery: BatteryModel
    boundaries: list[float]
    minutes: list[float]
    execution: Execution


def _run(plan: Plan) -> Run:
    battery = BatteryModel(DEFAULT_BATTERY, energy_wh=INITIAL_SOC * DEFAULT_BATTERY.capacity_wh)
    pv = PvGenerator(FIXED_PV, home_data())
    planned = plan.device("battery").power_w
    boundaries = [battery.energy_wh]
    minutes: list[float] = []

    def step(k: int, instant: datetime, dt_h: float) -> float:
        site = battery.step(flow_w(planned[k]), dt_h).site_power_w
        generated, _ = pv.advance(instant, dt_h)
        minutes.append(battery.energy_wh)
        if len(minutes) % SUBSTEPS == 0:
            boundaries.append(battery.energy_wh)
        return site - generated

    return Run(battery, boundaries, minutes, execute(plan, step))


@pytest.fixture(scope="module")
def planned() -> Plan:
    return plan_for(_problem())


def test_the_plan_is_clean_and_uses_the_battery(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]
    battery = planned.device("battery")
    assert battery.state_unit == "Wh"
    charged = sum(battery.charge_power_w or ()) / 4
    assert charged > 3_000.0  # it stores PV beyond the export limit and shifts it into the evening peak


def test_executed_energy_equals_the_planned_trajectory(planned: Plan) -> None:
    assert_trajectory(planned.device("battery").state, _run(planned).boundaries, "Wh", "stored energy")


def test_executed_trajectory_keeps_the_soc_band_every_minute_and_the_final_energy(planned: Plan) -> None:
    run = _run(planned)
    p = DEFAULT_BATTERY
    energy = np.array(run.minutes)
    assert energy.min() >= p.soc_min * p.capacity_wh - 1e-6
    assert energy.max() <= p.soc_max * p.capacity_wh + 1e-6
    assert run.battery.energy_wh >= INITIAL_SOC * p.capacity_wh - 1e-3


def test_executed_site_power_keeps_the_import_and_export_limits(planned: Plan) -> None:
    assert_site_limits(_run(planned).execution, IMPORT_LIMIT_W, EXPORT_LIMIT_W)


def test_metered_cost_equals_the_plans_cost(planned: Plan) -> None:
    execution = _run(planned).execution
    assert_cost(planned, execution)
    # No appliance phase ends inside a slot: per-minute metering bills the same.
    assert execution.instantaneous_cost() == pytest.approx(planned.total_cost, abs=1e-6)


def test_the_battery_pays_on_the_metered_bill(planned: Plan) -> None:
    with_battery = _run(planned).execution
    without = plan_for(_problem(with_battery=False))
    pv = PvGenerator(FIXED_PV, home_data())
    execution = execute(without, lambda k, instant, dt_h: -pv.advance(instant, dt_h)[0])
    assert with_battery.settled_cost() < execution.settled_cost() - 0.05
