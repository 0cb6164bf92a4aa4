"""The CEM as a service: ``home.toml`` → bus connection, CustomerEnergyManager, SQLite store, restart in the same
state (TR JWG3102), optionally the household's HTTP API.

>>> service = CemService(load_home_config(Path("home.toml")))            # doctest: +SKIP
>>> await service.start()      # opens the store, restores, joins the bus, resumes events in force
>>> await service.wait()       # until service.request_stop() (SIGTERM/SIGINT with `flexcem cem run`)
>>> await service.stop()

In one process with other components (``flexcem up``, tests) give the bus: ``CemService(config, bus=memory_bus,
clock=clock)``. Every change of the CEM's state (``cem.on_change``) is written to the store at once, in one
transaction, before the CEM goes on; so a process killed at any instant restarts with what it had confirmed
to its devices and does not send it again (see docs/cem-service.md for what is and is not resumed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from flexcem.bus import Endpoint, Link, MemoryBus
from flexcem.bus.access import Role
from flexcem.bus.pki import ClientCredentials
from flexcem.cem.config import HomeConfig
from flexcem.cem.forecasts import HomeForecasts
from flexcem.cem.manager import CustomerEnergyManager, JournalEntry
from flexcem.cem.store import ActiveEvent, CemStore, PlanCache, Reading, StoredEntry, active_events, restore, snapshot
from flexcem.cem.store.alive import StoreAliveMemory
from flexcem.cem.store.load_events import LOAD_MANAGEMENT, resume_load_event
from flexcem.cem.store.state import resumed_emergency
from flexcem.clock import Clock, RealClock
from flexcem.model import PowerFlow, TimeWindow
from flexcem.planner import LimitSlot

__all__ = ["CemService", "HttpServerFactory", "ServiceStatistics"]

HttpServerFactory = Callable[["CemService", str], Any]
"""Makes the household's HTTP server for a started service and a ``HOST:PORT``: an object with ``async serve()``
and ``should_exit`` (a uvicorn server; :func:`flexcem.web.cem_service_http.household_server`)."""

log = logging.getLogger("flexcem.cem.service")

RESTORED_JOURNAL = 500
"""How many of the latest journal entries a restarted CEM holds in memory again (all stay in the store)."""


@dataclass
class ServiceStatistics:
    """What the service did with the store."""

    restored_devices: int = 0
    restored_jobs: int = 0
    restored_plan: bool = False
    saves: int = 0
    save_failures: int = 0


class CemService:
    """One CEM from its home configuration, with its store; see the module."""

    def __init__(
        self,
        config: HomeConfig,
        *,
        bus: MemoryBus | Any | None = None,
        bus_url: str | None = None,
        db_path: Path | None = None,
        clock: Clock | None = None,
        forecasts: HomeForecasts | None = None,
        http: str | None = None,
        http_server: HttpServerFactory | None = None,
    ) -> None:
        self.config = config
        self.bus_url = bus_url or config.bus.url
        self.db_path = db_path or config.store.path
        self.clock = clock or RealClock()
        self.forecasts = forecasts
        self.http = http or config.http.listen
        self._http_server = http_server
        if self.http and http_server is None:
            raise ValueError(
                f"http.listen: {self.http} is set but no HTTP server was given "
                "(CemService(..., http_server=flexcem.web.cem_service_http.household_server))"
            )
        self._given_bus = bus
        self._owned_bus: Any = None
        self.store: CemStore | None = None
        self.cem: CustomerEnergyManager | None = None
        self.statistics = ServiceStatistics()
        self._cache = PlanCache()
        self._journal_saved = 0
        self._status_saved: dict[str, datetime] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stop = asyncio.Event()
        self._server: Any = None

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> CustomerEnergyManager:
        """Open the store, build the CEM, restore its state, join the bus, resume events; the CEM."""
        self.store = CemStore.open(self.db_path)
        rows = self.store.load()
        link = await self._connect()
        bus = self.config.bus
        endpoint = Endpoint(link, self.clock, ack_timeout_s=bus.ack_timeout_s, retries=bus.retries)
        cem = CustomerEnergyManager(endpoint, self.config.cem_settings(), self.forecasts)
        restore(cem, rows)
        stored = self.store.journal(RESTORED_JOURNAL)
        cem.journal.extend(JournalEntry(entry.at, entry.text) for entry in stored)
        self._journal_saved = len(cem.journal)
        self._status_saved = {r.device_id: r.status.at for r in cem.registry.records() if r.status is not None}
        self.statistics.restored_devices = len(cem.registry)
        self.statistics.restored_jobs = len(cem.jobs.all())
        self.statistics.restored_plan = cem.plan is not None
        self.cem = cem
        cem.on_change.append(self._persist)
        cem.grid_side.power_loss.memory = StoreAliveMemory(self.store)  # JWG3102: a restart reports a power loss
        if rows.get("cem_devices"):
            cem.note(
                f"restarted from {self.db_path.name}: {len(cem.registry)} device(s), {len(cem.jobs.all())} job(s), "
                + ("a plan" if cem.plan is not None else "no plan")
                + (f", {cem.proposal.proposal_id}" if cem.proposal is not None else "")
            )
        events = active_events(rows)
        for event in events:
            if event.kind == LOAD_MANAGEMENT:
                resume_load_event(cem, event.state)
        await cem.start()
        for event in events:
            if event.kind == "emergency":
                self._tasks.append(asyncio.create_task(self._resume(event)))
        if self.http:
            await self._serve_http(self.http)
        return cem

    async def _connect(self) -> Link:
        address = self.config.identity.address
        if self._given_bus is not None:
            bus = self._given_bus
        elif self.bus_url.startswith("memory://"):
            bus = self._owned_bus = MemoryBus()
        else:
            from flexcem.bus.mqtt import MqttBus

            settings = self.config.bus
            bus = self._owned_bus = MqttBus(
                self.bus_url, pki=settings.pki, keepalive_s=settings.keepalive_s, clock=self.clock
            )
            credentials = None
            if settings.ca_file and settings.cert_file and settings.key_file:
                credentials = ClientCredentials(settings.ca_file, settings.cert_file, settings.key_file)
            link: Link = await bus.connect(address, role=Role.CONTROLLER, credentials=credentials)
            return link
        if isinstance(bus, MemoryBus):
            return await bus.connect(address)
        connected: Link = await bus.connect(address, role=Role.CONTROLLER)
        return connected

    async def _resume(self, event: ActiveEvent) -> None:
        """An emergency that was in force: devices already in standby get nothing again; its end is awaited."""
        assert self.cem is not None
        emergency = self.cem.emergency
        emergency.active.setdefault(event.key, resumed_emergency(event))
        blackout = event.state.get("blackout")
        if blackout is not None:
            window = TimeWindow.model_validate(blackout)
            limit = LimitSlot(start=window.start, duration=window.duration, limit_w=0.0)
            self.cem.reductions.hold(event.key, PowerFlow.IMPORT, [limit])
        await emergency.enter(event.key, event.level)
        if event.until is not None:
            await self.clock.sleep_until(event.until)  # at once when it lapsed while the CEM was down
            await emergency.leave(event.key)

    async def wait(self) -> None:
        """Run until :meth:`request_stop`."""
        await self._stop.wait()

    def request_stop(self) -> None:
        """Ask :meth:`wait` to return (signal handlers call this)."""
        self._stop.set()

    async def stop(self) -> None:
        """Stop the CEM (its state is already stored), the HTTP server and the bus; close the store."""
        if self._server is not None:
            self._server.should_exit = True
            serving = [task for task in self._tasks if task.get_name() == "cem http"]
            await asyncio.wait(serving, timeout=5.0) if serving else None
            self._server = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.cem is not None:
            await self.cem.stop()
            self._persist("stopped")
            self.cem.on_change.remove(self._persist)
        if self._owned_bus is not None and hasattr(self._owned_bus, "close"):
            with contextlib.suppress(Exception):
                await self._owned_bus.close()
        if self.store is not None:
            self.store.close()

    # ---------------------------------------------------------------------------------------- persistence

    def _persist(self, what: str) -> None:
        """Write what changed (hook of ``cem.on_change``); a failed write is logged and retried at the next one."""
        cem, store = self.cem, self.store
        if cem is None or store is None:
            return
        journal = [StoredEntry(entry.at, entry.text) for entry in cem.journal[self._journal_saved :]]
        readings = self._new_readings(cem)
        try:
            store.save(snapshot(cem, self._cache), journal, readings)
        except SQLAlchemyError:
            self.statistics.save_failures += 1
            log.exception("%s: the CEM store could not be written (%s)", cem.endpoint.address, what)
            return
        self.statistics.saves += 1
        self._journal_saved = len(cem.journal)
        for reading in readings:
            if reading.device_id != "site":
                self._status_saved[reading.device_id] = reading.at

    def _new_readings(self, cem: CustomerEnergyManager) -> list[Reading]:
        readings: list[Reading] = []
        for record in cem.registry.records():
            status = record.status
            if status is not None and self._status_saved.get(record.device_id) != status.at:
                readings.append(Reading(record.device_id, status.at, status.power_w, status.energy_wh))
        if readings:
            site_w = sum(r.status.power_w for r in cem.registry.records() if r.status is not None)
            readings.append(Reading("site", max(r.at for r in readings), site_w))
        return readings

    # ------------------------------------------------------------------------------------------------ HTTP

    async def _serve_http(self, listen: str) -> None:
        """Serve the household's API and dashboard on ``listen`` (``HOST:PORT``) in this event loop."""
        assert self._http_server is not None  # checked when the service was made
        self._server = self._http_server(self, listen)
        self._tasks.append(asyncio.create_task(self._server.serve(), name="cem http"))
