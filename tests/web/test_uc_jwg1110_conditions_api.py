"""JWG1110 through the household API (uc-home §5): the user inputs an appliance's operating conditions (water
heater 90 °C, level 50 %; A/C cooling, wind auto, 27 °C) and time conditions (desirable start and finish) with
``PUT /api/devices/{id}/conditions``; the CEM re-plans and, as the user must commit, proposes the plan.

The tariff is cheapest before 05:00, so a plan free to choose heats the water and pre-cools the room at night:
set without a start time, the proposal does (the control case, so the kept start can fail); set with one, the
new proposal plans nothing before it and heats and cools in the window before the finish. Bad bodies are refused
naming the field with the stored conditions unchanged; without the token nothing is read or changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from cem_fixtures import TOKEN, client, field_of

import home_harness
from flexcem.cem import CemSettings
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.model import (
    AirConditionerSettings,
    PowerSetpointSchedule,
    PriceSlot,
    TemperatureProfile,
    WaterHeaterSettings,
)
from home_harness import DOMAIN, ZONE, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, WaterHeaterAgent, agent, base_load

NOON = local(2021, 7, 6, 12)
WATER_FROM, WATER_BY = local(2021, 7, 7, 5), local(2021, 7, 7, 7)
COOL_FROM, COOL_BY = local(2021, 7, 7, 8), local(2021, 7, 7, 10)
HOUR = timedelta(hours=1)
WEEKLY = {
    "weekday": [{"start": "07:00", "end": "22:00", "set_point_c": 26.0}],
    "weekend": [{"start": "08:00", "end": "23:00", "set_point_c": 25.0}],
}
HEATER = "/api/devices/waterheater/conditions"
AIRCON = "/api/devices/aircon/conditions"
WATER = {"settings": {"set_point_c": 90.0, "level_percent": 50.0}, "desired_finish": WATER_BY.isoformat()}
COOL = {"settings": {"mode": "cool", "fan": "auto", "set_point_c": 27.0}, "desired_finish": COOL_BY.isoformat()}


def night_cheap_prices(start: datetime, end: datetime) -> list[PriceSlot]:
    """Hourly prices [USD/kWh] by local hour: 0.05 before 05:00, 0.15 until 08:00, 0.30 by day, 0.50 from 16 to
    21, 0.20 in the late evening."""

    def price(hour: int) -> float:
        if hour < 5:
            return 0.05
        if hour < 8:
            return 0.15
        if hour < 16:
            return 0.30
        return 0.50 if hour < 21 else 0.20

    slots, cursor = [], start
    while cursor < end:
        slots.append(PriceSlot(start=cursor, duration=HOUR, price_per_kwh=price(cursor.astimezone(ZONE).hour)))
        cursor += HOUR
    return slots


def water_heater(endpoint: Any, cem: str, data: Any) -> WaterHeaterAgent:
    """Tank at 45 °C; its own control is set low (30 %), so on its own it does not heat."""
    model = WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 45.0), set_point_c=90.0, level_percent=30.0)
    return WaterHeaterAgent(endpoint, cem, data, model)


def air_conditioner(endpoint: Any, cem: str, data: Any) -> AirConditionerAgent:
    """Switched off, room at 26 °C."""
    return AirConditionerAgent(
        endpoint, cem, data, AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0), on=False)
    )


def run_appliances(scenario: Any, *, token: str | None = None, tariff: bool = True) -> None:
    """Run ``scenario(home, http)`` at noon in a home with a base load, a water heater and an air conditioner whose
    plans the user commits; without ``tariff`` no tariff is issued (so nothing is planned)."""
    home_harness.BUS_KIND = "memory"

    async def main(home: Home) -> None:
        await base_load(home)
        heater = await agent(home, water_heater, "waterheater")
        aircon = await agent(home, air_conditioner, "aircon")
        await settle(home)
        async with client(home, token=token) as http:
            await scenario(home, http)
        await heater.power_off()
        await aircon.power_off()

    settings = CemSettings(tariff_sources=(f"{DOMAIN}/retailer",), timezone=str(ZONE), commit_required=True)
    run_home(
        main,
        start=NOON,
        settings=settings,
        forecasts=DataForecasts(),
        prices=night_cheap_prices,
        publish_tariff=tariff,
    )


def planned_before(plan: dict[str, Any], device_id: str, instant: datetime) -> list[tuple[str, float]]:
    """``(slot start, power [W])`` of the plan's slots that start before ``instant`` with power for the device."""
    device = next(d for d in plan["devices"] if d["device_id"] == device_id)
    return [
        (at, power)
        for at, power in zip(plan["slot_starts"], device["power_w"], strict=True)
        if datetime.fromisoformat(at) < instant and power > 1e-6
    ]


