"""The grid operator's HTTP API (issue 6, item 1) on SQLite and PostgreSQL: the registry, presence, signals
sent through the API reaching CEM endpoints on the bus with their answers visible, messages, telemetry and
aggregated load, pagination with ``next`` links, and the OpenAPI document."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from grid_fixtures import GridApi, GridDatabase, grid_database, run_grid_api

from flexcem.model import (
    EmergencyConfirmation,
    EmergencyPhase,
    EmergencySignal,
    Envelope,
    LoadManagementRequest,
    LoadManagementResponse,
    PriceEnvironmentProfile,
    ResponseStatus,
    TrafficLight,
)

__all__ = ["grid_database"]

CUSTOMERS = {"cem-1": ["pilot"], "cem-2": [], "cem-3": []}
AREAS = {"feeder-7": ["cem-1", "cem-2"]}


def now() -> datetime:
    return datetime.now(UTC)


async def until(condition, timeout_s: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``condition()`` (a coroutine function) is true."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def test_registry_made_through_the_api_is_listed_with_groups_areas_and_presence(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered(CUSTOMERS, AREAS)
        await api.endpoint("cem-1")

        async def cem1_online() -> bool:
            page = (await api.get("/api/presence")).json()
            return any(p["address"] == "grid/cem-1" and p["online"] for p in page["items"])

        await until(cem1_online)
        endpoints = {e["address"]: e for e in (await api.get("/api/endpoints")).json()["items"]}
        assert set(endpoints) == {"grid/cem-1", "grid/cem-2", "grid/cem-3"}
        assert endpoints["grid/cem-1"]["groups"] == ["grid/grp/area-feeder-7", "grid/grp/pilot"]
        assert endpoints["grid/cem-1"]["online"] is True and endpoints["grid/cem-3"]["online"] is None
        groups = {g["address"]: g for g in (await api.get("/api/groups")).json()["items"]}
        assert groups["grid/grp/area-feeder-7"] == {
            "address": "grid/grp/area-feeder-7",
            "members": ["grid/cem-1", "grid/cem-2"],
            "area": "feeder-7",
        }
        areas = (await api.get("/api/areas")).json()
        assert areas == [
            {
                "id": "feeder-7",
                "group": "grid/grp/area-feeder-7",
                "members": ["grid/cem-1", "grid/cem-2"],
                "state": "green",
            }
        ]
        customers = (await api.get("/api/customers")).json()["items"]
        assert [c["id"] for c in customers] == ["cem-1", "cem-2", "cem-3"]

    run_grid_api(scenario, grid_database)


def test_a_load_management_event_for_an_area_reaches_its_cems_and_their_answers_are_listed(
    grid_database: GridDatabase,
) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered(CUSTOMERS, AREAS)
        received: list[Envelope] = []

        def cem(name: str, status: ResponseStatus):  # type: ignore[no-untyped-def]
            async def answer(request: LoadManagementRequest, envelope: Envelope) -> None:
                received.append(envelope)
                reason = None if status is ResponseStatus.ACCEPT else "nothing to adjust"
                await endpoints[name].send(
                    envelope.reply_address,
                    LoadManagementResponse(
                        event_id=request.event_id,
                        status=status,
                        expected_change_w=400.0 if reason is None else None,
                        reason=reason,
                    ),
                )

            return answer

        endpoints = {name: await api.endpoint(name) for name in ("cem-1", "cem-2")}
        endpoints["cem-1"].on(LoadManagementRequest, cem("cem-1", ResponseStatus.ACCEPT))
        endpoints["cem-2"].on(LoadManagementRequest, cem("cem-2", ResponseStatus.REJECT))
        start = now() + timedelta(hours=1)
        body = {
            "target": "feeder-7",
            "action": "reduce",
            "amount_w": 500,
            "window": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
            "response_deadline": (now() + timedelta(minutes=10)).isoformat(),
            "event_id": "lm-api-1",
        }
        created = await api.post("/api/load-management", body)
        assert created.status_code == 201, created.text
        signal = created.json()
        assert signal["recipient"] == "grid/grp/area-feeder-7" and signal["area"] == "feeder-7"
        assert signal["expected"] == ["grid/cem-1", "grid/cem-2"] and signal["status"] == "open"

        async def both_answered() -> bool:
            view = (await api.get("/api/signals/load-management/lm-api-1")).json()
            return len(view["answers"]) == 2

        await until(both_answered)
        view = (await api.get("/api/signals/load-management/lm-api-1")).json()
        answers = {a["responder"]: a for a in view["answers"]}
        assert answers["grid/cem-1"]["body"]["status"] == "accept" and answers["grid/cem-1"]["status"] == "on-time"
        assert answers["grid/cem-1"]["body"]["expected_change_w"] == 400.0
        assert answers["grid/cem-2"]["body"]["status"] == "reject"
        assert len(received) == 2 and {e.to for e in received} == {"grid/grp/area-feeder-7"}
        active = (await api.get("/api/signals", params={"active": "true"})).json()["items"]
        assert [s["signal_id"] for s in active] == ["lm-api-1"]
        sent = (await api.get("/api/messages", params={"kind": "LoadManagementRequest"})).json()["items"]
        assert len(sent) == 1 and sent[0]["body"]["amount_w"] == 500.0

        ended = await api.post("/api/load-management/lm-api-1/end", {"reason": "not needed"})
        assert ended.status_code == 200, ended.text
        assert ended.json()["active"] is False and ended.json()["sent"] == 2
        assert (await api.get("/api/signals", params={"active": "true"})).json()["items"] == []

    run_grid_api(scenario, grid_database)


def test_traffic_light_tariff_and_emergency_reach_the_cems_and_confirmations_are_recorded(
    grid_database: GridDatabase,
) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered(CUSTOMERS, AREAS)
        cem = await api.endpoint("cem-1")
        got: list[object] = []

        async def keep(body: object, envelope: Envelope) -> None:
            got.append(body)

        async def confirm(signal: EmergencySignal, envelope: Envelope) -> EmergencyConfirmation:
            got.append(signal)
            return EmergencyConfirmation(
                emergency_id=signal.emergency_id, phase=EmergencyPhase.START, at=now(), devices_in_standby=3
            )

        cem.on(TrafficLight, keep)
        cem.on(PriceEnvironmentProfile, keep)
        cem.on(EmergencySignal, confirm)
        light = await api.post("/api/traffic-light", {"area": "feeder-7", "state": "red", "reason": "overload"})
        assert light.status_code == 201, light.text
        assert (await api.get("/api/areas")).json()[0]["state"] == "red"
        start = now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        slots = [
            {"start": (start + timedelta(hours=k)).isoformat(), "duration": "PT1H", "price_per_kwh": 0.2 + k / 100}
            for k in range(4)
        ]
        tariff = await api.post("/api/tariffs", {"slots": slots, "profile_id": "tou-1", "currency": "EUR"})
        assert tariff.status_code == 201, tariff.text
        correction = await api.post("/api/tariffs", {"slots": slots[:1], "profile_id": "tou-1"})
        assert correction.json()["revision"] == 1 and correction.json()["sent"] == 2
        emergency = await api.post(
            "/api/emergencies", {"target": "grid/cem-1", "level": "severe", "duration_s": 600, "emergency_id": "em-1"}
        )
        assert emergency.status_code == 201, emergency.text
        answers = emergency.json()["answers"]
        assert [(a["kind"], a["body"]["devices_in_standby"]) for a in answers] == [("confirmation-start", 3)]
        assert [type(b).__name__ for b in got] == [
            "TrafficLight",
            "PriceEnvironmentProfile",
            "PriceEnvironmentProfile",
            "EmergencySignal",
        ]
        active = {s["program"] for s in (await api.get("/api/signals", params={"active": "true"})).json()["items"]}
        assert active == {"traffic-light", "tariff", "emergency"}
        green = await api.post("/api/traffic-light", {"area": "feeder-7", "state": "green"})
        assert green.status_code == 201
        lights = (await api.get("/api/signals", params={"program": "traffic-light", "active": "true"})).json()
        assert [s["body"]["state"] for s in lights["items"]] == ["green"]

    run_grid_api(scenario, grid_database)


def test_listings_come_in_pages_with_a_next_link_until_the_last(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered({f"cem-{k:02d}": [] for k in range(7)})
        seen: list[str] = []
        url: str | None = "/api/endpoints?limit=3"
        pages = 0
        while url is not None:
            page = (await api.get(url)).json()
            assert len(page["items"]) <= 3
            seen.extend(e["address"] for e in page["items"])
            url = page["next"]
            pages += 1
        assert pages == 3 and seen == [f"grid/cem-{k:02d}" for k in range(7)]
        last = (await api.get("/api/endpoints", params={"limit": 3, "offset": 6})).json()
        assert last["next"] is None and last["offset"] == 6
        bad = await api.get("/api/endpoints", params={"limit": 0})
        assert bad.status_code == 422 and bad.json()["field"] == "query.limit"

    run_grid_api(scenario, grid_database)


def test_readings_are_stored_and_served_latest_by_range_and_aggregated_by_area(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered(CUSTOMERS, AREAS)
        for k in (1, 2, 3):
            made = await api.post("/api/meters", {"meter_id": f"m-{k}", "endpoint": f"cem-{k}"}, "admin")
            assert made.status_code == 201, made.text
        t0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
        readings = [
            {
                "meter_id": f"m-{k}",
                "at": (t0 + timedelta(minutes=15 * q)).isoformat(),
                "power_w": 1000.0 * k + 100 * q,
                "import_wh": 250.0 * q * k,
            }
            for k in (1, 2, 3)
            for q in range(4)
        ]
        stored = await api.post("/api/readings", {"readings": readings})
        assert stored.status_code == 201 and stored.json() == {"stored": 12}
        latest = (await api.get("/api/telemetry/m-2/latest")).json()
        assert latest["power_w"] == 2300.0 and latest["at"].startswith("2026-11-30T12:45")
        window = {"start": t0.isoformat(), "end": (t0 + timedelta(minutes=30)).isoformat()}
        assert [r["power_w"] for r in (await api.get("/api/telemetry/m-1", params=window)).json()] == [1000.0, 1100.0]
        load = (await api.get("/api/load", params={**window, "target": "feeder-7", "resolution_s": 900})).json()
        assert load["meters"] == ["m-1", "m-2"] and load["latest_power_w"] == 1300.0 + 2300.0
        assert [(p["power_w"], p["meters"]) for p in load["points"]] == [(3000.0, 2), (3200.0, 2)]
        everyone = (await api.get("/api/load", params={**window, "resolution_s": 1800})).json()
        assert [p["power_w"] for p in everyone["points"]] == [(1050.0 + 2050.0 + 3050.0)]

    run_grid_api(scenario, grid_database)


def test_the_openapi_document_lists_the_operator_routes(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        document = (await api.http.get("/openapi.json")).json()
        paths = set(document["paths"])
        assert {
            "/api/load-management",
            "/api/emergencies",
            "/api/traffic-light",
            "/api/tariffs",
            "/api/signals",
            "/api/presence",
            "/api/telemetry/{meter_id}",
            "/api/load",
            "/api/endpoints",
        } <= paths
        assert "window" in document["components"]["schemas"]["LoadManagementIn"]["properties"]

    run_grid_api(scenario, grid_database)
