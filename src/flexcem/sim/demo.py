"""``flexcem demo``: one home, one simulated day, a CEM scheduling real appliances against a real tariff.

The home (in Pacific time) has a 12 kW contracted import limit, Building 1's real non-shiftable load and
three flexible devices. The retailer publishes the real CityLearn time-of-use prices (peak 16:00–19:00
local time) day-ahead at noon; at 17:00 it issues a critical-peak correction for 19:00–21:00 (three times
the price, as a utility does on a summer "Flex Alert" evening) — an illustrative event on top of the real
tariff that makes the CEM re-plan and shift a device that has not started yet (JWG1103).

* 16:30 the washing machine is loaded (Cotton 40 °C), to be finished by 20:00;
* 17:45 the EV is plugged in at 30 %, to be at 90 % by 08:00;
* 19:45 the dishwasher is loaded (Eco 50 °C), to be done by 07:00.

The same day is run twice: with the CEM planning every start, and with every device started at once when
the user activates it. Both are costed from what the devices' meters recorded, at the final prices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from flexcem.bus import Endpoint, Link, MemoryBus
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.mqtt import MqttBus
from flexcem.cem import CemSettings, CustomerEnergyManager, PriceBook
from flexcem.clock import SimulatedClock
from flexcem.codec import codec_for
from flexcem.data.citylearn import CityLearnData
from flexcem.devices import DeviceAgent, Dishwasher, ElectricVehicle, EvBattery, PowerLog, WashingMachine
from flexcem.grid import TariffProgram
from flexcem.model import Envelope, PowerSeries, PowerSlot, PriceSlot, TariffKind
from flexcem.sim.timeline import Timeline

__all__ = ["DemoRun", "DemoScenario", "DeviceOutcome", "Mode", "demo_domain", "demo_policy", "run_demo_day"]


class Mode(StrEnum):
    """How the devices are run."""

    PLANNED = "planned"
    AT_ONCE = "at_once"


CONTROLLERS = ("cem", "retailer")
DEVICES = ("washer", "ev", "dishwasher")


def demo_domain(mode: Mode) -> str:
    """The SG CP domain of one run of the demo (the two runs never share a retained message)."""
    return f"demo-{mode.value.replace('_', '-')}"


def demo_policy() -> AccessPolicy:
    """Who may do what in the demo's domains, for ``flexcem broker-config`` (``flexcem demo --write-policy``)."""
    domains = [demo_domain(mode) for mode in Mode]

    def identity(name: str, role: Role) -> Identity:
        return Identity(id=name, grants=tuple(Grant(domain=domain, role=role) for domain in domains))

    return AccessPolicy(
        identities=(
            *(identity(name, Role.CONTROLLER) for name in CONTROLLERS),
            *(identity(name, Role.ENDPOINT) for name in DEVICES),
            identity("monitor", Role.OBSERVER),
        )
    )


@dataclass(frozen=True)
class DemoScenario:
    """The demo's day and home."""

    day: date = date(2021, 6, 15)
    timezone: str = "America/Chicago"
    site_import_limit_w: float = 12_000.0
    wire: str | None = "xml"
    critical_peak: bool = True
    slot: timedelta = timedelta(minutes=15)
    bus: tuple[str, ...] = ()
    """Broker URIs (``mqtt://`` or ``mqtts://``); empty for the in-process bus."""
    pki: Path | None = None
    """PKI directory with the identities' certificates, for ``mqtts://``."""

    @property
    def zone(self) -> ZoneInfo:
        """The home's time zone."""
        return ZoneInfo(self.timezone)

    def local(self, clock_time: time, days: int = 0) -> datetime:
        """``clock_time`` on the demo day (plus ``days``) in the home's time zone."""
        return datetime.combine(self.day + timedelta(days=days), clock_time, self.zone)

    @property
    def start(self) -> datetime:
        """Simulation start: 11:00 on the day, an hour before the day-ahead tariff."""
        return self.local(time(11, 0))

    @property
    def end(self) -> datetime:
        """Simulation end: 09:00 the next day."""
        return self.local(time(9, 0), days=1)


