"""Verification: a water-heater plan executed on the tank physics keeps the band, the request, the trajectory, the cost.

A 4.4 kW resistive element in the default 370 L tank (42–90 °C) against Building 1's hot-water draws, an
extra-hot-water request (JWG1121: 65 °C by 07:00 the next morning), a non-curtailable 5 kWp PV roof,
Building 1's base load and a 7 kW import limit, 24 h from noon on Friday 9 July 2021 (peak 15:00–18:00;
feed-in at 40 %). Executed minute by minute on :class:`~flexcem.devices.WaterHeaterModel` (set point 90 °C).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pytest
from verification_harness import (
    HOUR,
    SLOT,
    SUBSTEPS,
    Execution,
    assert_cost,
    assert_site_limits,
    assert_trajectory,
    at,
    draws,
    execute,
    home_data,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_PV, DEFAULT_WATER_HEATER_TANK, HotWaterTank, PvGenerator, WaterHeaterModel
from flexcem.devices import pv_forecast_series as forecast_series
from flexcem.planner import Plan
from flexcem.planner.devices.pv import PvDevice
from flexcem.planner.devices.thermal_inputs import HotWaterRequest, TankInput
from flexcem.planner.devices.water_heater import WaterHeaterDevice

START = at(38, 12)  # Friday 9 July 2021, 12:00
HOURS = 24
ELEMENT_W = 4_400.0
IMPORT_LIMIT_W = 7_000.0
TANK_C = 50.0
REQUEST = HotWaterRequest(min_c=65.0, by=at(39, 7))
FIXED_PV = DEFAULT_PV.model_copy(update={"curtailable": False})


def _plan() -> Plan:
    heater = WaterHeaterDevice(
        device_id="water_heater",
        power_max_w=ELEMENT_W,
        tank=TankInput(
            parameters=DEFAULT_WATER_HEATER_TANK,
            initial_c=TANK_C,
            draws=draws(START, HOURS),
            extra_hot_water=REQUEST,
        ),
    )
    pv = PvDevice.from_power_slots(
        "pv", forecast_series(FIXED_PV, home_data(), START, START + HOURS * HOUR).slots, curtailable=False
    )
    return plan_for(problem(START, HOURS, [heater, pv], import_limit_w=IMPORT_LIMIT_W))


@dataclass
class Run:
    """Tank temperature at the slot boundaries and every minute [°C], element power drawn [W], meter."""

    boundaries: list[float] = field(default_factory=lambda: [TANK_C])
    minutes: list[float] = field(default_factory=list)
    drawn_w: list[float] = field(default_factory=list)
    execution: Execution | None = None


def _run(plan: Plan) -> Run:
    data = home_data()
    heater = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, TANK_C), element_w=ELEMENT_W, set_point_c=90.0)
    pv = PvGenerator(FIXED_PV, data)
    planned = plan.device("water_heater").power_w
    run = Run()

    def step(k: int, instant: datetime, dt_h: float) -> float:
        drawn = heater.step(planned[k], draw_w=data.value_at(data.dhw_demand_w, instant), dt_h=dt_h)
        run.drawn_w.append(drawn)
        run.minutes.append(heater.tank.temperature_c)
        if len(run.minutes) % SUBSTEPS == 0:
            run.boundaries.append(heater.tank.temperature_c)
        return drawn - pv.advance(instant, dt_h)[0]

    run.execution = execute(plan, step)
    return run


@pytest.fixture(scope="module")
def planned() -> Plan:
    return _plan()


@pytest.fixture(scope="module")
def executed(planned: Plan) -> Run:
    return _run(planned)


def test_the_plan_is_clean_and_heats(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]
    assert planned.device("water_heater").energy_wh > 1_000.0


def test_the_element_draws_the_planned_power(planned: Plan, executed: Run) -> None:
    per_slot = np.asarray(executed.drawn_w).reshape(-1, SUBSTEPS).mean(axis=1)
    assert np.allclose(per_slot, planned.device("water_heater").power_w, atol=1e-6)


def test_executed_tank_follows_the_planned_trajectory(planned: Plan, executed: Run) -> None:
    assert_trajectory(planned.device("water_heater").state, executed.boundaries, "°C", "tank temperature")


def test_executed_tank_keeps_its_band_and_the_request(executed: Run) -> None:
    minutes = np.asarray(executed.minutes)
    assert minutes.min() >= DEFAULT_WATER_HEATER_TANK.min_c - 1e-6
    assert minutes.max() <= DEFAULT_WATER_HEATER_TANK.max_c + 1e-6
    boundary = int((REQUEST.by - START) / SLOT)
    assert executed.boundaries[boundary] >= REQUEST.min_c - 1e-6


def test_executed_site_keeps_the_import_limit(executed: Run) -> None:
    assert executed.execution is not None
    assert_site_limits(executed.execution, IMPORT_LIMIT_W, None)


def test_metered_cost_equals_the_plans_cost(planned: Plan, executed: Run) -> None:
    assert executed.execution is not None
    assert_cost(planned, executed.execution)
