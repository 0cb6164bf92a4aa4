"""End to end (issue 6): an operator creates a load-management event through the grid API for a grid area;
a real CEM with a real air conditioner and smart meter on the in-process bus answers it from its plan,
carries it out and reports the feedback after the window — the answer, the feedback and the metered load
are all visible through the API (story JWG14 driven from the operator's side).

The home runs on a simulated clock (hours pass in milliseconds); the grid server shares the home's bus and
clock, and its store is a SQLite file of the test's own.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
from grid_fixtures import auth, grid_tokens

from flexcem.cem.grid_settings import FlexPermission
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, AirConditionerModel
from flexcem.devices.room import DEFAULT_ROOM, Room
from flexcem.grid import SmartMeter
from flexcem.grid.server import GridServer
from flexcem.model import AcMode, FanSpeed
from flexcem.store import GridStore
from flexcem.web.grid_app import create_grid_app
from grid_side import AREA, DSO, grid_settings, metered
from home_harness import DOMAIN, Home, local, run_home, settle
from whole_home import AirConditionerAgent, DataForecasts, agent, base_load

START = local(2021, 8, 10, 10)
ASKED_AT = local(2021, 8, 10, 11)
WINDOW = (local(2021, 8, 10, 12), local(2021, 8, 10, 14))
ALLOW = FlexPermission(device_id="aircon", max_duration=timedelta(hours=4), comfort_range_c=2.0)


def air_conditioner(endpoint, cem, data):  # type: ignore[no-untyped-def]
    """Cooling to 27 °C, the room at 27 °C (as in story JWG14)."""
    model = AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 27.0), on=True)
    model.mode, model.fan, model.set_point_c = AcMode.COOL, FanSpeed.AUTO, 27.0
    return AirConditionerAgent(endpoint, cem, data, model)


def test_an_event_created_through_the_api_is_answered_carried_out_and_reported_by_a_real_cem(tmp_path: Path) -> None:
    async def scenario(home: Home) -> dict[str, object]:
        bus = home.backend.bus
        server = GridServer(GridStore.open(f"sqlite:///{tmp_path / 'grid.db'}"), bus, domain=DOMAIN,
                            name=DSO.split("/")[1], clock=home.clock)
        await server.start()
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_grid_app(server, grid_tokens())),
                                         base_url="http://grid.test") as http:
                admin, operator, viewer = auth("admin"), auth("operator"), auth("viewer")
                for path, body in (
                    ("/api/customers", {"id": "household-1", "name": "Smith"}),
                    ("/api/endpoints", {"address": home.cem_address, "customer_id": "household-1"}),
                    ("/api/areas", {"id": AREA, "members": [home.cem_address]}),
                    ("/api/meters", {"meter_id": "meter", "endpoint": home.cem_address}),
                ):
                    response = await http.post(path, json=body, headers=admin)
                    assert response.status_code == 201, response.text
                meter = await base_load(home)
                aircon = await agent(home, air_conditioner, "aircon")
                smart = SmartMeter(await home.endpoint("meter"), home.cem_address, head_end=DSO,
                                   load=metered([aircon.power, meter.meter(START, START + timedelta(days=1))]))
                await smart.start()
                await settle(home)
                await home.clock.sleep_until(ASKED_AT)
                await home.cem.settled()
                created = await http.post("/api/load-management", headers=operator, json={
                    "target": AREA, "action": "reduce", "amount_w": 300.0, "event_id": "jwg14-api",
                    "window": {"start": WINDOW[0].isoformat(), "end": WINDOW[1].isoformat()},
                    "response_deadline": (ASKED_AT + timedelta(minutes=30)).isoformat(),
                })
                assert created.status_code == 201, created.text
                assert created.json()["expected"] == [home.cem_address]
                await settle(home)
                answered = (await http.get("/api/signals/load-management/jwg14-api", headers=viewer)).json()
                await home.clock.sleep_until(WINDOW[1] + timedelta(minutes=5))
                reported = (await http.get("/api/signals/load-management/jwg14-api", headers=viewer)).json()
                load = (await http.get("/api/load", headers=viewer, params={
                    "target": AREA, "start": WINDOW[0].isoformat(), "end": WINDOW[1].isoformat(),
                    "resolution_s": 3600})).json()
                presence = (await http.get("/api/endpoints", headers=viewer)).json()["items"]
                await smart.stop()
                await aircon.power_off()
                return {"answered": answered, "reported": reported, "load": load, "presence": presence}
        finally:
            await server.stop()
            server.close()

    out = run_home(scenario, start=START, settings=grid_settings(allow=[ALLOW]), forecasts=DataForecasts())
    answered, reported, load = out["answered"], out["reported"], out["load"]
    assert isinstance(answered, dict) and isinstance(reported, dict) and isinstance(load, dict)
    [response] = [a for a in answered["answers"] if a["kind"] == "LoadManagementResponse"]
    assert response["responder"] == "home/cem" and response["status"] == "on-time"
    assert response["body"]["status"] in ("accept", "not_sufficient") and response["body"]["devices"] == ["aircon"]
    assert response["body"]["expected_change_w"] > 150.0, "the CEM's plan gives up AC power in the window"
    assert answered["missing"] == {"LoadManagementResponse": []} or answered["status"] == "open"
    [feedback] = [a for a in reported["answers"] if a["kind"] == "LoadAdjustmentFeedback"]
    assert feedback["status"] == "on-time" and feedback["body"]["achieved_change_w"] > 150.0
    assert datetime.fromisoformat(feedback["body"]["start"]) == WINDOW[0]
    assert datetime.fromisoformat(feedback["body"]["end"]) == WINDOW[1]
    assert load["meters"] == ["meter"] and len(load["points"]) == 2, "the meter's readings reached the grid"
    assert all(point["power_w"] > 0 for point in load["points"])
    assert [(e["address"], e["online"]) for e in out["presence"]] == [("home/cem", True)]  # type: ignore[attr-defined]
    print(f"API end to end: expected {response['body']['expected_change_w']:.0f} W, achieved "
          f"{feedback['body']['achieved_change_w']:.0f} W, area load {[round(p['power_w']) for p in load['points']]} W")
