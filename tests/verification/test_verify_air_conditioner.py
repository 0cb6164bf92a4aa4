"""Verification: an air-conditioner plan executed on the room physics keeps the comfort band, trajectory and cost.

The default 3 kW ducted split unit (EER from the data's outdoor temperature) cools the default room (8 kWh/K,
200 W/K) against the gains implied by Building 1's cooling demand, user set point 25 °C (band 24–26 °C),
Building 1's base load and an 8 kW import limit, 24 h from midnight on Monday 12 July 2021. Executed minute by
minute on :class:`~flexcem.devices.AirConditionerModel` in mode cool, fan auto.

The indoor fan draws its power (``FAN_POWER_W``, 50 W at fan auto) whenever the unit is on; the plan counts it
in every slot (``fan_power_w``), and a set point is the site power, so the compressor gets the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    gains,
    home_data,
    outdoor,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_AIR_CONDITIONER, DEFAULT_ROOM, AirConditionerModel, Room, room_gains_w
from flexcem.devices.air_conditioner import FAN_POWER_W
from flexcem.model import AcMode, FanSpeed
from flexcem.planner import Plan
from flexcem.planner.devices.air_conditioner import AirConditionerDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, RoomInput

START = at(41)  # Monday 12 July 2021, 00:00
HOURS = 24
IMPORT_LIMIT_W = 8_000.0
ROOM_C = 25.5
SET_POINT_C = 25.0


def _plan() -> Plan:
    ac = AirConditionerDevice(
        device_id="air_conditioner",
        unit=DEFAULT_AIR_CONDITIONER,
        outdoor=outdoor(START, HOURS),
        room=RoomInput(
            parameters=DEFAULT_ROOM,
            initial_c=ROOM_C,
            comfort=(ComfortSlot(start=START, duration=HOURS * HOUR, set_point_c=SET_POINT_C),),
            gains=gains(START, HOURS, DEFAULT_ROOM),
        ),
        mode="cool",
        fan_power_w=FAN_POWER_W[FanSpeed.AUTO],
    )
    return plan_for(problem(START, HOURS, [ac], import_limit_w=IMPORT_LIMIT_W))


@dataclass
class Run:
    """Room temperature at the slot boundaries and every minute [°C], compressor and fan power [W], meter."""

    boundaries: list[float] = field(default_factory=lambda: [ROOM_C])
    minutes: list[float] = field(default_factory=list)
    execution: Execution | None = None


def _run(plan: Plan) -> Run:
    data = home_data()
    room_gains = room_gains_w(data, DEFAULT_ROOM)
    ac = AirConditionerModel(
        DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, ROOM_C), mode=AcMode.COOL, fan=FanSpeed.AUTO, set_point_c=25.0
    )
    planned = plan.device("air_conditioner").power_w
    run = Run()

    def step(k: int, instant: datetime, dt_h: float) -> float:
        drawn = ac.step(
            planned[k] - ac.fan_w(),
            outdoor_c=data.value_at(data.outdoor_c, instant),
            gains_w=data.value_at(room_gains, instant),
            dt_h=dt_h,
        )
        run.minutes.append(ac.room.temperature_c)
        if len(run.minutes) % SUBSTEPS == 0:
            run.boundaries.append(ac.room.temperature_c)
        return drawn

    run.execution = execute(plan, step)
    return run


@pytest.fixture(scope="module")
def planned() -> Plan:
    return _plan()


@pytest.fixture(scope="module")
def executed(planned: Plan) -> Run:
    return _run(planned)


def test_the_plan_keeps_the_room_in_the_set_points_band(planned: Plan) -> None:
    assert not planned.violations, [v.message for v in planned.violations]
    assert planned.device("air_conditioner").energy_wh > 3_000.0  # a Texan July day


def test_executed_room_follows_the_planned_trajectory(planned: Plan, executed: Run) -> None:
    device = planned.device("air_conditioner")
    assert device.state_quantity == "room_temperature"
    assert_trajectory(device.room_temperature_c, executed.boundaries, "°C", "room temperature")


def test_executed_room_stays_in_the_band_every_minute(executed: Run) -> None:
    minutes = np.asarray(executed.minutes)
    assert minutes.min() >= SET_POINT_C - 1.0 - 1e-6 and minutes.max() <= SET_POINT_C + 1.0 + 1e-6


def test_executed_site_keeps_the_import_limit(executed: Run) -> None:
    assert executed.execution is not None
    assert_site_limits(executed.execution, IMPORT_LIMIT_W, None)


def test_metered_cost_equals_the_plans_cost(planned: Plan, executed: Run) -> None:
    assert executed.execution is not None
    assert_cost(planned, executed.execution)


def test_the_plan_counts_the_fan_in_every_slot(planned: Plan) -> None:
    assert min(planned.device("air_conditioner").power_w) >= FAN_POWER_W[FanSpeed.AUTO] - 1e-9
