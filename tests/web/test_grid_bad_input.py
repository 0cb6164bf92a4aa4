"""Bad operator input on the grid API, on SQLite and PostgreSQL: an impossible window, a negative amount, an
unknown group or area, an unknown field, a time without offset, a deadline in the past, a duplicate id, a
batch of readings with one bad reading — each is a 422 naming the field, nothing is sent, and nothing stored
before is lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from grid_fixtures import GridApi, GridDatabase, grid_database, run_grid_api

__all__ = ["grid_database"]


def event(**changes: Any) -> dict[str, Any]:
    start = datetime.now(UTC) + timedelta(hours=1)
    body: dict[str, Any] = {
        "target": "feeder-7",
        "action": "reduce",
        "amount_w": 500.0,
        "window": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
        "response_deadline": (start - timedelta(minutes=30)).isoformat(),
    }
    body.update(changes)
    return body


async def stored(api: GridApi) -> tuple[list[Any], list[Any]]:
    signals = (await api.get("/api/signals", params={"limit": 500})).json()["items"]
    messages = (await api.get("/api/messages", params={"limit": 500})).json()["items"]
    return signals, messages


def test_bad_events_are_refused_naming_the_field_and_nothing_is_sent_or_lost(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered({"cem-1": ["pilot"], "cem-2": []}, {"feeder-7": ["cem-1", "cem-2"]})
        first = await api.post("/api/load-management", event(event_id="lm-good"))
        assert first.status_code == 201, first.text
        before = await stored(api)
        now = datetime.now(UTC)
        cases: list[tuple[dict[str, Any], str]] = [
            (
                event(
                    window={
                        "start": (now + timedelta(hours=3)).isoformat(),
                        "end": (now + timedelta(hours=1)).isoformat(),
                    }
                ),
                "body.window.end",
            ),
            (event(amount_w=-100.0), "body.amount_w"),
            (event(target="grid/grp/nowhere"), "body.target"),
            (event(target="feeder-99"), "body.target"),
            (event(target="other/cem-1"), "body.target"),
            (event(colour="red"), "body.colour"),
            (event(window={"start": "2026-12-01T12:00:00", "end": "2026-12-01T14:00:00"}), "body.window.start"),
            (event(response_deadline=(now - timedelta(minutes=1)).isoformat()), "body.response_deadline"),
            (event(amount_w=None), "body.amount_w"),
            (event(amount_percent=150.0, amount_w=None), "body.amount_percent"),
            (event(event_id="lm-good"), "body.event_id"),
            (event(action="explode"), "body.action"),
        ]
        for body, field in cases:
            response = await api.post("/api/load-management", body)
            assert response.status_code == 422, (field, response.text)
            assert response.json()["field"] == field, (field, response.json())
            assert response.json()["error"]
        assert await stored(api) == before, "nothing was sent or stored by the refused requests"
        view = (await api.get("/api/signals/load-management/lm-good")).json()
        assert view["body"]["amount_w"] == 500.0 and view["sent"] == 1

    run_grid_api(scenario, grid_database)


def test_bad_traffic_light_emergency_and_tariff_requests_name_the_field(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered({"cem-1": []}, {"feeder-7": ["cem-1"]})
        before = await stored(api)
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
        gap = [
            {"start": start.isoformat(), "duration": "PT1H", "price_per_kwh": 0.3},
            {"start": (start + timedelta(hours=2)).isoformat(), "duration": "PT1H", "price_per_kwh": 0.3},
        ]
        cases: list[tuple[str, dict[str, Any], str]] = [
            ("/api/traffic-light", {"area": "feeder-99", "state": "red"}, "body.area"),
            ("/api/traffic-light", {"area": "feeder-7", "state": "purple"}, "body.state"),
            ("/api/emergencies", {"target": "grid/grp/nowhere"}, "body.target"),
            ("/api/emergencies", {"target": "feeder-7", "duration_s": -5}, "body.duration_s"),
            ("/api/tariffs", {"slots": []}, "body.slots"),
            ("/api/tariffs", {"slots": gap}, "body.slots"),
            ("/api/tariffs", {"slots": gap[:1], "target": "feeder-99"}, "body.target"),
        ]
        for path, body, field in cases:
            response = await api.post(path, body)
            assert response.status_code == 422, (path, field, response.text)
            assert response.json()["field"] == field, (path, field, response.json())
        assert await stored(api) == before
        ended = await api.post("/api/emergencies/em-nope/end")
        assert ended.status_code == 422 and ended.json()["field"] == "path.emergency_id"

    run_grid_api(scenario, grid_database)


def test_bad_registry_changes_and_readings_are_refused_and_what_was_stored_stays(grid_database: GridDatabase) -> None:
    async def scenario(api: GridApi) -> None:
        await api.registered({"cem-1": ["pilot"]})
        assert (await api.post("/api/meters", {"meter_id": "m-1", "endpoint": "cem-1"}, "admin")).status_code == 201
        t0 = datetime(2026, 11, 30, 12, tzinfo=UTC)
        good = {"meter_id": "m-1", "at": t0.isoformat(), "power_w": 900.0, "import_wh": 10.0}
        assert (await api.post("/api/readings", {"readings": [good]})).status_code == 201
        cases: list[tuple[str, dict[str, Any], str]] = [
            ("/api/customers", {"id": "cem-1"}, "body.id"),
            ("/api/customers", {"id": "bad id!"}, "body.id"),
            ("/api/endpoints", {"address": "cem-9", "customer_id": "nobody"}, "body.customer_id"),
            ("/api/endpoints", {"address": "cem-1", "customer_id": "cem-1"}, "body.address"),
            ("/api/groups", {"address": "pilot", "members": ["cem-404"]}, "body.members"),
            ("/api/areas", {"id": "feeder-1", "group": "grid/grp/nowhere"}, "body.group"),
            ("/api/meters", {"meter_id": "m-1"}, "body.meter_id"),
        ]
        for path, body, field in cases:
            response = await api.post(path, body, "admin")
            assert response.status_code == 422, (path, field, response.text)
            assert response.json()["field"] == field, (path, field, response.json())
        later = {**good, "at": (t0 + timedelta(minutes=15)).isoformat()}
        batches: list[tuple[list[dict[str, Any]], str]] = [
            (
                [later, {**good, "at": (t0 + timedelta(minutes=30)).isoformat(), "import_wh": -1.0}],
                "body.readings.1.import_wh",
            ),
            ([later, {**good, "meter_id": "m-404"}], "body.readings.meter_id"),
            ([later, good], "body.readings"),
        ]
        for readings, field in batches:
            response = await api.post("/api/readings", {"readings": readings})
            assert response.status_code == 422, (field, response.text)
            assert response.json()["field"] == field, (field, response.json())
        window = {"start": t0.isoformat(), "end": (t0 + timedelta(hours=1)).isoformat()}
        kept = (await api.get("/api/telemetry/m-1", params=window)).json()
        assert [r["power_w"] for r in kept] == [900.0], "the refused batches stored nothing, the first reading stays"
        members = (await api.get("/api/groups")).json()["items"]
        assert members == [{"address": "grid/grp/pilot", "members": ["grid/cem-1"], "area": None}]
        backwards = await api.get("/api/telemetry/m-1", params={"start": window["end"], "end": window["start"]})
        assert backwards.status_code == 422 and backwards.json()["field"] == "query.end"

    run_grid_api(scenario, grid_database)
