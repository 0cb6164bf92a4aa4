"""A simulated home for use-case tests: bus, clock, retailer, CEM and devices, on real CityLearn prices.

Tests build a :class:`Home`, add devices and run a scenario coroutine with :func:`run_home`, which runs it on
a simulated clock so that hours pass in milliseconds. The bus carries every message through the wire codec
named by ``wire`` (``None``, ``"xml"`` or ``"json"``), so the same test proves the behaviour and the wire.

The bus is the in-process one or a Mosquitto of the test's own (:data:`BUS_KIND`, set per test by the
``bus_kind`` fixture of ``tests/usecases/conftest.py``): the same scenarios run over both.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiomqtt

from flexcem.bus import Endpoint, Link, MemoryBus
from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.mqtt import MqttBus
from flexcem.bus.topics import outbox_topic
from flexcem.cem import CemSettings, CustomerEnergyManager, HomeForecasts
from flexcem.clock import SimulatedClock
from flexcem.codec import codec_for
from flexcem.data.citylearn import CityLearnData
from flexcem.devices import Dishwasher, ElectricVehicle, EvBattery, WashingMachine
from flexcem.grid import TariffProgram
from flexcem.model import (
    CommandKind,
    CommandResult,
    DeviceCapabilities,
    DeviceFunction,
    DeviceKind,
    DeviceRegistration,
    DeviceState,
    Envelope,
    FlexibleStartOffer,
    PowerProfile,
    PowerSequence,
    PriceSlot,
    ProfileSlot,
    SimpleCommand,
    TariffKind,
)
from mosquitto_harness import start_broker

DOMAIN = "home"
BUS_KIND = "memory"
"""Which bus :func:`run_home` uses: ``"memory"`` or ``"mosquitto"``."""

CONTROLLERS = ("cem", "retailer", "test-cem", "dso")
ENDPOINTS = (
    *("washer", "dishwasher", "ev", "plug", "fuelcell", "heatpump", "der", "stranger", "impostor", "rogue"),
    *("battery", "pv", "waterheater", "aircon", "baseload", "meter"),
)
POLICY = AccessPolicy(
    identities=(
        *(Identity(id=name, grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER),)) for name in CONTROLLERS),
        *(Identity(id=name, grants=(Grant(domain=DOMAIN, role=Role.ENDPOINT),)) for name in ENDPOINTS),
        Identity(id="monitor", grants=(Grant(domain=DOMAIN, role=Role.OBSERVER),)),
    )
)
"""Every identity the use-case tests use, for the broker's access-control list."""
ZONE = ZoneInfo("America/Chicago")
DATA = CityLearnData.embedded()
T = TypeVar("T")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A local time in the test home's zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


def real_prices(start: datetime, end: datetime) -> Sequence[PriceSlot]:
    """CityLearn's real hourly prices and carbon intensity."""
    return DATA.price_slots(start, end)


def solar_rich_prices(sunny_from: int, sunny_until: int) -> Callable[[datetime, datetime], list[PriceSlot]]:
    """A tariff where price and CO2 disagree: from ``sunny_from`` to ``sunny_until`` o'clock (local) energy is
    clean but dear (0.33/kWh, 130 g/kWh), the rest of the day cheap but carbon-heavy (0.19/kWh, 440 g/kWh)."""

    def prices(start: datetime, end: datetime) -> list[PriceSlot]:
        slots, cursor = [], start
        while cursor < end:
            sunny = sunny_from <= cursor.astimezone(ZONE).hour < sunny_until
            slots.append(
                PriceSlot(
                    start=cursor,
                    duration=timedelta(hours=1),
                    price_per_kwh=0.33 if sunny else 0.19,
                    co2_g_per_kwh=130.0 if sunny else 440.0,
                )
            )
            cursor += timedelta(hours=1)
        return slots

    return prices


class MemoryBackend:
    """The in-process bus."""

    settle_s = 0.0

    def __init__(self, wire: str | None, seen: list[Envelope]) -> None:
        self.bus = MemoryBus(codec=codec_for(wire) if wire else None)
        self.bus.observe(seen.append)

    async def connect(self, name: str) -> Link:
        return await self.bus.connect(f"{DOMAIN}/{name}")

    async def inject(self, sender: str, to: str, frame: bytes) -> None:
        self.bus.deliver_frame(f"{DOMAIN}/{to}", frame)

    async def close(self) -> None:
        return None


