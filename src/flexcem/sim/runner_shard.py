"""One shard of a simulation: a set of homes on their own bus and simulated clock, with the grid side (the
retailer's :class:`~flexcem.grid.TariffProgram` and the DSO's signal programs) running the scenario's timeline.

:func:`run_shard` is what a worker process runs; it returns plain, picklable results: per home the slot
series of every meter [W], comfort and message counts; per home and signal what was asked and answered.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time as wall
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from flexcem.bus import Endpoint, Link, MemoryBus
from flexcem.bus.access import Role
from flexcem.bus.mqtt import ConnectRefused, MqttBus
from flexcem.bus.pki import ClientCredentials, PkiError, certificates
from flexcem.clock import SimulatedClock
from flexcem.data.citylearn import CityLearnData
from flexcem.grid import EmergencyProgram, EnergySavingProgram, GridRegistry, LoadManagementProgram, TariffProgram
from flexcem.grid.energy_saving import RESPONSE as SAVING_RESPONSE
from flexcem.grid.load_management import FEEDBACK, RESPONSE
from flexcem.grid.traffic_light import TrafficLightProgram
from flexcem.model import (
    EnergySavingResponse,
    LoadAdjustmentFeedback,
    LoadManagementResponse,
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    PriceSlot,
    ReductionMeans,
    TariffKind,
)
from flexcem.sim.population import HomeSpec
from flexcem.sim.runner_home import SimHome
from flexcem.sim.scenario import SITE_TIMEZONE, Scenario
from flexcem.sim.scenario_data import load_buildings
from flexcem.sim.scenario_signals import (
    EmergencyEvent,
    EnergySavingEvent,
    ExportReductionEvent,
    LoadManagementEvent,
    TariffCorrectionEvent,
    TrafficLightEvent,
)

__all__ = [
    "EndpointConnectError",
    "GridConnectError",
    "HomeSeries",
    "ShardResult",
    "ShardTask",
    "SignalOutcome",
    "grid_identities",
    "run_shard",
    "shard_domain",
    "shard_endpoints",
]

log = logging.getLogger("flexcem.sim")

_LAST_INSTANT = timedelta(milliseconds=1)
"""The simulation stops this long before the period's end."""

CONNECTS_IN_FLIGHT = 48
"""Over a broker: how many of a shard's connections may be under way at once (TCP, CONNECT, SUBSCRIBE and the
presence each). One after another, 1,000 homes (about 9,000 connections) took 12 minutes to connect."""

Progress = Callable[[str, int, datetime, int], None]
"""``(mode, shard, simulated now, homes finished)``."""


@dataclass(frozen=True)
class ShardTask:
    """What one worker simulates."""

    scenario: Scenario
    homes: tuple[HomeSpec, ...]
    shard: int
    controlled: bool
    bus: str | None = None
    signals: bool = True
    """With control: whether the grid sends the timeline's signals (tariff corrections are sent either way)."""
    pki: Path | None = None
    """Over ``mqtts://``: the PKI directory holding every endpoint's client certificate (CN = endpoint id)."""


def shard_domain(task: ShardTask) -> str:
    """The SG CP domain of ``task``: ``sim-c0`` (control), ``sim-n0`` (no control), ``sim-u0`` (control
    without the grid's signals), the number being the shard's."""
    mode = ("c" if task.signals else "u") if task.controlled else "n"
    return f"sim-{mode}{task.shard}"


def grid_identities(domain: str) -> tuple[str, str]:
    """The endpoint ids of the retailer and the DSO of shard ``domain`` (``sim-c0-retailer``, ``sim-c0-dso``):
    one per domain, since the shards run at the same time and a certificate's CN can hold one connection only."""
    return f"{domain}-retailer", f"{domain}-dso"


def _homes(
    task: ShardTask, domain: str, connect: Any, clock: Any, datasets: dict[str, CityLearnData] | None
) -> list[SimHome]:
    """The shard's homes (not yet connected), their endpoints connected by ``connect``. Without ``datasets`` (and
    ``connect`` and ``clock`` ``None``) they only name their endpoints and must not be started."""
    scenario = task.scenario
    return [
        SimHome(
            spec=spec,
            scenario=scenario,
            data=datasets[spec.building] if datasets is not None else cast(CityLearnData, None),
            connect=connect,
            controlled=task.controlled,
            grid_sources=tuple(f"{domain}/{name}" for name in grid_identities(domain)),
            domain=domain,
            clock=clock,
            with_meter=task.controlled
            and any(isinstance(e, LoadManagementEvent | EnergySavingEvent) for e in scenario.timeline),
        )
        for spec in task.homes
    ]


