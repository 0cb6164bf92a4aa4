"""JWG1121 — extra hot water via the heat pump: "customer requests HP on for water heating".

The planner's side of the request: a minimum tank temperature by a time, met at the cheapest cost when the
heat pump can reach it, and reported as a named violation (kelvin short) when it cannot. Real inputs:
CityLearn 2023 outdoor temperature, Building 1's hot-water draws and the two-level price.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from pydantic import ValidationError
from thermal_data import at, day_start, draws, outdoor, prices

from flexcem.model.home_parameters import HeatPumpParameters, TankParameters
from flexcem.planner import PlanningProblem, ViolationKind, solve
from flexcem.planner.devices.heat_pump import HeatPumpDevice
from flexcem.planner.devices.thermal_inputs import HotWaterRequest, TankInput

FIRST = day_start(10) + 12  # Friday 11 June 2021, noon: the tariff for the next 24 h has just arrived
HOURS = 24
TANK = TankParameters(volume_l=200.0, loss_w_per_k=1.8, min_c=45.0, max_c=65.0)


def _device(request: HotWaterRequest | None, power_max_w: float = 1500.0, initial_c: float = 50.0) -> HeatPumpDevice:
    return HeatPumpDevice(
        device_id="hp",
        heat_pump=HeatPumpParameters(power_max_w=power_max_w),
        outdoor=outdoor(FIRST, HOURS),
        tank=TankInput(parameters=TANK, initial_c=initial_c, draws=draws(FIRST, HOURS), extra_hot_water=request),
    )


def _problem(device: HeatPumpDevice) -> PlanningProblem:
    return PlanningProblem(start=at(FIRST), end=at(FIRST + HOURS), devices=(device,), prices=prices(FIRST, HOURS))


def test_the_tank_reaches_the_requested_temperature_by_the_requested_time() -> None:
    by = at(FIRST + 19)  # 07:00 next morning
    plan = solve(_problem(_device(HotWaterRequest(min_c=62.0, by=by))))
    device = plan.device("hp")
    assert plan.violations == ()
    assert device.state is not None
    assert device.state[19 * 4] >= 62.0 - 1e-6
    # Without the request the plan keeps the tank near its floor; the request costs extra heat...
    baseline = solve(_problem(_device(None))).device("hp")
    assert device.energy_wh > baseline.energy_wh
    assert baseline.state is not None and baseline.state[19 * 4] < 62.0
    # ...bought in the last hours before 07:00 (losses make earlier heating dearer at the same price).
    power = np.array(device.power_w)
    assert power[(19 - 3) * 4 : 19 * 4].sum() > 0.0


def test_a_request_the_heat_pump_cannot_reach_is_a_violation_in_kelvin() -> None:
    by = at(FIRST) + timedelta(hours=1)
    plan = solve(_problem(_device(HotWaterRequest(min_c=65.0, by=by), power_max_w=300.0, initial_c=46.0)))
    device = plan.device("hp")
    found = plan.violations_of(ViolationKind.HOT_WATER_REQUEST)
    assert len(found) == 1
    assert device.state is not None
    reached = device.state[4]
    assert found[0].unit == "K" and found[0].device_id == "hp"
    assert found[0].amount == pytest.approx(65.0 - reached, abs=1e-6)
    # The unit ran flat out for the whole hour: nothing more could be done.
    assert np.allclose(device.power_w[:4], 300.0)


def test_a_request_above_the_tank_limit_is_refused_naming_the_field() -> None:
    device = _device(None).model_dump()
    device["tank"]["extra_hot_water"] = {"min_c": 70.0, "by": at(FIRST + 5)}
    with pytest.raises(ValidationError, match=r"extra_hot_water\.min_c 70\.0 is above the tank's max_c 65\.0") as error:
        PlanningProblem.model_validate(_problem(_device(None)).model_dump() | {"devices": [device]})
    assert error.value.errors()[0]["loc"] == ("devices", 0, "heat_pump", "tank", "extra_hot_water")
