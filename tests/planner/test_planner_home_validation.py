"""Bad battery, PV and objective input is refused with a pydantic ValidationError naming the field."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from home_data import HOUR, PARAMETERS, day_start, home, pv, pv_forecast
from pydantic import ValidationError

from flexcem.planner import PlanningProblem
from flexcem.planner.devices.battery import BatteryDevice, ReserveSlot
from flexcem.planner.devices.pv import PvDevice

START = day_start(1)


def locations(error: ValidationError) -> list[str]:
    return [".".join(str(part) for part in item["loc"]) for item in error.errors()]


def problem_data(device: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = home(START, 6, []).model_dump(mode="json")
    base.update(devices=[device], end=(START + 6 * HOUR).isoformat(), **extra)
    return base


def battery_data(**changes: Any) -> dict[str, Any]:
    parameters = PARAMETERS.model_dump(mode="json") | changes.pop("parameters", {})
    return {"kind": "battery", "device_id": "battery", "parameters": parameters, "initial_soc": 0.5} | changes


def refused(data: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        PlanningProblem.model_validate(data)
    return caught.value


def test_soc_min_above_soc_max_is_named() -> None:
    error = refused(problem_data(battery_data(parameters={"soc_min": 0.9, "soc_max": 0.5})))
    assert locations(error) == ["devices.0.battery.parameters"]
    assert "soc_min 0.9 is above soc_max 0.5" in str(error)


def test_negative_capacity_is_named() -> None:
    error = refused(problem_data(battery_data(parameters={"capacity_wh": -10_000})))
    assert locations(error) == ["devices.0.battery.parameters.capacity_wh"]


def test_initial_energy_must_be_given_once_and_fit_the_battery() -> None:
    assert locations(refused(problem_data(battery_data(initial_soc=None)))) == ["devices.0.battery.initial_energy_wh"]
    both = refused(problem_data(battery_data(initial_energy_wh=5000.0)))
    assert locations(both) == ["devices.0.battery.initial_energy_wh"]
    over = refused(problem_data(battery_data(initial_soc=None, initial_energy_wh=12_000.0)))
    assert "exceeds parameters.capacity_wh" in str(over)
    assert locations(refused(problem_data(battery_data(initial_soc=1.2)))) == ["devices.0.battery.initial_soc"]


def test_final_energy_and_reserve_above_the_band_are_named() -> None:
    final = refused(problem_data(battery_data(final_energy_wh=9_600.0)))
    assert locations(final) == ["devices.0.battery.final_energy_wh"]
    reserve = [{"start": START.isoformat(), "duration": "PT1H", "energy_wh": 9_800.0}]
    assert locations(refused(problem_data(battery_data(reserve=reserve)))) == ["devices.0.battery.reserve.0.energy_wh"]


def test_overlapping_reserve_slots_are_named() -> None:
    slots = (
        ReserveSlot(start=START, duration=2 * HOUR, energy_wh=3000.0),
        ReserveSlot(start=START + HOUR, duration=2 * HOUR, energy_wh=3000.0),
    )
    with pytest.raises(ValidationError) as caught:
        BatteryDevice(device_id="b", parameters=PARAMETERS, initial_soc=0.5, reserve=slots)
    assert locations(caught.value) == ["reserve"] and "reserve.1" in str(caught.value)


def test_forecast_not_covering_the_horizon_is_named() -> None:
    short = pv(START, 4)  # 4 h of forecast for a 6 h horizon
    error = refused(problem_data(short.model_dump(mode="json")))
    assert locations(error) == ["devices.0.pv.forecast"]
    assert "forecast does not cover the horizon" in str(error) and "T04:00:00" in str(error)


def test_negative_forecast_power_is_named() -> None:
    data = pv(START, 6).model_dump(mode="json")
    data["forecast"][2]["power_w"] = -100.0
    assert locations(refused(problem_data(data))) == ["devices.0.pv.forecast.2.power_w"]


def test_overlapping_forecast_slots_are_named() -> None:
    slots = pv_forecast(START, 6, 3.0)
    shifted = slots[3].model_copy(update={"start": slots[3].start - timedelta(minutes=30)})
    with pytest.raises(ValidationError) as caught:
        PvDevice(device_id="pv", forecast=(*slots[:3], shifted, *slots[4:]), curtailable=True)
    assert locations(caught.value) == ["forecast"]


def test_curtailable_is_required() -> None:
    data = pv(START, 6).model_dump(mode="json")
    del data["curtailable"]
    assert locations(refused(problem_data(data))) == ["devices.0.pv.curtailable"]


def test_weighted_objective_needs_its_weights_and_only_it() -> None:
    device = battery_data()
    assert locations(refused(problem_data(device, objective="weighted"))) == ["weights"]
    assert locations(refused(problem_data(device, weights={"co2_price_per_kg": 0.1}))) == ["weights"]
    nothing = refused(problem_data(device, objective="weighted", weights={"cost": 0.0}))
    assert locations(nothing) == ["weights"] and "nothing to minimise" in str(nothing)
    negative = refused(problem_data(device, objective="weighted", weights={"import_weight_per_kwh": -1.0}))
    assert locations(negative) == ["weights.import_weight_per_kwh"]
    assert locations(refused(problem_data(device, objective="comfort"))) == ["objective"]