def shard_endpoints(task: ShardTask) -> list[tuple[str, Role]]:
    """Every endpoint address the shard connects, with its role: the retailer and the DSO (controllers), then
    each home's CEM (controller of the shard's domain) and its devices and meter (endpoints)."""
    domain = shard_domain(task)
    endpoints = [(f"{domain}/{name}", Role.CONTROLLER) for name in grid_identities(domain)]
    for home in _homes(task, domain, None, None, None):
        endpoints += [(home.address(name), role) for name, role in home.endpoint_names()]
    return endpoints


class EndpointConnectError(RuntimeError):
    """An endpoint of a shard could not connect; names it. Picklable (it crosses from a worker process)."""

    def __init__(self, message: str, address: str) -> None:
        super().__init__(message)
        self.address = address

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return type(self), (str(self), self.address)


class GridConnectError(EndpointConnectError):
    """The retailer or the DSO could not connect to the bus; names the endpoint and why."""

    @classmethod
    def of(cls, address: str, error: BaseException) -> GridConnectError:
        """The error of grid endpoint ``address`` failing with ``error``."""
        return cls(f"grid endpoint {address} could not connect: {error}", address)


@dataclass
class HomeSeries:
    """One home's results, per slot [W] (site: + import, − export)."""

    home_id: str
    building: str
    devices: list[str]
    site_w: list[float]
    base_w: list[float]
    pv_w: list[float]
    battery_w: list[float]
    heat_pump_w: list[float]
    ev_w: list[float]
    appliances_w: list[float]
    tank_degree_hours: float
    messages_sent: int
    messages_received: int
    plans: int
    notes: list[str] = field(default_factory=list)
    planning_cpu_s: float = 0.0
    """CPU time its CEM spent computing plans [s]."""
    ac_w: list[float] = field(default_factory=list)
    room_c: list[float] = field(default_factory=list)
    """Room temperature every ``room_step_minutes`` from the period's start (the air conditioner's log) [°C]."""
    room_band_c: tuple[float, float] | None = None
    room_step_minutes: float = 15.0


@dataclass
class SignalOutcome:
    """One signal to one home: what was asked, what the CEM answered and reported (W, or ``None``)."""

    event: int
    kind: str
    home_id: str
    requested_w: float | None
    answered: str | None
    expected_w: float | None
    reported_w: float | None
    reason: str | None = None


@dataclass
class ShardResult:
    """A shard's homes and signals."""

    controlled: bool
    shard: int
    homes: list[HomeSeries]
    signals: list[SignalOutcome]
    wall_s: float
    bus_messages: int
    with_signals: bool = True
    cpu_s: float = 0.0
    """CPU time of the shard's thread [s] (the simulation's components and its bus; a broker's is not counted)."""


class _Bus:
    """The shard's bus: in-process, or an MQTT broker (``mqtt://HOST:PORT``, or ``mqtts://HOST:PORT`` with every
    endpoint connecting under its own client certificate from the PKI directory ``pki``)."""

    def __init__(self, uri: str | None, domain: str, clock: SimulatedClock, pki: Path | None = None) -> None:
        self.domain = domain
        self.memory = MemoryBus() if uri is None else None
        self.pki = pki
        self._credentials: dict[str, ClientCredentials] | None = None
        if uri and uri.startswith("mqtts://"):
            if pki is None:
                raise ValueError(f"{uri}: mqtts:// needs the PKI directory with the endpoints' certificates (pki)")
            self._credentials = _valid_credentials(pki)
        self.mqtt = (
            MqttBus(
                uri,
                clock=clock,
                pki=pki,
                session_expiry_s=0,
                keepalive_s=60,
                connect_timeout_s=60,
                close_timeout_s=1,
                closed_world=True,  # the shard's domain is its own: the clock waits for exactly what is in flight
                watch_presence=False,  # nobody here reads it; N CEMs × 9 N frames made connecting quadratic
            )
            if uri
            else None
        )

    async def connect(self, name: str, role: Role) -> Link:
        address = f"{self.domain}/{name}"
        if self.memory is not None:
            return await self.memory.connect(address)
        assert self.mqtt is not None
        credentials = None
        if self._credentials is not None:
            credentials = self._credentials.get(name)
            if credentials is None:
                raise ConnectRefused(
                    f"{address} has no valid certificate in {self.pki} "
                    f"(make it with 'flexcem sim prepare SCENARIO.toml --pki {self.pki} --out DIR')"
                )
        return await self.mqtt.connect(address, role=role, credentials=credentials)


