"""A furnished home for the household API and dashboard tests: a real CEM on a MemoryBus with real device agents
(a washer and a dishwasher offering flexible starts, a battery, a PV system) and the retailer's real tariff.

* :func:`run_api` runs a scenario on the harness's simulated clock; the app is driven in the same loop with an
  ``httpx.AsyncClient`` over ``ASGITransport`` (no socket).
* :class:`LiveHome` runs the same home on a real-time clock shifted to the data's year (the CityLearn tariff
  is of 2021) in a background thread, with uvicorn serving the app on a free port in that same loop, for the
  browser tests.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import uvicorn

import home_harness
from flexcem.bus import Endpoint
from flexcem.cem import CemSettings, CustomerEnergyManager
from flexcem.devices import BatteryAgent, Dishwasher, PvAgent, WashingMachine
from flexcem.grid import TariffProgram
from flexcem.model import TariffKind
from flexcem.model.home_parameters import PvParameters
from flexcem.web.cem_app import create_cem_app
from home_harness import DATA, DOMAIN, ZONE, Home, local, real_prices, run_home, settle
from whole_home import agent

T = TypeVar("T")

MORNING = local(2021, 7, 6, 9)
"""A sunny July morning in the test home's zone (America/Chicago)."""
DONE_BY = local(2021, 7, 6, 21)
PV_4KW = PvParameters(nominal_power_w=4_000.0, tilt_deg=25.0, azimuth_deg=180.0, inverter_ac_max_w=3_800.0)
TOKEN = "s3cret-household-token"


def settings(*, commit_required: bool = False, **changes: Any) -> CemSettings:
    """The home's settings: the retailer's tariff, local time, optionally plans the user commits."""
    return CemSettings(
        tariff_sources=(f"{DOMAIN}/retailer",), timezone=str(ZONE), commit_required=commit_required, **changes
    )


@dataclass
class Furnished:
    """The home's devices."""

    washer: WashingMachine
    dishwasher: Dishwasher
    battery: BatteryAgent
    pv: PvAgent


async def furnish(home: Home, *, settled: Callable[[Home], Awaitable[None]] = settle) -> Furnished:
    """A battery and a PV system, then a washer and a dishwasher whose runs wait for a start (done by 21:00)."""
    battery = await agent(home, lambda e, c, d: BatteryAgent(e, c, d), "battery")
    pv = await agent(home, lambda e, c, d: PvAgent(e, c, d, PV_4KW), "pv")
    washer = await home.washer()
    dishwasher = await home.dishwasher()
    washer.prepare("cotton_60", latest_end=DONE_BY)
    dishwasher.prepare("auto_65", latest_end=DONE_BY)
    await washer.activate()
    await dishwasher.activate()
    await settled(home)
    return Furnished(washer, dishwasher, battery, pv)


def client(home: Home, *, token: str | None = None, history: object | None = None) -> httpx.AsyncClient:
    """An HTTP client for the home's CEM app, in the same loop, without a socket."""
    app = create_cem_app(home.cem, token=token, history=history)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cem.test")


def run_api(
    scenario: Callable[[Home, Furnished, httpx.AsyncClient], Awaitable[T]],
    *,
    cem_settings: CemSettings | None = None,
    token: str | None = None,
) -> T:
    """Run ``scenario(home, devices, client)`` in a furnished home on the in-process bus and a simulated clock."""
    home_harness.BUS_KIND = "memory"

    async def main(home: Home) -> T:
        devices = await furnish(home)
        async with client(home, token=token) as http:
            return await scenario(home, devices, http)

    return run_home(main, start=MORNING, settings=cem_settings or settings())


def field_of(response: httpx.Response) -> str:
    """The field an error names, as ``loc`` joined by dots (``body.until``)."""
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return ".".join(str(part) for part in detail[0]["loc"])


# --------------------------------------------------------------------------------------- live (real time)


class ShiftedClock:
    """Real time moved to ``start`` (it runs at the wall clock's pace from there)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        """The shifted present (UTC)."""
        return datetime.now(UTC) + self._offset

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` [s] of real time."""
        await asyncio.sleep(max(0.0, seconds))

    async def sleep_until(self, instant: datetime) -> None:
        """Wait until ``instant`` of this clock."""
        while (remaining := (instant - self.now()).total_seconds()) > 0:
            await asyncio.sleep(min(remaining, 60.0))


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LiveHome:
    """The furnished home on a real-time clock with its CEM app served over HTTP, in a thread of its own."""

    def __init__(self, cem_settings: CemSettings, token: str | None = None) -> None:
        self.settings = cem_settings
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self.ready: Future[None] = Future()
        self.home: Home | None = None
        self.devices: Furnished | None = None
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),), daemon=True)

    def __enter__(self) -> LiveHome:
        self._thread.start()
        self.ready.result(timeout=90)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self.loop.call_soon_threadsafe(setattr, self._server, "should_exit", True)
        self._thread.join(timeout=30)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coroutine`` in the home's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _main(self) -> None:
        try:
            await self._serve()
        except BaseException as error:
            if not self.ready.done():
                self.ready.set_exception(error)
            raise

    async def _serve(self) -> None:
        clock = ShiftedClock(MORNING)
        backend = home_harness.MemoryBackend(None, [])
        cem = CustomerEnergyManager(Endpoint(await backend.connect("cem"), clock), self.settings)
        retailer = TariffProgram(
            Endpoint(await backend.connect("retailer"), clock),
            real_prices,
            tariff_name="tou",
            currency="USD",
            timezone=ZONE,
            kind=TariffKind.TIME_OF_USE,
        )
        home = Home(clock=clock, backend=backend, cem=cem, retailer=retailer)  # type: ignore[arg-type]  # real-time clock
        self.home = home
        await cem.start()
        await retailer.start()

        async def settled(home: Home) -> None:
            for _ in range(600):  # until the first plan (or proposal) exists, at most a minute
                await asyncio.sleep(0.1)
                if cem.plans_made and (cem.proposal is not None or not cem.settings.commit_required):
                    await cem.settled()
                    return
            raise TimeoutError("no plan within a minute")

        self.devices = await furnish(home, settled=settled)
        self._server = uvicorn.Server(
            uvicorn.Config(create_cem_app(cem, token=self.token), host="127.0.0.1", port=self.port, log_level="warning")
        )
        serving = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.05)
            if serving.done():
                await serving
        self.ready.set_result(None)
        try:
            await serving
        finally:
            for device in (self.devices.washer, self.devices.dishwasher, self.devices.battery, self.devices.pv):
                await device.power_off()
            await cem.stop()
            await retailer.stop()


__all__ = [
    "DATA",
    "DONE_BY",
    "MORNING",
    "TOKEN",
    "Furnished",
    "LiveHome",
    "ShiftedClock",
    "client",
    "field_of",
    "furnish",
    "run_api",
    "settings",
    "settle",
]