@dataclass
class DeviceOutcome:
    """What one device did."""

    device_id: str
    kind: str
    job: str
    activated: datetime
    deadline: datetime
    start: datetime | None
    end: datetime | None
    energy_wh: float
    cost: float
    co2_g: float
    power_w: list[float]

    @property
    def met_deadline(self) -> bool:
        """Whether the job was done by its deadline."""
        return self.end is not None and self.end <= self.deadline


@dataclass
class DemoRun:
    """One run of the demo day."""

    mode: Mode
    slot_starts: list[datetime]
    price_per_kwh: list[float]
    co2_g_per_kwh: list[float]
    base_load_w: list[float]
    devices: list[DeviceOutcome]
    currency: str
    timeline: list[str] = field(default_factory=list)
    journal: list[str] = field(default_factory=list)
    messages: int = 0
    plans: int = 0

    @property
    def site_power_w(self) -> list[float]:
        """Site power per slot [W]: base load and every device."""
        return [
            base + sum(device.power_w[index] for device in self.devices) for index, base in enumerate(self.base_load_w)
        ]

    @property
    def devices_cost(self) -> float:
        """Cost of the flexible devices' energy [currency]."""
        return sum(device.cost for device in self.devices)

    @property
    def site_cost(self) -> float:
        """Cost of the whole site's energy [currency]."""
        hours = (self.slot_starts[1] - self.slot_starts[0]).total_seconds() / 3600.0
        return sum(p * price * hours / 1000.0 for p, price in zip(self.site_power_w, self.price_per_kwh, strict=True))

    @property
    def peak_w(self) -> float:
        """Highest site power in a slot [W]."""
        return max(self.site_power_w)