class MosquittoBackend:
    """A Mosquitto of the test's own, with the configuration flexcem generates for :data:`POLICY`."""

    settle_s = 0.015

    def __init__(self, wire: str | None, seen: list[Envelope]) -> None:
        self._codec = codec_for(wire or "xml")
        self._seen = seen
        self.broker = start_broker(Path(tempfile.mkdtemp(prefix="flexcem-home-")), POLICY)
        self.bus: MqttBus | None = None
        self._monitor: Any = None

    async def start(self, clock: SimulatedClock) -> None:
        """Make the bus on the simulated clock and start recording."""
        # a generous connect timeout: CI may run the suite on a loaded machine
        self.bus = MqttBus(self.broker.uri, codec=self._codec, keepalive_s=60, clock=clock, connect_timeout_s=30)
        await self.start_monitor()

    async def start_monitor(self) -> None:
        """Record every message of the domain, decoded, as the memory bus's observer does."""
        assert self.bus is not None
        link = await self.bus.connect(f"{DOMAIN}/monitor", role=Role.OBSERVER)

        async def record() -> None:
            while True:
                item = await link.receive()
                if isinstance(item, Envelope) and item.type not in ("Presence", "ServiceDescriptor"):
                    self._seen.append(item)

        self._monitor = asyncio.create_task(record())

    async def connect(self, name: str) -> Link:
        assert self.bus is not None
        address = f"{DOMAIN}/{name}"
        return await self.bus.connect(address, role=POLICY.role(address) or Role.ENDPOINT)

    async def inject(self, sender: str, to: str, frame: bytes) -> None:
        async with aiomqtt.Client("127.0.0.1", self.broker.port, identifier=f"{sender}-raw", username=sender) as c:
            await c.publish(outbox_topic(f"{DOMAIN}/{sender}", f"{DOMAIN}/{to}"), frame, qos=1)

    async def close(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(self._monitor)
        self.broker.stop()


@dataclass
class Home:
    """One home on one bus."""

    clock: SimulatedClock
    backend: MemoryBackend | MosquittoBackend
    cem: CustomerEnergyManager
    retailer: TariffProgram
    seen: list[Envelope] = field(default_factory=list)
    cem_address: str = f"{DOMAIN}/cem"

    async def endpoint(self, name: str, **options: Any) -> Endpoint:
        """A new endpoint ``home/{name}`` on the bus."""
        return Endpoint(await self.backend.connect(name), self.clock, **options)

    async def inject(self, sender: str, to: str, frame: bytes) -> None:
        """Raw bytes from endpoint ``sender`` to ``to``, as a faulty or hostile sender would send them."""
        await self.backend.inject(sender, to, frame)

    async def washer(self, name: str = "washer") -> WashingMachine:
        """A washing machine, switched on and registered."""
        device = WashingMachine(await self.endpoint(name), self.cem_address)
        await device.power_on()
        await device.registered.wait()
        return device

    async def dishwasher(self, name: str = "dishwasher") -> Dishwasher:
        """A dishwasher, switched on and registered."""
        device = Dishwasher(await self.endpoint(name), self.cem_address)
        await device.power_on()
        await device.registered.wait()
        return device

    async def ev(self, name: str = "ev", soc: float = 0.3) -> ElectricVehicle:
        """An EV at ``soc``, switched on and registered."""
        device = ElectricVehicle(await self.endpoint(name), self.cem_address, battery=EvBattery(soc=soc))
        await device.power_on()
        await device.registered.wait()
        return device

    def messages(self, body_type: type[Any]) -> list[Envelope]:
        """Every routed envelope whose body is a ``body_type``."""
        return [envelope for envelope in self.seen if isinstance(envelope.body, body_type)]


async def raw_device(home: Home, name: str) -> Endpoint:
    """A bare endpoint registered at the CEM as a flexible-start device; the test speaks for it."""
    endpoint = await home.endpoint(name)
    await endpoint.start()
    capabilities = DeviceCapabilities(
        device_id=name,
        kind=DeviceKind.OTHER,
        functions=(DeviceFunction.FLEXIBLE_START, DeviceFunction.SLOT_SHIFT),
        max_power_w=3000.0,
    )
    await endpoint.deliver(home.cem_address, DeviceRegistration(capabilities=capabilities))
    return endpoint


def one_hour_offer(
    device_id: str, offer_id: str, earliest: datetime, latest_end: datetime, power_w: float = 1500.0
) -> FlexibleStartOffer:
    """A one-phase, one-hour flexible-start offer in ``[earliest, latest_end]``."""
    sequence = PowerSequence(sequence_id="run", slots=(ProfileSlot(duration=timedelta(hours=1), power_w=power_w),))
    return FlexibleStartOffer(
        offer_id=offer_id,
        device_id=device_id,
        earliest_start=earliest,
        latest_start=latest_end - timedelta(hours=1),
        latest_end=latest_end,
        programme_duration=timedelta(hours=1),
        profile=PowerProfile(alternatives=(sequence,)),
    )


async def raise_prices(
    home: Home, start: datetime, end: datetime, factor: float, kind: TariffKind = TariffKind.CRITICAL_PEAK
) -> None:
    """The retailer corrects its tariff: ``factor`` times the real price in ``[start, end)``."""
    slots = [
        slot.model_copy(update={"price_per_kwh": slot.price_per_kwh * factor}) for slot in DATA.price_slots(start, end)
    ]
    await home.retailer.publish_correction(slots, kind=kind)


def run_home(
    scenario: Callable[[Home], Awaitable[T]],
    *,
    start: datetime,
    wire: str | None = None,
    settings: CemSettings | None = None,
    prices: Callable[[datetime, datetime], Sequence[PriceSlot]] = real_prices,
    publish_tariff: bool = True,
    forecasts: HomeForecasts | None = None,
) -> T:
    """Run ``scenario(home)`` on a simulated clock from ``start`` over :data:`BUS_KIND`; return its result."""
    seen: list[Envelope] = []
    backend = MosquittoBackend(wire, seen) if BUS_KIND == "mosquitto" else MemoryBackend(wire, seen)
    clock = SimulatedClock(start, settle_s=backend.settle_s)

    async def main() -> T:
        if isinstance(backend, MosquittoBackend):
            await backend.start(clock)
        home = Home(
            clock=clock,
            backend=backend,
            cem=CustomerEnergyManager(
                Endpoint(await backend.connect("cem"), clock),
                settings or CemSettings(tariff_sources=(f"{DOMAIN}/retailer",)),
                forecasts,
            ),
            retailer=TariffProgram(
                Endpoint(await backend.connect("retailer"), clock),
                prices,
                tariff_name="tou",
                currency="USD",
                timezone=ZONE,
                kind=TariffKind.TIME_OF_USE,
            ),
            seen=seen,
        )
        await home.cem.start()
        if publish_tariff:
            await home.retailer.start()
        try:
            return await scenario(home)
        finally:
            await home.cem.stop()
            await home.retailer.stop()
            await backend.close()

    return clock.run(main())


async def settle(home: Home, seconds: float = 5.0) -> None:
    """Let messages, plans and acknowledgements settle for a few simulated seconds."""
    await home.clock.sleep(seconds)
    await home.cem.settled()
    await home.clock.sleep(1.0)


def hours(value: float) -> timedelta:
    """``value`` hours."""
    return timedelta(hours=value)


@dataclass
class SwitchedDevice:
    """A device controlled by simple commands as the CEM sees it: answers every command, may refuse (override)
    the ones that arrive in ``refuse_between``, and records what it received and when."""

    endpoint: Endpoint
    refuse_between: tuple[datetime, datetime] | None = None
    received: list[tuple[datetime, SimpleCommand]] = field(default_factory=list)
    running: bool = False

    async def on_command(self, command: SimpleCommand, envelope: Envelope) -> CommandResult:
        now = self.endpoint.clock.now()
        self.received.append((now, command))
        if self.refuse_between and self.refuse_between[0] <= now < self.refuse_between[1]:
            return CommandResult(
                device_id=command.device_id,
                command=command.command,
                success=False,
                state=DeviceState.RUNNING if self.running else DeviceState.IDLE,
                reason="minimum off time after the last stop not reached",
            )
        self.running = command.command is CommandKind.ON
        return CommandResult(
            device_id=command.device_id,
            command=command.command,
            success=True,
            state=DeviceState.RUNNING if self.running else DeviceState.IDLE,
        )


async def switched_device(
    home: Home, name: str, kind: DeviceKind, *, refuse_between: tuple[datetime, datetime] | None = None
) -> SwitchedDevice:
    """Register a :class:`SwitchedDevice` of ``kind`` at the CEM."""
    endpoint = await home.endpoint(name)
    device = SwitchedDevice(endpoint, refuse_between)
    endpoint.on(SimpleCommand, device.on_command)
    await endpoint.start()
    capabilities = DeviceCapabilities(
        device_id=name,
        kind=kind,
        functions=(DeviceFunction.SIMPLE_COMMANDS, DeviceFunction.STATUS_REPORT),
        commands=(CommandKind.ON, CommandKind.OFF),
        max_power_w=700.0,
    )
    await endpoint.deliver(home.cem_address, DeviceRegistration(capabilities=capabilities))
    return device
