"""Restart without loss (issue 6, item 3; TR JWG3102 "restart in the same state"): ``flexcem grid serve`` on a
SQLite file over a Mosquitto of the test's own is killed with SIGKILL in the middle of two load-management
events — after sending, before their answer deadlines — and started again on the same database.

What must hold: the registrations and both events are there; nothing is sent twice (each CEM got each request
once, one request message is stored per event); the deadlines that passed while the server was down fire
after the restart and record who did not answer; an answer sent to the dead server (kept by the broker in the
server's persistent session) is recorded after the restart, as late. SIGTERM then stops the server cleanly.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from grid_fixtures import auth, grid_tokens

from flexcem.bus import Endpoint
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.mqtt import MqttBus
from flexcem.clock import RealClock
from flexcem.model import Envelope, LoadManagementRequest, LoadManagementResponse, ResponseStatus
from mosquitto_harness import free_port, start_broker

POLICY = AccessPolicy(identities=(
    Identity(id="dso", grants=(Grant(domain="grid", role=Role.CONTROLLER),)),
    *(Identity(id=f"cem-{k}", grants=(Grant(domain="grid", role=Role.ENDPOINT, groups=("area-feeder-7",)),))
      for k in (1, 2)),
))


class GridProcess:
    """``python -m flexcem.cli.main grid serve`` as a subprocess."""

    def __init__(self, tmp: Path, broker_uri: str) -> None:
        self.port = free_port()
        self.log = tmp / "grid.log"
        self.command = [
            sys.executable, "-m", "flexcem.cli.main", "grid", "serve", "--db", f"sqlite:///{tmp / 'grid.db'}",
            "--bus", broker_uri, "--http", f"127.0.0.1:{self.port}", "--tokens", str(tmp / "tokens.json"),
            "--ack-timeout-s", "2", "--log-level", "info",
        ]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = asyncio.get_running_loop().time() + 60
        async with httpx.AsyncClient() as http:
            while True:
                assert self.process.poll() is None, f"grid serve exited: {self.log.read_text()[-3000:]}"
                try:
                    if (await http.get(f"{self.url}/api/health")).json()["status"] == "ok":
                        return
                except httpx.HTTPError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, self.log.read_text()[-3000:]
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=20)


async def until(check: Any, timeout_s: float = 20.0) -> Any:
    """Poll ``check()`` (a coroutine function) until it returns something true; that value."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.slow
