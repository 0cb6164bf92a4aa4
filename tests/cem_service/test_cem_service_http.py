"""`CemService` with an HTTP listen address serves the household API of the restored CEM, behind the household's
token, with the history read from the store (issue 6 item 2)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
from cem_service_harness import HOME_TOML

from flexcem.bus import Endpoint, MemoryBus
from flexcem.cem.config import parse_home_config
from flexcem.cem.service import CemService
from flexcem.clock import RealClock
from flexcem.model import DeviceCapabilities, DeviceFunction, DeviceKind, DeviceRegistration, DeviceState, DeviceStatus
from flexcem.web.cem_service_http import household_server
from mosquitto_harness import free_port

TOKEN = "a-household-token-of-some-length"


def test_the_service_serves_the_household_api_of_the_restored_cem_with_history_from_the_store(tmp_path: Path) -> None:
    port = free_port()
    text = HOME_TOML.format(commit_required="false", db=tmp_path / "cem.db")
    without_http = parse_home_config(text)
    config = parse_home_config(text + f'\n[http]\nlisten = "127.0.0.1:{port}"\ntoken = "{TOKEN}"\n')

    async def main() -> None:
        bus, clock = MemoryBus(), RealClock()
        first = CemService(without_http, bus=bus, clock=clock)
        await first.start()
        washer = Endpoint(await bus.connect("home/washer"), clock)
        await washer.start()
        capabilities = DeviceCapabilities(
            device_id="washer",
            kind=DeviceKind.WASHING_MACHINE,
            functions=(DeviceFunction.STATUS_REPORT,),
            max_power_w=2000.0,
        )
        await washer.deliver("home/cem", DeviceRegistration(capabilities=capabilities))
        at = clock.now()
        await washer.deliver("home/cem", DeviceStatus(device_id="washer", state=DeviceState.IDLE, at=at, power_w=4.0))
        await first.stop()

        second = CemService(config, bus=bus, clock=clock, http_server=household_server)
        await second.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for _ in range(100):
                    try:
                        refused = await client.get("/api/devices")
                        break
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                assert refused.status_code == 401
                headers = {"Authorization": f"Bearer {TOKEN}"}
                devices = await client.get("/api/devices", headers=headers)
                assert devices.status_code == 200
                assert [d["device_id"] for d in devices.json()] == ["washer"]
                span = {
                    "start": (at - timedelta(minutes=1)).isoformat(),
                    "end": (at + timedelta(minutes=1)).isoformat(),
                }
                history = await client.get("/api/history", headers=headers, params=span)
                assert history.status_code == 200
                assert history.json()["source"] == "cem-store"
                assert [p["value"] for p in history.json()["site_power"]] == [4.0]
        finally:
            await washer.close()
            await second.stop()

    asyncio.run(main())
