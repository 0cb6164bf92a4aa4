"""``flexcem up``: a grid server, a CEM and a simulated home on this machine, with both dashboards.

Everything runs in one process on the embedded default — the in-process bus and SQLite files in one state
directory — on a :class:`~flexcem.clock.ScaledClock`, so that a day of the real CityLearn home passes in
minutes while a person clicks through both dashboards:

* the **grid server** (:class:`~flexcem.grid.server.GridServer`, endpoint ``local/dso``) with the operator
  API and dashboard; the household is registered as customer ``household``, its CEM in area ``north``, its
  smart meter as ``home-meter``. Every day at 12:00 it publishes the next day's real CityLearn prices (and today's
  at start-up), as a retailer does day-ahead;
* the household's **CEM service** (:class:`~flexcem.cem.service.CemService`, endpoint ``local/home-cem``) with
  its store, API and dashboard;
* a **simulated home** (:class:`~flexcem.sim.runner_home.SimHome`): PV, battery, heat pump with tank, EV,
  washer and dishwasher with their physics, the building's base load and a smart meter that reports to the
  grid; the user loads the washer and the dishwasher and plugs the EV in every day.

The state directory keeps both databases and the operator tokens: run ``flexcem up`` again on the same
directory and both services come back with what they had (the clock starts again at the start day).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flexcem.bus import Link, MemoryBus
from flexcem.bus.access import Role
from flexcem.cem.config import HomeConfig
from flexcem.cem.service import CemService
from flexcem.clock import ScaledClock
from flexcem.data.citylearn import CityLearnData
from flexcem.grid.server import GridServer
from flexcem.model import PriceSlot, TariffKind
from flexcem.sim.forecasts import DataForecasts
from flexcem.sim.population import draw_home
from flexcem.sim.runner_home import SimHome
from flexcem.sim.scenario import SITE_TIMEZONE, Scenario, parse_scenario
from flexcem.store import GridStore
from flexcem.web.auth import Role as ApiRole
from flexcem.web.auth import TokenBook
from flexcem.web.cem_service_http import household_server
from flexcem.web.grid_app import create_grid_app
from flexcem.web.serving import EmbeddedServer, embedded_server

__all__ = ["LocalSite", "LocalSiteOptions", "SiteLinks"]

log = logging.getLogger("flexcem.up")

DOMAIN = "local"
"""The one bus domain of the local site: grid server, CEM and devices."""
HOME_ID = "home"
AREA = "north"
ZONE = ZoneInfo(SITE_TIMEZONE)
_LATE = timedelta(minutes=15)
"""How late a household action is reported as done late (clock time)."""

HOME_SCENARIO = """
name = "flexcem-up"
use_case = "one home with every kind of device, day-ahead prices at noon"
[period]
start = {start}
days = {days}
slot_minutes = 15
[data]
source = "embedded"
buildings = ["Building_1"]
[population]
homes = 1
seed = 4
[population.pv]
share = 1.0
kw = 5.0
[population.battery]
share = 1.0
kwh = 10.0
kw = 5.0
soc = 0.5
[population.heat_pump]
share = 1.0
[population.ev]
share = 1.0
[population.appliances]
washer = 1.0
dishwasher = 1.0
[cem]
objective = "cost"
import_limit_w = 13800
"""


@dataclass(frozen=True)
class LocalSiteOptions:
    """Where ``flexcem up`` keeps its state, where it listens and how fast its clock runs."""

    directory: Path
    host: str = "127.0.0.1"
    grid_port: int = 8300
    cem_port: int = 8301
    speed: float = 60.0
    """Clock seconds per real second (60: a day in 24 minutes)."""
    day: date = date(2021, 7, 20)
    """The first day of the CityLearn data that is played (local time of the homes, America/Chicago)."""
    days: int = 7
    start_hour: float = 7.0
    """Local hour of the first day at which the clock starts."""
    household_token: str = "household-token-local"
    """The household's bearer token on the CEM's API (the page asks for it once)."""


@dataclass(frozen=True)
class SiteLinks:
    """What a person needs to click through: addresses and tokens."""

    grid_url: str
    cem_url: str
    operator_token: str
    viewer_token: str
    household_token: str

    def lines(self) -> list[str]:
        """The text ``flexcem up`` prints."""
        return [
            f"grid operator dashboard  {self.grid_url}   token (operator): {self.operator_token}",
            f"                                                  token (viewer):   {self.viewer_token}",
            f"household dashboard      {self.cem_url}   token: {self.household_token}",
        ]


@dataclass
class LocalSite:
    """The running site; see the module."""

    options: LocalSiteOptions
    echo: Callable[[str], None] = print
    clock: ScaledClock = field(init=False)
    bus: MemoryBus = field(init=False)
    grid: GridServer = field(init=False)
    cem: CemService = field(init=False)
    home: SimHome = field(init=False)
    links: SiteLinks = field(init=False)
    _servers: list[EmbeddedServer] = field(default_factory=list, init=False)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list, init=False)

    @property
    def scenario(self) -> Scenario:
        """The one-home scenario that is played."""
        start = datetime.combine(self.options.day, time(0)) + timedelta(hours=self.options.start_hour)
        text = HOME_SCENARIO.format(start=start.isoformat(), days=self.options.days)
        return parse_scenario(text, path="flexcem-up")

    async def start(self) -> SiteLinks:
        """Start the grid server, the CEM, the home and both HTTP servers; the links to print."""
        options = self.options
        options.directory.mkdir(parents=True, exist_ok=True)
        scenario = self.scenario
        data = CityLearnData.embedded()
        self.clock = ScaledClock(scenario.period.start, options.speed)
        self.bus = MemoryBus()
        tokens = self._tokens()
        self.grid = GridServer(
            GridStore.open(f"sqlite:///{options.directory / 'grid.db'}"), self.bus, domain=DOMAIN, name="dso",
            clock=self.clock,
        )
        await self.grid.start()
        spec = draw_home(scenario, 0)
        self.home = SimHome(
            spec=spec, scenario=scenario, data=data, connect=self._connect, controlled=True,
            grid_sources=(self.grid.address,), domain=DOMAIN, clock=self.clock,
            meter_address=f"{DOMAIN}/{spec.home_id}-meter", external_cem=True, head_end=self.grid.address,
        )
        self._register(self.home.cem_address, meter_id=f"{spec.home_id}-meter")
        self.cem = CemService(
            self._home_config(self.home), bus=self.bus, clock=self.clock, db_path=options.directory / "cem.db",
            forecasts=DataForecasts(data), http=f"{options.host}:{options.cem_port}", http_server=household_server,
        )
        await self.cem.start()
        await self.home.start()
        self._serve(create_grid_app(self.grid, tokens), options.grid_port, "grid http")
        self._tasks.append(asyncio.create_task(self._publish_prices(data), name="day-ahead prices"))
        self._tasks.append(asyncio.create_task(self._play_user(), name="household"))
        self.links = SiteLinks(
            grid_url=f"http://{options.host}:{options.grid_port}/",
            cem_url=f"http://{options.host}:{options.cem_port}/",
            operator_token=self._secret("operator"),
            viewer_token=self._secret("viewer"),
            household_token=options.household_token,
        )
        return self.links

    async def stop(self) -> None:
        """Stop everything, HTTP first, then the home, the CEM and the grid server."""
        for server in self._servers:
            server.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.home.stop()
        await self.cem.stop()
        await self.grid.stop()
        self.grid.close()

    # ------------------------------------------------------------------------------------------ wiring

    async def _connect(self, name: str, role: Role) -> Link:
        return await self.bus.connect(f"{DOMAIN}/{name}")

    def _tokens(self) -> TokenBook:
        path = self.options.directory / "grid-tokens.json"
        secrets_path = self.options.directory / "grid-tokens.local.json"
        book = TokenBook.load(path) if path.exists() else TokenBook(path=path)
        secrets: dict[str, str] = json.loads(secrets_path.read_text()) if secrets_path.exists() else {}
        for name, role in (("admin", ApiRole.ADMIN), ("operator", ApiRole.OPERATOR), ("viewer", ApiRole.VIEWER)):
            if name not in secrets or book.authenticate(secrets[name]) is None:
                book.revoke(name)
                secrets[name] = book.issue(name, role)
        book.save()
        secrets_path.write_text(json.dumps(secrets, indent=2))
        secrets_path.chmod(0o600)
        self._secrets = secrets
        return book

    def _secret(self, name: str) -> str:
        return self._secrets[name]

    def _register(self, cem_address: str, meter_id: str) -> None:
        """The household, its CEM, its area and its meter in the grid's registry (on a new database only)."""
        if self.grid.customers(limit=1)[0]:
            return
        self.grid.add_customer("household", name="The local household")
        self.grid.add_endpoint(cem_address, "household")
        self.grid.add_area(AREA, members=[cem_address])
        self.grid.add_meter(meter_id, endpoint=cem_address)

    def _home_config(self, home: SimHome) -> HomeConfig:
        settings = home.settings()
        devices: list[dict[str, Any]] = [
            {"id": f"{home.spec.home_id}-{name}", "kind": kind}
            for name, kind in (
                ("pv", "pv"), ("battery", "battery"), ("heatpump", "heat_pump"), ("ev", "electric_vehicle"),
                ("washer", "washing_machine"), ("dishwasher", "dishwasher"), ("baseload", "base_load"),
            )
            if name in (*home.spec.devices, "baseload")
        ]
        for device in devices:
            if device["kind"] in ("battery", "heat_pump", "electric_vehicle"):
                device["load_management"] = {"max_duration": "PT8H"}
        return HomeConfig.model_validate(
            {
                "identity": {"domain": DOMAIN, "endpoint_id": home.cem_address.split("/", 1)[1]},
                "bus": {"url": "memory://"},
                "site": {
                    "timezone": SITE_TIMEZONE, "import_limit_w": settings.site_import_limit_w,
                    "tariff_sources": [self.grid.address], "area": AREA, "meter": home.meter_address,
                    "currency": "USD",
                },
                "preferences": {
                    "objective": "cost", "replan_interval": "PT1H",
                    "heartbeat_interval": "PT1H", "heartbeat_grace": "PT10M",  # the devices report hourly
                },
                "devices": devices,
                "http": {"token": self.options.household_token},
            }
        )

    def _serve(self, app: Any, port: int, name: str) -> None:
        server = embedded_server(app, self.options.host, port)
        self._servers.append(server)
        self._tasks.append(asyncio.create_task(server.serve(), name=name))

    # ------------------------------------------------------------------------------------------ the day

    async def _publish_prices(self, data: CityLearnData) -> None:
        """Today's prices at once, then every day at 12:00 the next day's (day-ahead, real CityLearn prices)."""
        today = self.clock.now().astimezone(ZONE).date()
        await self._publish_day(data, today)
        day = today
        while True:
            noon = datetime.combine(day, time(12), ZONE)
            if noon > self.clock.now():
                await self.clock.sleep_until(noon)
            await self._publish_day(data, day + timedelta(days=1))
            day += timedelta(days=1)

    async def _publish_day(self, data: CityLearnData, day: date) -> None:
        start = datetime.combine(day, time(0), ZONE)
        slots = [
            PriceSlot(
                start=start + timedelta(hours=hour), duration=timedelta(hours=1),
                price_per_kwh=data.value_at(data.price_per_kwh, start + timedelta(hours=hour)),
            )
            for hour in range(24)
        ]
        try:
            await self.grid.publish_tariff(
                slots, profile_id=f"tou-{day.isoformat()}", tariff_name="CityLearn time of use", currency="USD",
                kind=TariffKind.DAY_AHEAD,
            )
        except Exception:  # a failed publication must not stop the site: the next day tries again
            log.exception("publishing the prices of %s failed", day)

    async def _play_user(self) -> None:
        """What the household does: load the washer and the dishwasher, plug the EV in, every day.

        What fell due while the site was starting (at 3,600× a start-up of a few seconds is hours of the home's
        time) is done at once, late, rather than left out: the day's appliances still run.
        """
        for at, what, action in self.home.user_actions():
            await self.clock.sleep_until(at)
            now = self.clock.now()
            late = f" (due {at.astimezone(ZONE):%H:%M}, done late: the site was starting)" if now - at > _LATE else ""
            self.echo(f"{now.astimezone(ZONE):%a %H:%M}  the household: {what}{late}")
            try:
                await action()
            except Exception:
                log.exception("the household's %s failed", what)
