"""A grid server started again on the same database (SQLite and PostgreSQL) resumes where the first stopped:
registrations, the traffic light in force, the open event with its answers; the answer deadline that passed
while no server ran fires at start-up and records who had not answered; an answer that waited on the bus is
recorded as late; nothing is sent again. A unicast whose delivery was in progress when the first server
stopped is delivered again with its stored message id: the CEM handles it once, and its answer is recorded.
(The SIGKILL variant over Mosquitto is ``test_grid_restart.py``.)"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from grid_fixtures import GridDatabase, auth, grid_database, grid_tokens

from flexcem.bus import Endpoint, MemoryBus, MemoryLink
from flexcem.clock import RealClock
from flexcem.grid.server import GridServer
from flexcem.model import (
    Envelope,
    LoadManagementRequest,
    LoadManagementResponse,
    PriceEnvironmentProfile,
    ResponseStatus,
    TrafficLight,
)
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


Interrupt = Callable[[Callable[[Envelope], Awaitable[None]], Envelope], Awaitable[None]]
Operation = Callable[[httpx.AsyncClient], Awaitable[tuple[str, str]]]
SIGNAL_TYPES = ("LoadManagementRequest", "PriceEnvironmentProfile")


async def never_sent(send: Callable[[Envelope], Awaitable[None]], envelope: Envelope) -> None:
    """The process dies after storing the signal and before it reaches the bus."""
    await asyncio.Event().wait()


async def sent_then_stuck(send: Callable[[Envelope], Awaitable[None]], envelope: Envelope) -> None:
    """The signal reaches the CEM; the process dies before it takes in the answer."""
    await send(envelope)
    await asyncio.Event().wait()


async def load_management_to_cem_1(http: httpx.AsyncClient) -> tuple[str, str]:
    start = datetime.now(UTC) + timedelta(hours=1)
    created = await http.post("/api/load-management", headers=auth("operator"), json={
        "target": "grid/cem-1", "action": "limit", "amount_w": 3000.0, "event_id": "lm-u",
        "window": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
        "response_deadline": (datetime.now(UTC) + timedelta(minutes=5)).isoformat()})
    assert created.status_code == 201, created.text
    return "load-management", "lm-u"


async def tariff_to_cem_1(http: httpx.AsyncClient) -> tuple[str, str]:
    created = await http.post("/api/tariffs", headers=auth("operator"), json={
        "target": "grid/cem-1", "profile_id": "tariff-u",
        "slots": [{"start": datetime.now(UTC).isoformat(), "duration": "PT1H", "price_per_kwh": 0.31}]})
    assert created.status_code == 201, created.text
    return "tariff", "tariff-u"


async def interrupted_unicast(
    grid_database: GridDatabase, interrupt: Interrupt, operate: Operation
) -> dict[str, Any]:
    """A signal to one CEM (made by ``operate``) whose delivery is cut by ``interrupt``; the first server stops
    mid-delivery (its background work cancelled, as a kill would end it) and a second one starts on the same
    database."""
    bus = MemoryBus()
    signals: list[Envelope] = []
    cem = Endpoint(await bus.connect("grid/cem-1"), RealClock())

    async def on_request(request: LoadManagementRequest, envelope: Envelope) -> LoadManagementResponse:
        signals.append(envelope)
        return LoadManagementResponse(event_id=request.event_id, status=ResponseStatus.ACCEPT,
                                      expected_change_w=800.0)

    async def on_tariff(profile: PriceEnvironmentProfile, envelope: Envelope) -> None:
        signals.append(envelope)

    cem.on(LoadManagementRequest, on_request)
    cem.on(PriceEnvironmentProfile, on_tariff)
    await cem.start()
    first = GridServer(grid_database.open(), bus, answer_wait_s=0.2)
    await first.start()
    link = first._link
    assert isinstance(link, MemoryLink)
    send = link.send

    async def cut(envelope: Envelope, *, retain: bool = False) -> None:
        if envelope.type in SIGNAL_TYPES:
            await interrupt(send, envelope)
        await send(envelope, retain=retain)

    link.send = cut  # type: ignore[method-assign]
    async with client(first) as http:
        for path, body in [("/api/customers", {"id": "c-1"}),
                           ("/api/endpoints", {"address": "cem-1", "customer_id": "c-1"})]:
            assert (await http.post(path, json=body, headers=auth("admin"))).status_code == 201
        program, signal_id = await operate(http)
    before = first.signal_store.get(program, signal_id)
    assert before is not None
    stored_id = before.sent_ids[0]
    seen_before = len(signals)
    assert stored_id is not None and stored_id not in before.settled and not before.acknowledged
    await first.stop()
    first.close()

    second = GridServer(grid_database.open(), bus)
    await second.start()
    try:
        for _ in range(250):
            record = second.signal_store.get(program, signal_id)
            if record is not None and stored_id in record.settled:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # anything delivered twice would arrive by now
        async with client(second) as http:
            view = (await http.get(f"/api/signals/{program}/{signal_id}", headers=auth("viewer"))).json()
    finally:
        await second.stop()
        second.close()
        await cem.close()
    return {"stored_id": stored_id, "seen_before": seen_before, "ids": [e.id for e in signals],
            "record": second.signal_store.get(program, signal_id), "view": view,
            "duplicates": cem.statistics.duplicates}


def test_a_unicast_cut_before_it_left_is_delivered_after_the_restart_once_and_answered(
    grid_database: GridDatabase,
) -> None:
    outcome = asyncio.run(interrupted_unicast(grid_database, never_sent, load_management_to_cem_1))
    record, view = outcome["record"], outcome["view"]
    assert outcome["seen_before"] == 0, "the first server never sent it"
    assert outcome["ids"] == [outcome["stored_id"]], "delivered once after the restart, under the stored id"
    assert outcome["duplicates"] == 0
    assert [(r.responder, r.body.status) for r in record.responses] == [("grid/cem-1", ResponseStatus.ACCEPT)]
    assert record.acknowledged == {"grid/cem-1"} and not record.undelivered
    assert [a["status"] for a in view["answers"]] == ["on-time"] and view["sent"] == 1, "one request stored"


def test_a_unicast_that_arrived_before_the_stop_is_handled_once_and_its_answer_recorded_after_the_restart(
    grid_database: GridDatabase,
) -> None:
    outcome = asyncio.run(interrupted_unicast(grid_database, sent_then_stuck, load_management_to_cem_1))
    record, view = outcome["record"], outcome["view"]
    assert outcome["seen_before"] == 1 and outcome["ids"] == [outcome["stored_id"]], "the CEM handled it once"
    assert outcome["duplicates"] == 1, "the second delivery was answered from the CEM's cache"
    assert [(r.responder, r.body.status) for r in record.responses] == [("grid/cem-1", ResponseStatus.ACCEPT)]
    assert record.acknowledged == {"grid/cem-1"}
    assert [a["status"] for a in view["answers"]] == ["on-time"] and view["sent"] == 1, "one request stored"


def test_a_tariff_to_one_cem_without_deadlines_cut_before_it_left_is_delivered_after_the_restart(
    grid_database: GridDatabase,
) -> None:
    outcome = asyncio.run(interrupted_unicast(grid_database, never_sent, tariff_to_cem_1))
    record, view = outcome["record"], outcome["view"]
    assert outcome["seen_before"] == 0 and outcome["ids"] == [outcome["stored_id"]]
    assert record.acknowledged == {"grid/cem-1"} and view["status"] == "sent" and view["sent"] == 1