def planned_wh(plan: dict[str, Any], device_id: str, begin: datetime, end: datetime) -> float:
    """Energy the plan gives the device in the slots starting in ``[begin, end)`` [Wh]."""
    device = next(d for d in plan["devices"] if d["device_id"] == device_id)
    hours = float(plan["slot_duration_s"]) / 3600.0
    return sum(
        float(power) * hours
        for at, power in zip(plan["slot_starts"], device["power_w"], strict=True)
        if begin <= datetime.fromisoformat(at) < end
    )


async def proposed_after(home: Home, http: httpx.AsyncClient, previous: str | None) -> dict[str, Any]:
    """The proposal that waits once the CEM has re-planned, asserting it is a new one."""
    await settle(home)
    proposal: dict[str, Any] = (await http.get("/api/proposal")).json()
    assert proposal["pending"], proposal
    assert proposal["proposal_id"] != previous, "setting the conditions made no new proposal"
    return proposal


def test_conditions_put_through_the_api_are_kept_by_the_proposed_plan_which_waits_for_the_commit() -> None:
    async def scenario(home: Home, http: httpx.AsyncClient) -> None:
        assert (await http.get(HEATER)).status_code == 404
        before = (await http.get("/api/proposal")).json().get("proposal_id")

        for path, body in ((HEATER, WATER), (AIRCON, COOL)):
            response = await http.put(path, json=body)
            assert response.status_code == 200, response.text
        free = (await proposed_after(home, http, before))["plan"]
        assert planned_before(free, "waterheater", WATER_FROM), "the control case heats at the night price"
        assert planned_before(free, "aircon", COOL_FROM), "the control case cools before 08:00"

        previous = home.cem.proposal.proposal_id if home.cem.proposal else None
        for path, body, start in ((HEATER, WATER, WATER_FROM), (AIRCON, COOL, COOL_FROM)):
            response = await http.put(path, json={**body, "desired_start": start.isoformat()})
            assert response.status_code == 200, response.text
            assert datetime.fromisoformat(response.json()["desired_start"]) == start
        proposal = await proposed_after(home, http, previous)
        kept = proposal["plan"]
        assert kept["source"] == "proposal" and kept["proposal_id"] == proposal["proposal_id"]
        assert not planned_before(kept, "waterheater", WATER_FROM), planned_before(kept, "waterheater", WATER_FROM)
        assert not planned_before(kept, "aircon", COOL_FROM), planned_before(kept, "aircon", COOL_FROM)[:3]
        assert planned_wh(kept, "waterheater", WATER_FROM, WATER_BY) > 1_000.0, "it heats in its window"
        assert planned_wh(kept, "aircon", COOL_FROM, COOL_BY) > 100.0, "it cools in its window"
        for sent in (PowerSetpointSchedule, WaterHeaterSettings, AirConditionerSettings, TemperatureProfile):
            assert not home.messages(sent), f"a {sent.__name__} went out before the commit"

        shown = (await http.get(HEATER)).json()
        assert shown["device_id"] == "waterheater" and shown["settings"]["level_percent"] == 50.0
        assert datetime.fromisoformat(shown["desired_finish"]) == WATER_BY
        assert home.cem.home.book.conditions["aircon"].settings.set_point_c == 27.0

        gone = await http.delete(HEATER)
        assert gone.status_code == 204 and "waterheater" not in home.cem.home.book.conditions
        assert (await http.get(HEATER)).status_code == 404
        await proposed_after(home, http, proposal["proposal_id"])
        assert (await http.delete(HEATER)).status_code == 204, "clearing no conditions is not an error"

    run_appliances(scenario)


