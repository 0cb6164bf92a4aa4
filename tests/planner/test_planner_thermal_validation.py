"""Bad input to the thermal kinds is a pydantic ValidationError that names the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from thermal_data import HOUR, at, comfort, day_start, draws, gas, outdoor, prices

from flexcem.model.home_parameters import FuelCellParameters, HeatPumpParameters, RoomParameters, TankParameters
from flexcem.planner import PlanningProblem
from flexcem.planner.devices.air_conditioner import AirConditionerDevice
from flexcem.planner.devices.fuel_cell import FuelCellDevice
from flexcem.planner.devices.heat_pump import HeatPumpDevice
from flexcem.planner.devices.thermal_inputs import ComfortSlot, RoomInput, TankInput

FIRST = day_start(10)
HOURS = 24
TANK = TankParameters(volume_l=200.0)
ROOM = RoomParameters(heat_capacity_kwh_per_k=4.0, loss_w_per_k=200.0)


def _heat_pump(**changes: Any) -> dict[str, Any]:
    device = HeatPumpDevice(
        device_id="hp",
        heat_pump=HeatPumpParameters(power_max_w=1500.0),
        outdoor=outdoor(FIRST, HOURS),
        tank=TankInput(parameters=TANK, initial_c=50.0, draws=draws(FIRST, HOURS)),
    ).model_dump()
    device.update(changes)
    return device


def _problem(*devices: dict[str, Any]) -> PlanningProblem:
    return PlanningProblem.model_validate(
        {"start": at(FIRST), "end": at(FIRST + HOURS), "devices": list(devices), "prices": prices(FIRST, HOURS)}
    )


def _locations(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    return [tuple(item["loc"]) for item in error.value.errors()]


def test_a_comfort_band_whose_lower_bound_is_above_its_upper_bound_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"lower_c 24\.0 is above upper_c 22\.0") as error:
        RoomInput.model_validate(
            {
                "parameters": ROOM,
                "initial_c": 23.0,
                "comfort": [{"start": at(FIRST), "duration": HOURS * HOUR, "lower_c": 24.0, "upper_c": 22.0}],
            }
        )
    assert _locations(error)[0] == ("comfort", 0)


def test_a_comfort_slot_without_any_bound_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs lower_c, upper_c or set_point_c"):
        ComfortSlot(start=at(FIRST), duration=HOUR)


def test_a_draw_profile_that_does_not_cover_the_horizon_is_refused_naming_it() -> None:
    device = _heat_pump()
    device["tank"]["draws"] = [slot.model_dump() for slot in draws(FIRST, HOURS - 3)]
    with pytest.raises(ValidationError, match=r"tank\.draws does not cover the horizon") as error:
        _problem(device)
    assert _locations(error) == [("devices", 0, "heat_pump", "tank", "draws")]


def test_an_outdoor_forecast_that_ends_too_early_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError, match="outdoor does not cover the horizon") as error:
        _problem(_heat_pump(outdoor=[slot.model_dump() for slot in outdoor(FIRST, HOURS - 1)]))
    assert _locations(error) == [("devices", 0, "heat_pump", "outdoor")]


def test_overlapping_draws_are_refused() -> None:
    slots = list(draws(FIRST, 2))
    slots.append(slots[0].model_copy(update={"start": at(FIRST) + timedelta(minutes=30)}))
    with pytest.raises(ValidationError, match=r"draws\.2 .* overlaps draws\.0") as error:
        TankInput(parameters=TANK, initial_c=50.0, draws=tuple(slots))
    assert _locations(error) == [("draws",)]


def test_a_negative_draw_is_refused() -> None:
    device = _heat_pump()
    device["tank"]["draws"][0]["heat_w"] = -10.0
    with pytest.raises(ValidationError) as error:
        _problem(device)
    assert ("devices", 0, "heat_pump", "tank", "draws", 0, "heat_w") in _locations(error)


def test_a_heat_pump_without_tank_or_room_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs a tank, a room or both"):
        _problem(_heat_pump(tank=None))


def test_fuel_cell_gas_prices_must_cover_the_horizon() -> None:
    device = FuelCellDevice(
        device_id="fc",
        fuel_cell=FuelCellParameters(power_max_w=700.0),
        tank=TankInput(parameters=TANK, initial_c=60.0),
        gas_prices=gas(FIRST, HOURS - 2, 0.2),
    )
    with pytest.raises(ValidationError, match="gas_prices does not cover the horizon") as error:
        _problem(device.model_dump())
    assert _locations(error) == [("devices", 0, "fuel_cell", "gas_prices")]


def test_an_air_conditioner_needs_the_problem_end() -> None:
    device = AirConditionerDevice(
        device_id="ac",
        unit=HeatPumpParameters(power_max_w=2000.0),
        outdoor=outdoor(FIRST, HOURS),
        room=RoomInput(parameters=ROOM, initial_c=26.0, comfort=comfort(FIRST, HOURS, set_point_c=26.0)),
    )
    with pytest.raises(ValidationError, match="end is required"):
        PlanningProblem(start=at(FIRST), devices=(device,), prices=prices(FIRST, HOURS))