def test_sigkill_in_the_middle_of_events_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "broker", POLICY)
    grid_tokens(tmp_path / "tokens.json")
    grid = GridProcess(tmp_path, broker.uri)

    async def main() -> None:
        received: Counter[tuple[str, str]] = Counter()
        held: list[tuple[LoadManagementRequest, Envelope]] = []
        bus = MqttBus(broker.uri, keepalive_s=5, connect_timeout_s=30)
        cems: dict[str, Endpoint] = {}

        def cem(name: str):  # type: ignore[no-untyped-def]
            async def on_request(request: LoadManagementRequest, envelope: Envelope) -> None:
                received[(name, request.event_id)] += 1
                if name == "cem-1" and request.event_id == "lm-a":
                    await cems[name].send(envelope.reply_address, LoadManagementResponse(
                        event_id="lm-a", status=ResponseStatus.ACCEPT, expected_change_w=300.0))
                elif name == "cem-2" and request.event_id == "lm-a":
                    held.append((request, envelope))  # answered later, while the server is down
            return on_request

        await grid.start()
        async with httpx.AsyncClient(base_url=grid.url) as http:
            for path, body in [("/api/customers", {"id": "cem-1"}), ("/api/customers", {"id": "cem-2"}),
                               ("/api/endpoints", {"address": "cem-1", "customer_id": "cem-1"}),
                               ("/api/endpoints", {"address": "cem-2", "customer_id": "cem-2"}),
                               ("/api/areas", {"id": "feeder-7", "members": ["cem-1", "cem-2"]})]:
                response = await http.post(path, json=body, headers=auth("admin"))
                assert response.status_code == 201, response.text
            for name in ("cem-1", "cem-2"):
                cems[name] = Endpoint(await bus.connect(f"grid/{name}"), RealClock())
                cems[name].on(LoadManagementRequest, cem(name))
                await cems[name].start()
            now = datetime.now(UTC)
            deadline = now + timedelta(seconds=8)
            for event_id in ("lm-a", "lm-b"):
                created = await http.post("/api/load-management", headers=auth("operator"), json={
                    "target": "feeder-7", "action": "reduce", "amount_w": 300.0, "event_id": event_id,
                    "window": {"start": (now + timedelta(hours=1)).isoformat(),
                               "end": (now + timedelta(hours=2)).isoformat()},
                    "response_deadline": deadline.isoformat()})
                assert created.status_code == 201, created.text

            async def cem1_answered() -> bool:
                view = (await http.get("/api/signals/load-management/lm-a", headers=auth("viewer"))).json()
                return len(view["answers"]) == 1 and len(held) == 1

            await until(cem1_answered)
            assert datetime.now(UTC) < deadline, "the kill must come before the deadline (machine too slow?)"
            grid.kill()
            await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 0.5)
            request, envelope = held[0]
            await cems["cem-2"].send(envelope.reply_address, LoadManagementResponse(
                event_id=request.event_id, status=ResponseStatus.NOT_SUFFICIENT, expected_change_w=120.0))
            await grid.start()

            async def late_answer_recorded() -> dict[str, Any] | None:
                view: dict[str, Any] = (await http.get("/api/signals/load-management/lm-a",
                                                       headers=auth("viewer"))).json()
                return view if len(view["answers"]) == 2 and view["status"] == "open" else None

            a = await until(late_answer_recorded)
            b = (await http.get("/api/signals/load-management/lm-b", headers=auth("viewer"))).json()
            endpoints = (await http.get("/api/endpoints", headers=auth("viewer"))).json()["items"]
            areas = (await http.get("/api/areas", headers=auth("viewer"))).json()
            sent = (await http.get("/api/messages", headers=auth("viewer"),
                                   params={"kind": "LoadManagementRequest"})).json()["items"]
            await asyncio.sleep(1.0)  # anything sent again after the restart would arrive by now
        for endpoint in cems.values():
            await endpoint.close()
        assert grid.terminate() == 0, grid.log.read_text()[-3000:]

        answers = {x["responder"]: x for x in a["answers"]}
        assert answers["grid/cem-1"]["status"] == "on-time" and answers["grid/cem-1"]["body"]["status"] == "accept"
        assert answers["grid/cem-2"]["status"] == "late", "the answer sent to the dead server is recorded, late"
        assert answers["grid/cem-2"]["body"]["expected_change_w"] == 120.0
        assert a["expected"] == ["grid/cem-1", "grid/cem-2"] and a["sent"] == 1
        assert a["missing"]["LoadManagementResponse"] in ([], ["grid/cem-2"])
        assert b["missing"] == {"LoadManagementResponse": ["grid/cem-1", "grid/cem-2"]}, \
            "the deadline that passed while the server was down fired after the restart"
        assert b["status"] == "open", "the feedback deadline is still to come"
        assert [e["address"] for e in endpoints] == ["grid/cem-1", "grid/cem-2"]
        assert areas[0]["members"] == ["grid/cem-1", "grid/cem-2"]
        assert sorted(m["signal_id"] for m in sent) == ["lm-a", "lm-b"], "one request message per event"
        assert received == {(c, e): 1 for c in ("cem-1", "cem-2") for e in ("lm-a", "lm-b")}, \
            "each CEM got each request once: nothing was sent again"
        assert "re-armed from the store" in grid.log.read_text()

    try:
        asyncio.run(main())
    finally:
        if grid.process is not None and grid.process.poll() is None:
            os.kill(grid.process.pid, signal.SIGKILL)
        broker.stop()