class _Home:
    """The demo home on one bus: retailer, CEM, three devices."""

    def __init__(
        self,
        scenario: DemoScenario,
        clock: SimulatedClock,
        data: CityLearnData,
        mode: Mode,
        timeline: Timeline,
    ) -> None:
        self.scenario = scenario
        self.clock = clock
        self.data = data
        self.mode = mode
        self.timeline = timeline
        self.domain = demo_domain(mode)
        self.memory: MemoryBus | None = None
        self.mqtt: MqttBus | None = None
        if scenario.bus:
            self.mqtt = MqttBus(
                scenario.bus, codec=codec_for(scenario.wire or "xml"), pki=scenario.pki, clock=clock, session_expiry_s=0
            )
        else:
            self.memory = MemoryBus(codec=codec_for(scenario.wire) if scenario.wire else None)
            if mode is Mode.PLANNED:
                self.memory.observe(timeline.observe)
        self.messages = 0
        self._monitor: asyncio.Task[None] | None = None
        self.tariff: TariffProgram
        self.cem: CustomerEnergyManager
        self.washer: WashingMachine
        self.ev: ElectricVehicle
        self.dishwasher: Dishwasher

    async def _link(self, name: str) -> Link:
        address = f"{self.domain}/{name}"
        if self.mqtt is not None:
            role = Role.CONTROLLER if name in CONTROLLERS else Role.ENDPOINT
            return await self.mqtt.connect(address, role=role)
        assert self.memory is not None
        return await self.memory.connect(address)

    async def _endpoint(self, name: str) -> Endpoint:
        return Endpoint(await self._link(name), self.clock)

    async def _watch(self) -> None:
        """Over a broker, an observer sees every message of the domain (for the timeline and the count)."""
        assert self.mqtt is not None
        link = await self.mqtt.connect(f"{self.domain}/monitor", role=Role.OBSERVER)

        async def record() -> None:
            try:
                while True:
                    item = await link.receive()
                    if isinstance(item, Envelope) and item.type not in ("Presence", "ServiceDescriptor"):
                        self.messages += 1
                        if self.mode is Mode.PLANNED:
                            self.timeline.observe(item)
            finally:
                await link.close()

        self._monitor = asyncio.create_task(record())

    async def start(self) -> None:
        scenario = self.scenario
        cem_address = f"{self.domain}/cem"
        if self.mqtt is not None:
            await self._watch()
        self.tariff = TariffProgram(
            await self._endpoint("retailer"),
            self.data.price_slots,
            tariff_name="tou",
            currency=self.data.currency,
            timezone=scenario.zone,
            kind=TariffKind.TIME_OF_USE,
        )
        self.cem = CustomerEnergyManager(
            await self._endpoint("cem"),
            CemSettings(
                site_import_limit_w=scenario.site_import_limit_w,
                slot_duration=scenario.slot,
                tariff_sources=(f"{self.domain}/retailer",),
            ),
        )
        self.washer = WashingMachine(await self._endpoint("washer"), cem_address)
        self.ev = ElectricVehicle(await self._endpoint("ev"), cem_address, battery=EvBattery(soc=0.30))
        self.dishwasher = Dishwasher(await self._endpoint("dishwasher"), cem_address)
        await self.cem.start()
        self.cem.set_base_load_forecast(self._base_load_forecast())
        await self.tariff.start()
        for device in self.devices:
            await device.power_on()

    @property
    def devices(self) -> list[DeviceAgent]:
        return [self.washer, self.ev, self.dishwasher]

    def _base_load_forecast(self) -> PowerSeries:
        """Yesterday's load as today's forecast (a persistence forecast), over the simulated period."""
        day = timedelta(days=1)
        yesterday = self.data.base_load(self.scenario.start - day, self.scenario.end - day)
        return PowerSeries(
            slots=tuple(
                PowerSlot(start=slot.start + day, duration=slot.duration, power_w=slot.power_w)
                for slot in yesterday.slots
            )
        )

    async def stop(self) -> None:
        for device in self.devices:
            await device.power_off()
        await self.tariff.stop()
        await self.cem.stop()
        if self._monitor is not None:
            await self.clock.sleep(1)  # the last messages reach the observer
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        if self.memory is not None:
            self.messages = self.memory.statistics.sent

    def user(self, text: str) -> None:
        if self.mode is Mode.PLANNED:
            self.timeline.add(self.clock.now(), "user", text)

    async def load_washer(self) -> None:
        deadline = self.scenario.local(time(20, 0))
        self.washer.prepare("cotton_40", latest_end=deadline)
        self.user(f"loads the washing machine: Cotton 40 °C, finished by {deadline:%H:%M}")
        await self._go(self.washer)

    async def plug_in_ev(self) -> None:
        departure = self.scenario.local(time(8, 0), days=1)
        self.ev.prepare_session(target_soc=0.9, departure=departure)
        self.user(f"plugs in the EV at 30 %: 90 % by {departure:%H:%M}")
        await self._go(self.ev)

    async def load_dishwasher(self) -> None:
        deadline = self.scenario.local(time(7, 0), days=1)
        self.dishwasher.prepare("eco_50", latest_end=deadline)
        self.user(f"loads the dishwasher: Eco 50 °C, done by {deadline:%H:%M}")
        await self._go(self.dishwasher)

    async def _go(self, device: DeviceAgent) -> None:
        if self.mode is Mode.PLANNED:
            await device.activate()
        else:
            device.start_now()

    async def critical_peak(self) -> None:
        start, end = self.scenario.local(time(19, 0)), self.scenario.local(time(21, 0))
        slots = [
            PriceSlot(
                start=slot.start,
                duration=slot.duration,
                price_per_kwh=round(slot.price_per_kwh * 3, 5),
                co2_g_per_kwh=slot.co2_g_per_kwh,
            )
            for slot in self.data.price_slots(start, end)
        ]
        await self.tariff.publish_correction(slots, kind=TariffKind.CRITICAL_PEAK)


