"""A grid server started again on the same database (SQLite and PostgreSQL) resumes where the first stopped:
registrations, the traffic light in force, the open event with its answers; the answer deadline that passed
while no server ran fires at start-up and records who had not answered; an answer that waited on the bus is
recorded as late; nothing is sent again. (The SIGKILL variant over Mosquitto is ``test_grid_restart.py``.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from grid_fixtures import GridDatabase, auth, grid_database, grid_tokens

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import RealClock
from flexcem.grid.server import GridServer
from flexcem.model import Envelope, LoadManagementRequest, LoadManagementResponse, ResponseStatus, TrafficLight
from flexcem.web.grid_app import create_grid_app

__all__ = ["grid_database"]


def client(server: GridServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_grid_app(server, grid_tokens())),
                             base_url="http://grid.test")


def test_a_new_server_on_the_same_database_resumes_the_event_light_and_registry(grid_database: GridDatabase) -> None:
    async def main() -> None:
        bus = MemoryBus()
        received: Counter[str] = Counter()
        held: list[Envelope] = []
        cems = {name: Endpoint(await bus.connect(f"grid/{name}"), RealClock()) for name in ("cem-1", "cem-2")}

        async def cem1(request: LoadManagementRequest, envelope: Envelope) -> None:
            received["cem-1"] += 1
            await cems["cem-1"].send(envelope.reply_address, LoadManagementResponse(
                event_id=request.event_id, status=ResponseStatus.ACCEPT, expected_change_w=250.0))

        async def cem2(request: LoadManagementRequest, envelope: Envelope) -> None:
            received["cem-2"] += 1
            held.append(envelope)

        async def light(body: TrafficLight, envelope: Envelope) -> None:
            received[f"light {envelope.to}"] += 1

        cems["cem-1"].on(LoadManagementRequest, cem1)
        cems["cem-2"].on(LoadManagementRequest, cem2)
        cems["cem-2"].on(TrafficLight, light)
        for endpoint in cems.values():
            await endpoint.start()

        first = GridServer(grid_database.open(), bus)
        await first.start()
        deadline = datetime.now(UTC) + timedelta(seconds=1.5)
        async with client(first) as http:
            for path, body in [("/api/customers", {"id": "c-1"}),
                               ("/api/endpoints", {"address": "cem-1", "customer_id": "c-1"}),
                               ("/api/endpoints", {"address": "cem-2", "customer_id": "c-1"}),
                               ("/api/areas", {"id": "feeder-7", "members": ["cem-1", "cem-2"]})]:
                assert (await http.post(path, json=body, headers=auth("admin"))).status_code == 201
            assert (await http.post("/api/traffic-light", json={"area": "feeder-7", "state": "yellow"},
                                    headers=auth("operator"))).status_code == 201
            start = datetime.now(UTC) + timedelta(hours=1)
            created = await http.post("/api/load-management", headers=auth("operator"), json={
                "target": "feeder-7", "action": "limit", "amount_w": 4000.0, "event_id": "lm-r",
                "window": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
                "response_deadline": deadline.isoformat()})
            assert created.status_code == 201, created.text
            while len(first.load_management.record("lm-r").responses) < 1 or not held:
                await asyncio.sleep(0.02)
        await first.stop()
        first.close()

        await asyncio.sleep((deadline - datetime.now(UTC)).total_seconds() + 0.2)
        await cems["cem-2"].send("grid/dso", LoadManagementResponse(
            event_id="lm-r", status=ResponseStatus.REJECT, reason="the user is away"))

        second = GridServer(grid_database.open(), bus)
        await second.start()
        try:
            async with client(second) as http:
                view = {}
                for _ in range(200):
                    view = (await http.get("/api/signals/load-management/lm-r", headers=auth("viewer"))).json()
                    if len(view["answers"]) == 2 and "LoadManagementResponse" in view["missing"]:
                        break
                    await asyncio.sleep(0.02)
                areas = (await http.get("/api/areas", headers=auth("viewer"))).json()
                endpoints = (await http.get("/api/endpoints", headers=auth("viewer"))).json()["items"]
                await asyncio.sleep(0.3)
        finally:
            await second.stop()
            second.close()
            for endpoint in cems.values():
                await endpoint.close()

        statuses = {a["responder"]: a["status"] for a in view["answers"]}
        assert statuses == {"grid/cem-1": "on-time", "grid/cem-2": "late"}
        assert view["missing"]["LoadManagementResponse"] in ([], ["grid/cem-2"])
        assert view["status"] == "open" and view["sent"] == 1 and "LoadAdjustmentFeedback" in view["deadlines"]
        assert areas == [{"id": "feeder-7", "group": "grid/grp/area-feeder-7",
                          "members": ["grid/cem-1", "grid/cem-2"], "state": "yellow"}]
        assert [e["address"] for e in endpoints] == ["grid/cem-1", "grid/cem-2"]
        assert received == {"cem-1": 1, "cem-2": 1, "light grid/grp/area-feeder-7": 1}, "nothing was sent again"

    asyncio.run(main())