def _valid_credentials(pki: Path) -> dict[str, ClientCredentials]:
    """The certificate and key of every client identity of ``pki`` that holds a valid (unrevoked) certificate,
    read from its index once (looking each endpoint up on its own reads the index once per connection)."""
    try:
        valid = {record.common_name for record in certificates(pki) if record.kind == "client" and not record.revoked}
    except PkiError as error:
        raise ValueError(f"--pki {pki}: {error}") from None
    clients = pki / "clients"
    return {name: ClientCredentials(pki / "ca.crt", clients / f"{name}.crt", clients / f"{name}.key") for name in valid}


class _Grid:
    """The retailer and the DSO of the shard."""

    def __init__(self, scenario: Scenario, bus: _Bus, clock: SimulatedClock, data: CityLearnData) -> None:
        self.scenario, self.bus, self.clock, self.data = scenario, bus, clock, data
        self.records: list[tuple[int, str, str, Any]] = []

    def prices(self, start: datetime, end: datetime) -> list[PriceSlot]:
        factor = self.scenario.data.price_factor
        return [
            slot.model_copy(update={"price_per_kwh": round(slot.price_per_kwh * factor, 6)})
            for slot in self.data.price_slots(max(start, self.data.start), min(end, self.data.end))
        ]

    async def start(self, homes: list[SimHome]) -> None:
        self.homes = homes
        group = f"{self.bus.domain}/grp/cems"
        if self.bus.memory is not None:
            for home in homes:
                self.bus.memory.join(group, home.cem_address)
        recipients = group if self.bus.memory is not None else f"{self.bus.domain}/all"
        retailer, dso = grid_identities(self.bus.domain)
        self.retailer = TariffProgram(
            Endpoint(await self._connect(retailer), self.clock),
            self.prices,
            tariff_name="tou",
            currency=self.data.currency,
            timezone=SITE_TIMEZONE,
            kind=TariffKind.TIME_OF_USE,
            recipients=recipients,
        )
        self.dso_endpoint = Endpoint(await self._connect(dso), self.clock)
        registry = GridRegistry(self.bus.domain)
        for home in homes:
            registry.add_customer(home.cem_address.split("/", 1)[1])
        self.load = LoadManagementProgram(self.dso_endpoint, registry)
        self.emergency = EmergencyProgram(self.dso_endpoint, registry)
        self.saving = EnergySavingProgram(self.dso_endpoint, registry)
        self.light = TrafficLightProgram(self.dso_endpoint, registry)
        await self.dso_endpoint.start()
        await self.retailer.start()

    async def _connect(self, name: str) -> Link:
        try:
            return await self.bus.connect(name, Role.CONTROLLER)
        except Exception as error:
            raise GridConnectError.of(f"{self.bus.domain}/{name}", error) from error

    async def stop(self) -> None:
        await self.retailer.stop()
        await self.dso_endpoint.close()

    async def send(self, index: int, event: object) -> None:
        """Send timeline entry ``index`` to every home."""
        if isinstance(event, TariffCorrectionEvent):
            slots = [
                s.model_copy(update={"price_per_kwh": round(s.price_per_kwh * event.factor, 6)})
                for s in self.prices(event.start, event.end)
            ]
            await self.retailer.publish_correction(slots, kind=TariffKind.CRITICAL_PEAK)
            return
        await asyncio.gather(*(self._send_one(index, event, home) for home in self.homes))

    async def _send_one(self, index: int, event: object, home: SimHome) -> None:
        target = home.cem_address
        hid = home.spec.home_id
        now = self.clock.now()
        if isinstance(event, LoadManagementEvent):
            record = await self.load.request(
                target,
                action=event.action,
                amount_w=event.amount_w,
                start=event.start,
                end=event.end,
                response_deadline=now + timedelta(minutes=event.response_minutes),
                event_id=f"lm{index}-{hid}",
            )
            self.records.append((index, "load_management", hid, record))
        elif isinstance(event, EmergencyEvent):
            record = await self.emergency.declare(
                target,
                level=event.level,
                duration=timedelta(minutes=event.duration_minutes),
                emergency_id=f"em{index}-{hid}",
            )
            self.records.append((index, "emergency", hid, record))
        elif isinstance(event, EnergySavingEvent):
            record = await self.saving.request(
                target, event.start, event.end, target_percent=event.target_percent, request_id=f"save{index}-{hid}"
            )
            self.records.append((index, "energy_saving", hid, record))
        elif isinstance(event, TrafficLightEvent):
            record = await self.light.set_state("feeder", event.state, to=target, valid_until=event.until)
            self.records.append((index, "traffic_light", hid, record))
        elif isinstance(event, ExportReductionEvent):
            request = PowerReductionRequest(
                request_id=f"export{index}-{hid}",
                flow=PowerFlow.EXPORT,
                limit_w=event.limit_w,
                start=event.start,
                end=event.end,
                means=ReductionMeans.ANY,
            )
            answer: PowerReductionResponse | Exception
            try:
                answer = await self.dso_endpoint.deliver(target, request, expect=PowerReductionResponse, timeout_s=60)
            except Exception as error:  # a home that cannot answer is an outcome, not a crash
                answer = error
            self.records.append((index, "export_reduction", hid, answer))

    def outcomes(self) -> list[SignalOutcome]:
        """What each home answered and reported."""
        out = []
        for index, kind, hid, record in self.records:
            event = self.scenario.timeline[index]
            requested = getattr(event, "amount_w", None)
            answered: str | None = None
            reason: str | None = None
            expected = reported = None
            if kind == "export_reduction":
                if isinstance(record, PowerReductionResponse):
                    answered = "accepted" if record.accepted else "partial"
                    expected, reason = record.expected_max_w, record.reason
                else:
                    answered = f"error: {record}"
                requested = getattr(event, "limit_w", None)
            elif kind == "load_management":
                responses = [r.body for r in record.answers(RESPONSE) if isinstance(r.body, LoadManagementResponse)]
                feedback = [r.body for r in record.answers(FEEDBACK) if isinstance(r.body, LoadAdjustmentFeedback)]
                if responses:
                    answered, expected = responses[-1].status.value, responses[-1].expected_change_w
                    reason = responses[-1].reason
                if feedback:
                    reported = feedback[-1].achieved_change_w
            elif kind == "energy_saving":
                responses_s = [
                    r.body for r in record.answers(SAVING_RESPONSE) if isinstance(r.body, EnergySavingResponse)
                ]
                if responses_s:
                    answered, expected = responses_s[-1].status.value, responses_s[-1].expected_saving_w
                    reason = responses_s[-1].reason
            else:
                answered = "acknowledged" if record.acknowledged or record.responses else None
            out.append(SignalOutcome(index, kind, hid, requested, answered, expected, reported, reason))
        return out


