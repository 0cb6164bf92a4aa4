"""A home around a :class:`~flexcem.cem.service.CemService` on the in-process bus and a simulated clock: the
retailer's tariff, flexible-start devices and switched devices that record what they receive, and a "crash" that
leaves the service without any clean-up (as SIGKILL would), so that a second service can restart from the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from flexcem.bus import Endpoint, MemoryBus
from flexcem.cem.config import HomeConfig, parse_home_config
from flexcem.cem.service import CemService
from flexcem.clock import SimulatedClock
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
    SimpleCommand,
    SlotShift,
    SlotShiftResponse,
    StartTimeAssignment,
    TariffKind,
)
from home_harness import DATA, ZONE

T = TypeVar("T")

HOME_TOML = """\
[identity]
domain = "home"
endpoint_id = "cem"

[bus]
url = "memory://"
ack_timeout_s = 2.0
retries = 1

[site]
timezone = "America/Chicago"
tariff_sources = ["home/retailer", "home/dso"]
import_limit_w = 9000

[preferences]
objective = "cost"
commit_required = {commit_required}

[[devices]]
id = "washer"
kind = "washing_machine"
load_management = {{ max_duration = "PT4H" }}

[[devices]]
id = "heater"
kind = "water_heater"

[[devices]]
id = "boiler"
kind = "other"
emergency_exempt = true

[store]
path = "{db}"
"""


def home_config(tmp_path: Path, commit_required: bool = False) -> HomeConfig:
    """The test home's configuration with its store in ``tmp_path``."""
    text = HOME_TOML.format(commit_required=str(commit_required).lower(), db=tmp_path / "cem.db")
    return parse_home_config(text)


@dataclass
class FlexDevice:
    """A flexible-start device the test speaks for; it accepts every start and shift and records them."""

    endpoint: Endpoint
    received: list[Any] = field(default_factory=list)

    async def on_start(self, assignment: StartTimeAssignment, envelope: Envelope) -> None:
        self.received.append(assignment)

    async def on_shift(self, shift: SlotShift, envelope: Envelope) -> SlotShiftResponse:
        self.received.append(shift)
        return SlotShiftResponse(offer_id=shift.offer_id, device_id=shift.device_id, accepted=True)


@dataclass
class SwitchedDevice:
    """A device switched by simple commands; records every command."""

    endpoint: Endpoint
    received: list[SimpleCommand] = field(default_factory=list)

    async def on_command(self, command: SimpleCommand, envelope: Envelope) -> CommandResult:
        self.received.append(command)
        return CommandResult(device_id=command.device_id, command=command.command, success=True, state=DeviceState.IDLE)


@dataclass
class ServiceHome:
    """The bus, the clock, the retailer and the devices of one test; services come and go on them."""

    tmp_path: Path
    clock: SimulatedClock
    bus: MemoryBus
    config: HomeConfig
    devices: dict[str, Any] = field(default_factory=dict)
    retailer: TariffProgram | None = None

    def service(self) -> CemService:
        """A new service on the home's bus and clock (not started)."""
        return CemService(self.config, bus=self.bus, clock=self.clock)

    async def publish_tariff(self) -> None:
        """The retailer publishes the real CityLearn prices."""
        endpoint = Endpoint(await self.bus.connect("home/retailer"), self.clock)
        self.retailer = TariffProgram(
            endpoint, DATA.price_slots, tariff_name="tou", currency="USD", timezone=ZONE, kind=TariffKind.TIME_OF_USE
        )
        await self.retailer.start()

    async def flex_device(self, name: str) -> FlexDevice:
        """A registered flexible-start device ``home/{name}``."""
        endpoint = Endpoint(await self.bus.connect(f"home/{name}"), self.clock)
        device = FlexDevice(endpoint)
        endpoint.on(StartTimeAssignment, device.on_start)
        endpoint.on(SlotShift, device.on_shift)
        await endpoint.start()
        capabilities = DeviceCapabilities(
            device_id=name,
            kind=DeviceKind.WASHING_MACHINE,
            functions=(DeviceFunction.FLEXIBLE_START, DeviceFunction.SLOT_SHIFT),
            max_power_w=2000.0,
        )
        await endpoint.deliver("home/cem", DeviceRegistration(capabilities=capabilities))
        self.devices[name] = device
        return device

    async def switched_device(
        self,
        name: str,
        kind: DeviceKind = DeviceKind.WATER_HEATER,
        commands: tuple[CommandKind, ...] = (CommandKind.ON, CommandKind.OFF),
    ) -> SwitchedDevice:
        """A registered device ``home/{name}`` taking simple ``commands``."""
        endpoint = Endpoint(await self.bus.connect(f"home/{name}"), self.clock)
        device = SwitchedDevice(endpoint)
        endpoint.on(SimpleCommand, device.on_command)
        await endpoint.start()
        capabilities = DeviceCapabilities(
            device_id=name,
            kind=kind,
            functions=(DeviceFunction.SIMPLE_COMMANDS, DeviceFunction.STATUS_REPORT),
            commands=commands,
            max_power_w=2000.0,
        )
        await endpoint.deliver("home/cem", DeviceRegistration(capabilities=capabilities))
        self.devices[name] = device
        return device


async def crash(service: CemService) -> None:
    """End ``service`` as SIGKILL would: no final save, no goodbye; only its bus link and file are let go."""
    cem, store = service.cem, service.store
    assert cem is not None and store is not None
    cem.on_change.clear()
    cem.grid_side.power_loss.memory = None  # no "stopped on purpose" mark
    for task in service._tasks:
        task.cancel()
    for event in cem.load_management.events.values():
        if event.task is not None:
            event.task.cancel()
    await cem.stop()
    store.close()


def run_service_home(
    tmp_path: Path, start: datetime, scenario: Callable[[ServiceHome], Awaitable[T]], **options: Any
) -> T:
    """Run ``scenario`` on a simulated clock from ``start``."""
    clock = SimulatedClock(start)

    async def main() -> T:
        home = ServiceHome(tmp_path, clock, MemoryBus(), home_config(tmp_path, **options))
        return await scenario(home)

    return clock.run(main())
