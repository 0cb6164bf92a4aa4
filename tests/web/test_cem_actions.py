"""What a household does through the API — commit the proposal (JWG1110), start now, postpone (story JWG4),
override, change preferences — carried out on the devices; bad input named, with nothing changed; tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
from cem_fixtures import TOKEN, Furnished, field_of, run_api, settings, settle

from flexcem.cem.threshold_control import PriceThresholdRule, RunWhen
from flexcem.model import DeviceState, PowerSetpointSchedule, SimpleCommand, SlotShift, StartTimeAssignment
from home_harness import Home, local


def test_committing_the_proposal_sends_its_starts_and_a_replaced_one_is_refused_naming_it() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        proposal = (await http.get("/api/proposal")).json()
        assert proposal["pending"] and proposal["plan"]["source"] == "proposal"
        assert (await http.get("/api/plan")).json()["proposal_id"] == proposal["proposal_id"]
        assert not home.messages(StartTimeAssignment), "a start went out before the commit"

        stale = await http.post("/api/proposal/commit", json={"proposal_id": "proposal-0"})
        assert stale.status_code == 409 and field_of(stale) == "body.proposal_id"
        missing = await http.post("/api/proposal/commit", json={})
        assert missing.status_code == 422 and field_of(missing) == "body.proposal_id"
        assert not home.messages(StartTimeAssignment) and home.cem.proposal.committed_at is None

        done = await http.post("/api/proposal/commit", json={"proposal_id": proposal["proposal_id"]})
        assert done.status_code == 200 and done.json()["committed_at"] is not None
        await settle(home)
        sent = {e.body.device_id: e.body.start for e in home.messages(StartTimeAssignment)}
        planned = {d["device_id"]: d["start"] for d in proposal["plan"]["devices"]}
        assert set(sent) == {"washer", "dishwasher"}
        assert {k: v.isoformat().replace("+00:00", "Z") for k, v in sent.items()} == {k: planned[k] for k in sent}
        assert devices.washer.state is DeviceState.WAITING_FOR_START
        again = await http.post("/api/proposal/commit", json={"proposal_id": proposal["proposal_id"]})
        assert again.status_code == 409 and "committed already" in again.json()["detail"][0]["msg"]

    run_api(scenario, cem_settings=settings(commit_required=True))


def test_start_now_starts_the_device_and_the_cem_plans_around_it() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        response = await http.post("/api/devices/washer/start-now")
        assert response.status_code == 200 and response.json()["done"]
        await settle(home)
        assert devices.washer.state is DeviceState.RUNNING
        washer = (await http.get("/api/devices/washer")).json()
        assert washer["status"]["state"] == "running" and washer["job"]["phase"] == "running"
        assert "start_now" not in washer["actions"]
        assert any("start now" in entry.text for entry in home.cem.journal)

        twice = await http.post("/api/devices/washer/start-now")
        assert twice.status_code == 409 and field_of(twice) == "path.device_id"
        cannot = await http.post("/api/devices/battery/start-now")
        assert cannot.status_code == 422 and "start command" in cannot.json()["detail"][0]["msg"]
        unknown = await http.post("/api/devices/fridge/start-now")
        assert unknown.status_code == 404

    run_api(scenario)


def test_postponing_moves_the_run_with_a_slot_shift_and_a_bad_time_changes_nothing() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        job = home.cem.jobs.current("dishwasher")
        assert job is not None and job.confirmed is not None
        planned = job.confirmed.start

        past = await http.post("/api/devices/dishwasher/postpone", json={"until": "2021-07-06T08:00:00-05:00"})
        assert past.status_code == 422 and field_of(past) == "body.until"
        too_late = await http.post("/api/devices/dishwasher/postpone", json={"until": "2021-07-06T20:30:00-05:00"})
        assert too_late.status_code == 422 and field_of(too_late) == "body.until"
        both = await http.post(
            "/api/devices/dishwasher/postpone", json={"until": "2021-07-06T15:00:00-05:00", "by": 60}
        )
        assert both.status_code == 422 and "exactly one" in both.json()["detail"][0]["msg"]
        negative = await http.post("/api/devices/dishwasher/postpone", json={"by": "-PT1H"})
        assert negative.status_code == 422 and field_of(negative) == "body.by"
        naive = await http.post("/api/devices/dishwasher/postpone", json={"until": "2021-07-06T15:00:00"})
        assert naive.status_code == 422 and field_of(naive) == "body.until"
        assert job.not_before is None and not home.messages(SlotShift), "a refused postpone changed something"

        response = await http.post("/api/devices/dishwasher/postpone", json={"by": "PT2H"})
        assert response.status_code == 200, response.text
        assert job.not_before == planned + timedelta(hours=2)
        await settle(home)
        shifts = [e.body for e in home.messages(SlotShift) if e.body.device_id == "dishwasher"]
        assert shifts and shifts[-1].start is not None and shifts[-1].start >= planned + timedelta(hours=2)
        shown = (await http.get("/api/devices/dishwasher")).json()["job"]
        assert shown["not_before"] is not None and shown["confirmed_start"] == shifts[-1].start.isoformat().replace(
            "+00:00", "Z"
        )

    run_api(scenario)


def test_dont_run_aborts_a_job_or_keeps_a_battery_out_of_the_plans_until_released() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        response = await http.post("/api/devices/washer/override", json={"mode": "dont_run"})
        assert response.status_code == 200 and response.json()["done"]
        await settle(home)
        assert devices.washer.state is DeviceState.ABORTED
        assert all(d.device_id != "washer" or max(d.power_w) == 0 for d in home.cem.plan.devices)

        bad = await http.post("/api/devices/battery/override", json={"mode": "sleep"})
        assert bad.status_code == 422 and field_of(bad) == "body.mode"
        held = await http.post(
            "/api/devices/battery/override", json={"mode": "dont_run", "until": "2021-07-06T18:00:00-05:00"}
        )
        assert held.status_code == 200
        assert datetime.fromisoformat(held.json()["held_until"]) == local(2021, 7, 6, 18)
        await settle(home)
        standby = [e.body for e in home.messages(SimpleCommand) if e.body.device_id == "battery"]
        assert standby and standby[-1].command.value == "standby"
        assert "battery" not in {d.device_id for d in home.cem.plan.devices}
        battery = (await http.get("/api/devices/battery")).json()
        assert battery["held_until"] is not None and battery["actions"] == ["release"]

        schedules = len([e for e in home.messages(PowerSetpointSchedule) if e.body.device_id == "battery"])
        released = await http.post("/api/devices/battery/override", json={"mode": "release"})
        assert released.status_code == 200
        await settle(home)
        assert "battery" in {d.device_id for d in home.cem.plan.devices}
        after = [e for e in home.messages(PowerSetpointSchedule) if e.body.device_id == "battery"]
        assert len(after) > schedules, "the released battery got no schedule to leave its standby"
        again = await http.post("/api/devices/battery/override", json={"mode": "release"})
        assert again.status_code == 409

    run_api(scenario)


def test_preferences_change_as_a_whole_and_a_bad_value_is_named_with_nothing_changed() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        before = (await http.get("/api/preferences")).json()
        assert before["objective"] == "cost" and before["allowed_devices"] == []
        settings_before = home.cem.settings
        bad_inputs = {
            "body.objective": {"objective": "cheapest"},
            "objective_weights": {"objective": "weighted"},
            "body.allowed_devices.0.max_duration": {
                "allowed_devices": [{"device_id": "battery", "max_duration": "-PT1H"}]
            },
            "body.emergency_exempt.0": {"emergency_exempt": ["not an id!"]},
            "body.price_thresholds.0.device_id": {
                "price_thresholds": [{"device_id": "battery", "threshold_per_kwh": 0.2}]
            },
            "body.colour": {"colour": "green"},
        }
        for field, body in bad_inputs.items():
            response = await http.put("/api/preferences", json={"emergency_exempt": ["battery"], **body})
            assert response.status_code == 422, (field, response.text)
            assert field in field_of(response), (field, response.json())
        assert home.cem.settings is settings_before
        assert (await http.get("/api/preferences")).json() == before

        plans = home.cem.plans_made
        changed = await http.put(
            "/api/preferences",
            json={
                "objective": "co2",
                "allowed_devices": [{"device_id": "battery", "max_duration": "PT2H"}],
                "emergency_exempt": ["battery"],
            },
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["allowed_devices"] == [
            {"device_id": "battery", "max_duration": "PT2H", "comfort_range_c": 0.0}
        ]
        assert home.cem.settings.objective == "co2"
        assert home.cem.settings.grid.permission("battery").max_duration == timedelta(hours=2)
        assert home.cem.settings.grid.emergency_exempt == ("battery",)
        await settle(home)
        assert home.cem.plans_made > plans, "the objective change did not re-plan"
        assert (await http.get("/api/preferences")).json()["objective"] == "co2"

        weighted = await http.put(
            "/api/preferences", json={"objective": "weighted", "objective_weights": {"co2_price_per_kg": 0.1}}
        )
        assert weighted.status_code == 200 and weighted.json()["objective_weights"]["co2_price_per_kg"] == 0.1
        back = await http.put("/api/preferences", json={"objective": "cost"})
        assert back.status_code == 200 and back.json()["objective_weights"] is None
        assert home.cem.settings.grid.emergency_exempt == ("battery",), "a field not given was changed"

    run_api(scenario)


def test_with_a_token_every_api_call_needs_it_but_the_openapi_document() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        for path in ("/api/devices", "/api/plan", "/api/preferences", "/api/events"):
            assert (await http.get(path)).status_code == 401
            wrong = await http.get(path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
            right = await http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert right.status_code == 200, path
        refused = await http.post("/api/devices/washer/start-now")
        assert refused.status_code == 401 and devices.washer.state is DeviceState.WAITING_FOR_START
        document = (await http.get("/api/openapi.json")).json()
        assert {"/api/devices", "/api/plan", "/api/proposal/commit", "/api/preferences"} <= set(document["paths"])
        page = await http.get("/")
        assert page.status_code == 200 and "/static/common/charts.js" in page.text

    run_api(scenario, token=TOKEN)


def test_postponing_to_a_time_lets_the_job_start_no_earlier() -> None:
    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        until = local(2021, 7, 6, 18)
        response = await http.post("/api/devices/washer/postpone", json={"until": until.isoformat()})
        assert response.status_code == 200
        await settle(home)
        job = home.cem.jobs.current("washer")
        assert job is not None and job.confirmed is not None and job.confirmed.start >= until

    run_api(scenario)


def test_the_household_changes_a_price_threshold_from_the_next_interval_but_not_the_rule() -> None:
    rule = PriceThresholdRule(device_id="pv", threshold_per_kwh=0.01, run_when=RunWhen.AT_OR_ABOVE)

    async def scenario(home: Home, devices: Furnished, http: httpx.AsyncClient) -> None:
        other_side = await http.put(
            "/api/preferences",
            json={"price_thresholds": [{"device_id": "pv", "threshold_per_kwh": 0.05, "run_when": "below"}]},
        )
        assert other_side.status_code == 422 and field_of(other_side) == "body.price_thresholds.0.run_when"
        dropped = await http.put("/api/preferences", json={"price_thresholds": []})
        assert dropped.status_code == 422 and field_of(dropped) == "body.price_thresholds"
        assert home.cem.threshold_controls["pv"].threshold_per_kwh == 0.01

        changed = await http.put(
            "/api/preferences",
            json={"price_thresholds": [{"device_id": "pv", "threshold_per_kwh": 0.05, "run_when": "at_or_above"}]},
        )
        assert changed.status_code == 200 and changed.json()["price_thresholds"][0]["threshold_per_kwh"] == 0.05
        control = home.cem.threshold_controls["pv"]
        assert control.threshold_per_kwh == 0.01, "the new threshold must wait for the next interval (JWG1111)"
        await home.clock.sleep(3600)
        assert control.threshold_per_kwh == 0.05

    run_api(scenario, cem_settings=settings(price_thresholds=(rule,)))
