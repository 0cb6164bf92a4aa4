"""Verification: a heat-pump plan (tank and room cooling) executed on the physics keeps bands, trajectory and cost.

The default 3 kW air-source heat pump (COP/EER from the data's outdoor temperature) heats the default 200 L
tank (45–55 °C) against Building 1's hot-water draws and cools the default room (8 kWh/K, 200 W/K) against
the gains implied by its cooling demand, comfort band 22–25 °C; a non-curtailable 5 kWp PV roof; Building 1's
base load; a 7 kW import limit. 24 h from midnight on Thursday 8 July 2021 (peak 15:00–18:00). The plan is
executed minute by minute on :class:`~flexcem.devices.HeatPumpModel` (one compressor, hot water first): per
slot the planned hot-water power and the rest of the planned power as space cooling.
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
    draws,
    execute,
    gains,
    home_data,
    outdoor,
    plan_for,
    problem,
)

from flexcem.devices import (
    DEFAULT_HEAT_PUMP,
    DEFAULT_HEAT_PUMP_TANK,
    DEFAULT_PV,
    DEFAULT_ROOM,
    HeatPumpModel,
    HotWaterTank,
    PvGenerator,
    Room,
    SpaceMode,
    pv_forecast_series,
    room_gains_w,
)
from flexcem.planner import Plan
from flexcem.planner.devices.heat_pump import HeatPumpDevice
from flexcem.planner.devices.pv import PvDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, RoomInput, TankInput

START = at(37)  # Thursday 8 July 2021, 00:00
HOURS = 24
IMPORT_LIMIT_W = 7_000.0
TANK_C = 50.0
ROOM_C = 24.0
BAND = (22.0, 25.0)
FIXED_PV = DEFAULT_PV.model_copy(update={"curtailable": False})


def _plan() -> Plan:
    forecast = pv_forecast_series(FIXED_PV, home_data(), START, START + HOURS * HOUR)
    heat_pump = HeatPumpDevice(
        device_id="heat_pump",
        heat_pump=DEFAULT_HEAT_PUMP,
        outdoor=outdoor(START, HOURS),
        tank=TankInput(parameters=DEFAULT_HEAT_PUMP_TANK, initial_c=TANK_C, draws=draws(START, HOURS)),
        room=RoomInput(
            parameters=DEFAULT_ROOM,
            initial_c=ROOM_C,
            comfort=(ComfortSlot(start=START, duration=HOURS * HOUR, lower_c=BAND[0], upper_c=BAND[1]),),
            gains=gains(START, HOURS, DEFAULT_ROOM),
        ),
        space_mode="cooling",
    )
    pv = PvDevice.from_power_slots("pv", forecast.slots, curtailable=False)
    return plan_for(problem(START, HOURS, [heat_pump, pv], import_limit_w=IMPORT_LIMIT_W))


@dataclass
class Run:
    """Tank and room temperatures at the slot boundaries and every minute [°C], hot-water power per slot, meter."""

    tank_c: list[float]
    room_c: list[float]
    tank_minutes: list[float]
    room_minutes: list[float]
    hot_water_w: list[float]
    execution: Execution


def _run(plan: Plan) -> Run:
    data = home_data()
    room_gains = room_gains_w(data, DEFAULT_ROOM)
    model = HeatPumpModel(
        DEFAULT_HEAT_PUMP,
        HotWaterTank(DEFAULT_HEAT_PUMP_TANK, TANK_C),
        Room(DEFAULT_ROOM, ROOM_C),
        space_mode=SpaceMode.COOL,
        comfort_band_c=BAND,
    )
    assert model.room is not None
    pv = PvGenerator(FIXED_PV, data)
    device = plan.device("heat_pump")
    assert device.hot_water_power_w is not None
    hot_water = device.hot_water_power_w
    run = Run([TANK_C], [ROOM_C], [], [], [], Execution(plan.start, plan.slot_count))

    def step(k: int, instant: datetime, dt_h: float) -> float:
        assert model.room is not None
        done = model.step(
            hot_water[k],
            device.power_w[k] - hot_water[k],
            outdoor_c=data.value_at(data.outdoor_c, instant),
            draw_w=data.value_at(data.dhw_demand_w, instant),
            gains_w=data.value_at(room_gains, instant),
            dt_h=dt_h,
        )
        run.hot_water_w.append(done.hot_water_w)
        run.tank_minutes.append(model.tank.temperature_c)
        run.room_minutes.append(model.room.temperature_c)
        if len(run.tank_minutes) % SUBSTEPS == 0:
            run.tank_c.append(model.tank.temperature_c)
            run.room_c.append(model.room.temperature_c)
        return done.power_w - pv.advance(instant, dt_h)[0]

    run.execution = execute(plan, step)
    return run


@pytest.fixture(scope="module")
def planned() -> Plan:
    return _plan()


@pytest.fixture(scope="module")
def executed(planned: Plan) -> Run:
    return _run(planned)


def test_the_plan_meets_every_band_and_serves_both_circuits(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]
    device = planned.device("heat_pump")
    assert device.hot_water_power_w is not None
    assert sum(device.hot_water_power_w) / 4 > 200.0  # the draws need heat
    assert sum(device.power_w) / 4 - sum(device.hot_water_power_w) / 4 > 3_000.0  # a Texan July day needs cooling


def test_the_physics_takes_the_planned_power_uncut(planned: Plan, executed: Run) -> None:
    device = planned.device("heat_pump")
    assert device.hot_water_power_w is not None
    per_slot = np.asarray(executed.hot_water_w).reshape(-1, SUBSTEPS).mean(axis=1)
    assert np.allclose(per_slot, device.hot_water_power_w, atol=1e-6)


def test_executed_tank_and_room_follow_the_planned_trajectories(planned: Plan, executed: Run) -> None:
    device = planned.device("heat_pump")
    assert device.state_quantity == "tank_temperature"
    assert_trajectory(device.state, executed.tank_c, "°C", "tank temperature")
    assert_trajectory(device.room_temperature_c, executed.room_c, "°C", "room temperature")


def test_executed_tank_and_room_stay_in_their_bands_every_minute(executed: Run) -> None:
    tank = np.asarray(executed.tank_minutes)
    room = np.asarray(executed.room_minutes)
    assert tank.min() >= DEFAULT_HEAT_PUMP_TANK.min_c - 1e-6 and tank.max() <= DEFAULT_HEAT_PUMP_TANK.max_c + 1e-6
    assert room.min() >= BAND[0] - 1e-6 and room.max() <= BAND[1] + 1e-6


def test_executed_site_keeps_the_import_limit(executed: Run) -> None:
    assert_site_limits(executed.execution, IMPORT_LIMIT_W, None)


def test_metered_cost_equals_the_plans_cost(planned: Plan, executed: Run) -> None:
    assert_cost(planned, executed.execution)
