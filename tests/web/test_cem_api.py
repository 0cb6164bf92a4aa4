"""The household HTTP API (issue 6, item 2) against a real CEM with real device agents on the in-process bus:
devices and their status, the plan with prices and PV, prices, forecast, cost, history, events."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from cem_fixtures import Furnished, field_of, run_api

from flexcem.model import DeviceKind
from home_harness import Home


def test_devices_are_listed_with_their_status_job_and_the_actions_that_apply() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        listed = (await http.get("/api/devices")).json()
        by_id = {d["device_id"]: d for d in listed}
        assert set(by_id) == {"battery", "dishwasher", "pv", "washer"}
        washer = by_id["washer"]
        assert washer["kind"] == DeviceKind.WASHING_MACHINE.value
        assert washer["status"]["state"] == "waiting_for_start"
        assert washer["job"]["phase"] == "scheduled"
        assigned = devices.washer.job.assigned_start if devices.washer.job else None
        assert assigned is not None and datetime.fromisoformat(washer["job"]["confirmed_start"]) == assigned
        assert washer["job"]["planned_start"] is not None
        assert {"start_now", "postpone", "dont_run"} <= set(washer["actions"])
        assert by_id["battery"]["actions"] == ["dont_run"] and by_id["battery"]["planned"]

        one = await http.get("/api/devices/dishwasher", params={"refresh": "true"})
        assert one.status_code == 200 and one.json()["status"]["state"] == "waiting_for_start"
        summary = (await http.get("/api/summary")).json()
        assert summary["devices"] == 4 and summary["currency"] == "USD" and summary["timezone"] == "America/Chicago"
        assert summary["plans_made"] == home.cem.plans_made >= 1 and not summary["proposal_pending"]
        unknown = await http.get("/api/devices/fridge")
        assert unknown.status_code == 404 and field_of(unknown) == "path.device_id"
        assert "fridge" in unknown.json()["detail"][0]["msg"]

    run_api(scenario)


def test_the_plan_shows_each_device_against_prices_and_the_pv_forecast() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        response = await http.get("/api/plan")
        assert response.status_code == 200
        plan = response.json()
        assert plan["source"] == "plan" and plan["currency"] == "USD"
        slots = len(plan["slot_starts"])
        assert slots == len(plan["site_power_w"]) == len(plan["price_per_kwh"]) > 0
        by_id = {d["device_id"]: d for d in plan["devices"]}
        washer = by_id["washer"]
        job = home.cem.jobs.current("washer")
        assert job is not None and job.confirmed is not None and washer["start"] is not None
        offer = job.offer
        assert offer.earliest_start <= datetime.fromisoformat(washer["start"]) <= offer.latest_start  # type: ignore[union-attr]
        assert max(washer["power_w"]) > 1000 and len(washer["power_w"]) == slots
        assert by_id["battery"]["setpoints"], "the battery's set-point schedule is missing"
        assert plan["pv_forecast"] and min(p["value"] for p in plan["pv_forecast"]) < -1000
        assert abs(plan["total_cost"] - home.cem.plan.total_cost) < 1e-9

    run_api(scenario)


def test_prices_forecast_and_history_cover_the_day_and_refuse_a_bad_interval_naming_it() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        prices = (await http.get("/api/prices")).json()
        assert prices["currency"] == "USD" and len(prices["slots"]) >= 1
        assert all(slot["price_per_kwh"] > 0 for slot in prices["slots"])

        forecast = (await http.get("/api/forecast")).json()
        assert min(p["value"] for p in forecast["pv_forecast"]) < -1000
        assert forecast["planned_site_power"]
        expected = {s.start: s.power_w for s in home.cem.consumption.forecast(48).slots}  # JWG10
        consumption = forecast["consumption_forecast"]
        assert consumption, "the CEM's consumption forecast is served"
        for point in consumption:
            assert point["value"] == pytest.approx(expected[datetime.fromisoformat(point["start"])])

        history = (await http.get("/api/history")).json()
        assert history["source"] == "cem-memory"
        assert {"washer", "dishwasher"} <= set(history["device_ids"])
        assert history["planned_site_power"]

        naive = await http.get("/api/prices", params={"start": "2021-07-06T00:00:00"})
        assert naive.status_code == 422 and field_of(naive) == "query.start"
        backwards = await http.get(
            "/api/forecast", params={"start": "2021-07-06T12:00:00-05:00", "end": "2021-07-06T10:00:00-05:00"}
        )
        assert backwards.status_code == 422 and field_of(backwards) == "query.end"
        garbage = await http.get("/api/history", params={"start": "yesterday"})
        assert garbage.status_code == 422 and field_of(garbage) == "query.start"

    run_api(scenario)


def test_cost_gives_each_planned_job_its_saving_against_starting_at_once() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        cost = (await http.get("/api/cost")).json()
        assert cost["currency"] == "USD"
        by_id = {d["device_id"]: d for d in cost["devices"]}
        for job in ("washer", "dishwasher"):
            entry = by_id[job]
            assert entry["uncontrolled_cost"] is not None
            assert abs(entry["saving"] - (entry["uncontrolled_cost"] - entry["planned_cost"])) < 1e-12
        assert by_id["battery"]["saving"] is None  # no known uncontrolled behaviour
        assert abs(cost["saving"] - sum(by_id[j]["saving"] for j in ("washer", "dishwasher"))) < 1e-12
        assert cost["yearly_cost"] == pytest.approx(home.cem.consumption.yearly_cost())  # JWG12

    run_api(scenario)


def test_events_are_the_journal_newest_first_in_pages() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        journal = home.cem.journal  # the CEM may journal more while the test runs: compare by index
        first = (await http.get("/api/events", params={"limit": 3})).json()
        assert first["total"] <= len(journal) and len(first["items"]) == 3
        indexes = [item["index"] for item in first["items"]]
        assert indexes == [first["total"] - 1, first["total"] - 2, first["total"] - 3]
        assert [item["text"] for item in first["items"]] == [journal[i].text for i in indexes]
        second = (await http.get("/api/events", params={"limit": 3, "before": indexes[-1]})).json()
        assert [item["index"] for item in second["items"]] == [indexes[-1] - 1, indexes[-1] - 2, indexes[-1] - 3]
        assert (await http.get("/api/events", params={"before": 0})).json()["items"] == []
        past_end = (await http.get("/api/events", params={"offset": 10_000})).json()
        assert past_end["items"] == []
        bad = await http.get("/api/events", params={"limit": 0})
        assert bad.status_code == 422 and field_of(bad) == "query.limit"

    run_api(scenario)


def test_a_history_store_given_to_the_app_answers_the_history() -> None:
    class Store:
        def __init__(self) -> None:
            self.asked: list[tuple[object, object]] = []

        async def history(self, start: object, end: object) -> dict[str, object]:
            self.asked.append((start, end))
            return {
                "source": "store",
                "start": start,
                "end": end,
                "site_power": [{"start": start, "duration_s": 900.0, "value": 1234.0}],
                "planned_site_power": [],
                "jobs": [],
                "device_ids": [],
            }

    store = Store()

    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        from cem_fixtures import client

        async with client(home, history=store) as with_store:
            answer = (await with_store.get("/api/history")).json()
        assert answer["source"] == "store" and answer["site_power"][0]["value"] == 1234.0
        assert len(store.asked) == 1

    run_api(scenario)