def _actions(home: _Home) -> list[tuple[datetime, Callable[[], object]]]:
    scenario = home.scenario
    actions: list[tuple[datetime, Callable[[], object]]] = [
        (scenario.local(time(16, 30)), home.load_washer),
        (scenario.local(time(17, 45)), home.plug_in_ev),
        (scenario.local(time(19, 45)), home.load_dishwasher),
    ]
    if scenario.critical_peak:
        actions.append((scenario.local(time(17, 0)), home.critical_peak))
    return sorted(actions, key=lambda action: action[0])


async def _simulate(home: _Home) -> None:
    await home.start()
    for at, action in _actions(home):
        await home.clock.sleep_until(at)
        result = action()
        if hasattr(result, "__await__"):
            await result
    await home.clock.sleep_until(home.scenario.end)


def _final_prices(home: _Home, starts: list[datetime], slot: timedelta) -> tuple[list[float], list[float]]:
    """Price and CO2 per slot after every correction, as the retailer will bill them."""
    book = PriceBook()
    for profile in home.tariff.published:
        book.add(profile)
    prices, co2 = [], []
    for start in starts:
        view = book.view(start, start + slot)
        hours = slot.total_seconds() / 3600.0
        prices.append(sum(s.price_per_kwh * s.hours for s in view.slots) / hours)
        co2.append(sum((s.co2_g_per_kwh or 0.0) * s.hours for s in view.slots) / hours)
    return prices, co2


def _outcome(
    device: DeviceAgent, scenario: DemoScenario, starts: list[datetime], prices: list[float], co2: list[float]
) -> DeviceOutcome:
    job = device.job
    assert job is not None
    hours = scenario.slot.total_seconds() / 3600.0
    power = device.power.average_power_w(scenario.start, scenario.slot, len(starts))
    label = getattr(device, "programme", None)
    return DeviceOutcome(
        device_id=device.device_id,
        kind=device.kind.value,
        job=label.label if label is not None else f"{job.offer.offer_id}",
        activated=job.offer.earliest_start,
        deadline=job.offer.latest_end,
        start=job.started_at,
        end=job.finished_at,
        energy_wh=job.energy_wh,
        cost=sum(p * price * hours / 1000.0 for p, price in zip(power, prices, strict=True)),
        co2_g=sum(p * c * hours / 1000.0 for p, c in zip(power, co2, strict=True)),
        power_w=power,
    )


def run_demo_day(scenario: DemoScenario, mode: Mode, echo: Callable[[str], None] | None = None) -> DemoRun:
    """Simulate the demo day in ``mode``; ``echo`` sees the timeline as it happens."""
    for name in ("flexcem", "flexcem.bus", "flexcem.devices", "flexcem.cem", "flexcem.grid"):
        logging.getLogger(name).setLevel(logging.ERROR)
    data = CityLearnData.embedded()
    clock = SimulatedClock(scenario.start, settle_s=0.02 if scenario.bus else 0.0)
    timeline = Timeline(scenario.zone, echo)
    home = _Home(scenario, clock, data, mode, timeline)

    async def main() -> None:
        try:
            await _simulate(home)
        finally:
            await home.stop()

    clock.run(main())
    count = int((scenario.end - scenario.start) / scenario.slot)
    starts = [scenario.start + index * scenario.slot for index in range(count)]
    prices, co2 = _final_prices(home, starts, scenario.slot)
    actual_base = PowerLog(scenario.start)
    for slot in data.base_load(scenario.start, scenario.end).slots:
        actual_base.set(slot.start, slot.power_w)
    base = actual_base.average_power_w(scenario.start, scenario.slot, count)
    return DemoRun(
        mode=mode,
        slot_starts=starts,
        price_per_kwh=prices,
        co2_g_per_kwh=co2,
        base_load_w=base,
        devices=[_outcome(device, scenario, starts, prices, co2) for device in home.devices],
        currency=data.currency,
        timeline=timeline.lines(),
        journal=[f"{entry.at.astimezone(scenario.zone):%H:%M} {entry.text}" for entry in home.cem.journal],
        messages=home.messages,
        plans=home.cem.plans_made,
    )