def test_every_bad_body_is_refused_naming_the_field_and_the_stored_conditions_stay() -> None:
    water_with_start = {**WATER, "desired_start": WATER_FROM.isoformat()}
    bad: list[tuple[str, dict[str, Any], str]] = [
        (AIRCON, {"settings": {"set_point_c": 90.0, "level_percent": 50.0}}, "body.settings."),
        (HEATER, COOL, "body.settings."),
        (HEATER, {**WATER, "desired_start": (WATER_BY + HOUR).isoformat()}, "body.desired_finish"),
        (HEATER, {**WATER, "desired_start": WATER_BY.isoformat()}, "body.desired_finish"),
        (HEATER, {**WATER, "colour": "green"}, "body.colour"),
        (HEATER, {"settings": {"set_point_c": 90.0, "colour": "green"}}, "body.settings.colour"),
        (HEATER, {"settings": {"set_point_c": 120.0}}, "body.settings.set_point_c"),
        (HEATER, {"settings": {"set_point_c": 90.0, "level_percent": 0.0}}, "body.settings.level_percent"),
        (AIRCON, {"settings": {"mode": "arctic"}}, "body.settings.mode"),
        (HEATER, {**WATER, "desired_start": "2021-07-07T05:00:00"}, "body.desired_start"),
        (HEATER, {"desired_finish": WATER_BY.isoformat()}, "body.settings"),
        (HEATER, {**WATER, "device_id": "aircon"}, "body.device_id"),
        (HEATER, {"settings": {"device_id": "aircon", "set_point_c": 90.0}}, "body.settings.device_id"),
        (HEATER, {**WATER, "weekly_profile": WEEKLY}, "body.weekly_profile"),
        (AIRCON, {**COOL, "weekly_profile": {"weekday": [], "weekend": WEEKLY["weekend"]}}, "body.weekly_profile"),
        ("/api/devices/baseload/conditions", WATER, "path.device_id"),
    ]

    async def scenario(home: Home, http: httpx.AsyncClient) -> None:
        assert (await http.put(HEATER, json=water_with_start)).status_code == 200
        stored = home.cem.home.book.conditions["waterheater"]
        shown = (await http.get(HEATER)).json()
        for path, body, field in bad:
            response = await http.put(path, json=body)
            assert response.status_code == 422, (field, response.text)
            assert field_of(response).startswith(field), (field, response.json())
            assert response.json()["detail"][0]["msg"], field
        assert home.cem.home.book.conditions["waterheater"] is stored
        assert "aircon" not in home.cem.home.book.conditions and "baseload" not in home.cem.home.book.conditions
        assert (await http.get(HEATER)).json() == shown

        for method in ("GET", "PUT", "DELETE"):
            unknown = await http.request(method, "/api/devices/fridge/conditions", json=WATER)
            assert unknown.status_code == 404 and field_of(unknown) == "path.device_id", method
            assert "fridge" in unknown.json()["detail"][0]["msg"]
        none = await http.get(AIRCON)
        assert none.status_code == 404 and "aircon" in none.json()["detail"][0]["msg"]

    run_appliances(scenario, tariff=False)


def test_without_the_token_conditions_are_neither_read_nor_changed() -> None:
    async def scenario(home: Home, http: httpx.AsyncClient) -> None:
        authorised = {"Authorization": f"Bearer {TOKEN}"}
        assert (await http.put(HEATER, json=WATER, headers=authorised)).status_code == 200
        stored = home.cem.home.book.conditions["waterheater"]
        for headers in ({}, {"Authorization": "Bearer nope"}):
            for method in ("GET", "PUT", "DELETE"):
                refused = await http.request(method, HEATER, json={**WATER, "desired_finish": None}, headers=headers)
                assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer", method
        assert home.cem.home.book.conditions["waterheater"] is stored
        assert (await http.get(HEATER, headers=authorised)).status_code == 200
        document = (await http.get("/api/openapi.json")).json()
        operations = document["paths"]["/api/devices/{device_id}/conditions"]
        assert {"get", "put", "delete"} <= set(operations)
        assert operations["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "ConditionsIn"
        )

    run_appliances(scenario, token=TOKEN, tariff=False)
