"""Malformed planning input is refused with an error that names the field."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from planner_builders import T0, WASHER_ECO, WASHER_QUICK, at, ev, flexible, prices
from pydantic import ValidationError

from flexcem.planner import PlanningProblem


def _washer(**changes: Any) -> dict[str, Any]:
    device = flexible("washer", at(1), at(3), at(6), WASHER_ECO, WASHER_QUICK).model_dump(mode="json")
    device.update(changes)
    return device


def _input(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "start": T0.isoformat(),
        "slot_duration": "PT15M",
        "devices": [_washer()],
        "prices": [slot.model_dump(mode="json") for slot in prices([0.3] * 8)],
    }
    data.update(changes)
    return data


def _errors(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        PlanningProblem.model_validate(data)
    return [(".".join(str(part) for part in error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_a_valid_input_passes() -> None:
    problem = PlanningProblem.model_validate(_input())
    assert problem.slot_count == 24  # default end: latest_end 6 h after T0
    assert problem.horizon_end == at(6)


def test_unknown_field_is_named() -> None:
    errors = _errors(_input(colour="blue"))
    assert errors[0][0] == "colour"
    errors = _errors(_input(devices=[_washer(spin_speed=1400)]))
    assert errors[0][0] == "devices.0.flexible_start.spin_speed"


def test_naive_datetime_is_named() -> None:
    errors = _errors(_input(start="2024-03-04T12:00:00"))
    assert errors[0][0] == "start"
    assert "timezone" in errors[0][1]
    errors = _errors(_input(devices=[_washer(latest_end="2024-03-04T18:00:00")]))
    assert errors[0][0] == "devices.0.flexible_start.latest_end"


def test_negative_power_is_named() -> None:
    washer = _washer()
    washer["alternatives"][0]["slots"][1]["power_w"] = -150.0
    errors = _errors(_input(devices=[washer]))
    assert errors[0][0] == "devices.0.flexible_start.alternatives.0.slots.1.power_w"
    charger = ev(at(1), at(6), 10_000.0).model_dump(mode="json")
    charger["max_power_w"] = -7400.0
    errors = _errors(_input(devices=[charger]))
    assert errors[0][0] == "devices.0.charging_session.max_power_w"


def test_latest_start_before_earliest_start_is_named() -> None:
    errors = _errors(_input(devices=[_washer(latest_start=at(0.5).isoformat())]))
    assert errors[0][0] == "devices.0.flexible_start"
    assert "latest_start" in errors[0][1]
    assert "earliest_start" in errors[0][1]


def test_alternative_that_cannot_fit_is_named() -> None:
    errors = _errors(_input(devices=[_washer(latest_end=at(2).isoformat())]))
    assert "alternatives.0 (eco)" in errors[0][1]
    assert "latest_end" in errors[0][1]


def test_prices_not_covering_the_horizon_name_the_gap() -> None:
    short = [slot.model_dump(mode="json") for slot in prices([0.3] * 5)]
    errors = _errors(_input(prices=short))
    assert errors[0][0] == "prices"
    assert "do not cover" in errors[0][1]
    assert at(5).isoformat() in errors[0][1]
    assert at(6).isoformat() in errors[0][1]
    holed = [slot.model_dump(mode="json") for slot in prices([0.3] * 8)]
    del holed[2]
    errors = _errors(_input(prices=holed))
    assert errors[0][0] == "prices"
    assert f"[{at(2).isoformat()}, {at(3).isoformat()})" in errors[0][1]


def test_overlapping_prices_are_named() -> None:
    slots = [slot.model_dump(mode="json") for slot in prices([0.3] * 8)]
    slots.append(slots[3] | {"price_per_kwh": 0.1})
    errors = _errors(_input(prices=slots))
    assert errors[0][0] == "prices"
    assert "overlaps" in errors[0][1]


def test_duplicate_device_ids_are_named() -> None:
    errors = _errors(_input(devices=[_washer(), _washer()]))
    assert errors[0][0] == "devices"
    assert "device_id 'washer'" in errors[0][1]
    assert "devices.0 and devices.1" in errors[0][1]


def test_slot_duration_must_be_positive() -> None:
    errors = _errors(_input(slot_duration="PT0S"))
    assert errors[0][0] == "slot_duration"
    errors = _errors(_input(slot_duration="-PT15M"))
    assert errors[0][0] == "slot_duration"


def test_end_may_not_cut_a_window() -> None:
    errors = _errors(_input(end=at(5).isoformat()))
    assert errors[0][0] == "end"
    assert "washer" in errors[0][1]
    errors = _errors(_input(end=at(-1).isoformat()))
    assert errors[0][0] == "end"
    problem = PlanningProblem.model_validate(_input(end=at(7, 10).isoformat()))
    assert problem.horizon_end == at(7, 15)  # rounded up to a slot boundary


def test_end_is_required_without_devices() -> None:
    errors = _errors(_input(devices=[]))
    assert errors[0][0] == "end"


def test_committed_sequence_must_exist() -> None:
    errors = _errors(_input(devices=[_washer(committed_sequence_id="cotton")]))
    assert "committed_sequence_id 'cotton'" in errors[0][1]


def test_unknown_device_kind_is_named() -> None:
    errors = _errors(_input(devices=[_washer(kind="lawn_mower")]))
    assert errors[0][0] == "devices.0"
    assert "lawn_mower" in errors[0][1]


def test_charging_session_limits_are_checked() -> None:
    charger = ev(at(1), at(6), 10_000.0).model_dump(mode="json")
    errors = _errors(_input(devices=[charger | {"min_power_w": 12_000.0}]))
    assert "min_power_w" in errors[0][1]
    curve = [
        {"energy_wh": 0, "max_power_w": 7000},
        {"energy_wh": 5000, "max_power_w": 6900},
        {"energy_wh": 8000, "max_power_w": 6899.9},
    ]
    errors = _errors(_input(devices=[charger | {"power_curve": curve}]))
    assert errors[0][0] == "devices.0.charging_session.power_curve"
    assert "concave" in errors[0][1]
    errors = _errors(_input(devices=[charger | {"latest_end": at(1).isoformat()}]))
    assert "latest_end" in errors[0][1]


def test_every_error_is_reported_at_once() -> None:
    data = _input(currency="euro", objective="cheap", start="noon")
    locations = {location for location, _ in _errors(data)}
    assert {"currency", "objective", "start"} <= locations


def test_times_in_other_zones_are_equivalent() -> None:
    utc = _input(start=T0.astimezone(UTC).isoformat())
    assert utc["start"].endswith("+00:00")
    problem = PlanningProblem.model_validate(utc)
    assert problem.start == T0
    assert problem.slot_duration == timedelta(minutes=15)