def _series(home: SimHome, start: datetime, slot: timedelta, count: int) -> HomeSeries:
    zeros = [0.0] * count

    def of(*names: str) -> list[float]:
        total = list(zeros)
        for name in names:
            device = home.agents.get(name) or home.appliances.get(name)
            if device is not None:
                for k, w in enumerate(device.power.average_power_w(start, slot, count)):
                    total[k] += w
        return total

    data = home.data
    base = [data.value_at(data.base_load_w, start + k * slot) for k in range(count)]
    pv, battery, heat_pump = of("pv"), of("battery"), of("heatpump")
    ev, appliances = of("ev"), of("washer", "dishwasher")
    ac = of("ac")
    site = [sum(values) for values in zip(base, pv, battery, heat_pump, ev, appliances, ac, strict=True)]
    degree_hours = 0.0
    hp = home.agents.get("heatpump")
    if hp is not None:
        band = hp.model.tank.parameters  # type: ignore[attr-defined]
        hours = hp.log_interval.total_seconds() / 3600.0
        for entry in hp.history:
            if start <= entry.at < start + count * slot:
                t = entry.hot_water_c
                degree_hours += max(0.0, band.min_c - t, t - band.max_c) * hours
    return HomeSeries(
        home_id=home.spec.home_id,
        building=home.spec.building,
        devices=home.spec.devices,
        site_w=site,
        base_w=base,
        pv_w=pv,
        battery_w=battery,
        heat_pump_w=heat_pump,
        ev_w=ev,
        appliances_w=appliances,
        tank_degree_hours=degree_hours,
        messages_sent=sum(e.statistics.sent for e in home.endpoints),
        messages_received=sum(e.statistics.received for e in home.endpoints),
        plans=home.cem.plans_made if home.cem is not None else 0,
        notes=home.notes,
        planning_cpu_s=home.cem.planning_cpu_s if home.cem is not None else 0.0,
        ac_w=ac,
        room_c=_room_samples(home, start, count * slot),
        room_band_c=home.room_band_c,
        room_step_minutes=home.agents["ac"].log_interval.total_seconds() / 60.0 if "ac" in home.agents else 15.0,
    )


def _room_samples(home: SimHome, start: datetime, length: timedelta) -> list[float]:
    """The room temperature of the air conditioner's status log at every log instant of ``[start, start + length)``
    (the latest entry at or before each instant) [°C]; none without an air conditioner."""
    agent = home.agents.get("ac")
    if agent is None:
        return []
    entries = sorted((entry.at, entry.room_c) for entry in agent.history)
    samples, index, latest = [], 0, entries[0][1] if entries else float("nan")
    at = start
    while at < start + length:
        while index < len(entries) and entries[index][0] <= at:
            latest = entries[index][1]
            index += 1
        samples.append(latest)
        at += agent.log_interval
    return samples


async def _connect_homes(homes: list[SimHome], gate: asyncio.Semaphore) -> None:
    """Connect every endpoint of every home, at most ``gate``'s count at a time (homes and their devices
    concurrently). On the first failure the other attempts are cancelled, every link made is closed again
    and the :class:`~flexcem.sim.runner_home.HomeConnectError` naming the home and the endpoint is raised."""
    attempts = [asyncio.ensure_future(home.connect_all(gate)) for home in homes]
    try:
        await asyncio.gather(*attempts)
    except BaseException:
        for attempt in attempts:
            attempt.cancel()
        await asyncio.gather(*attempts, return_exceptions=True)
        await asyncio.gather(*(home.disconnect() for home in homes), return_exceptions=True)
        raise


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the garbage collector less often while a shard runs: it makes millions of short-lived objects
    (messages, slots, statuses) on top of a large heap of long-lived ones (histories, power logs, plans), and
    the default thresholds spent about 10 % of a shard's CPU time re-scanning that heap (40 homes: 1.6 s of
    16 s). Cycles are still collected; the thresholds are restored afterwards."""
    previous = gc.get_threshold()
    gc.set_threshold(20_000, 20, 10)
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run_shard(task: ShardTask, progress: Progress | None = None) -> ShardResult:
    """Simulate the shard's homes over the scenario's period."""
    for name in ("flexcem", "flexcem.bus", "flexcem.devices", "flexcem.cem", "flexcem.grid", "flexcem.sim"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    began, began_cpu = wall.perf_counter(), wall.thread_time()
    scenario = task.scenario
    period = scenario.period
    datasets = load_buildings(scenario.data)
    data = datasets[scenario.data.buildings[0]]
    clock = SimulatedClock(period.start, settle_s=0.02 if task.bus else 0.0, stall_timeout_s=600.0)
    bus = _Bus(task.bus, shard_domain(task), clock, task.pki)
    grid = _Grid(scenario, bus, clock, data)
    homes = _homes(task, bus.domain, bus.connect, clock, datasets)
    label = ("control" if task.signals else "without signals") if task.controlled else "no control"

    async def tick() -> None:
        while True:
            if progress is not None:
                progress(label, task.shard, clock.now(), 0)
            await clock.sleep(3600.0)

    async def main() -> None:
        if bus.mqtt is not None:
            await _connect_homes(homes, asyncio.Semaphore(CONNECTS_IN_FLIGHT))
        for home in homes:
            await home.start()  # what they send stays in the order of the in-process bus
        await grid.start(homes)
        ticker = asyncio.create_task(tick())
        actions: list[tuple[datetime, str, int, Any]] = [
            (at, "user", index, act) for index, home in enumerate(homes) for at, _, act in home.user_actions()
        ]
        if task.controlled and task.signals:
            actions += [(event.at, "grid", index, event) for index, event in enumerate(scenario.timeline)]
        else:
            actions += [
                (event.at, "grid", index, event)
                for index, event in enumerate(scenario.timeline)
                if isinstance(event, TariffCorrectionEvent)
            ]
        actions.sort(key=lambda action: action[0])
        pending: set[asyncio.Task[None]] = set()
        for at, who, index, act in actions:
            await clock.sleep_until(max(at, clock.now()))
            if who == "user":
                pending.add(asyncio.create_task(act()))
            else:
                pending.add(asyncio.create_task(grid.send(index, act)))
        # the period's end is exclusive: what falls on it (the next day's tariff and the re-plan it starts)
        # belongs to the next period and is not simulated
        await clock.sleep_until(period.end - _LAST_INSTANT)
        await asyncio.gather(*pending, return_exceptions=True)
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        for home in homes:
            await home.stop()
        await grid.stop()

    with _fewer_collections():
        clock.run(main())
    series = [_series(home, period.start, period.slot, period.slot_count) for home in homes]
    if progress is not None:
        progress(label, task.shard, period.end, len(homes))
    return ShardResult(
        controlled=task.controlled,
        shard=task.shard,
        homes=series,
        signals=grid.outcomes() if task.controlled and task.signals else [],
        wall_s=wall.perf_counter() - began,
        bus_messages=bus.memory.statistics.sent if bus.memory is not None else sum(h.messages_sent for h in series),
        with_signals=task.signals,
        cpu_s=wall.thread_time() - began_cpu,
    )
