"""A grid neighbourhood for the grid programs' tests: a bus, a simulated clock, a registry, CEM-less peers.

The peers are bare :class:`~flexcem.bus.Endpoint` objects that answer as the test tells them (the CEM's own
behaviour is tested elsewhere). Every message crosses the XML wire codec, so a test also proves the wire.
Three customers form grid area ``feeder-7`` (group ``area-feeder-7``); ``cem-4`` is a customer outside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.codec import codec_for
from flexcem.grid import GridRegistry
from flexcem.model import Envelope

DOMAIN = "grid"
AREA = "feeder-7"
AREA_CUSTOMERS = ("cem-1", "cem-2", "cem-3")
T = TypeVar("T")


def address(name: str) -> str:
    """``grid/{name}``."""
    return f"{DOMAIN}/{name}"


@dataclass
class Neighbourhood:
    """The bus, the clock, the registry and what crossed the bus."""

    clock: SimulatedClock
    bus: MemoryBus
    registry: GridRegistry
    seen: list[Envelope] = field(default_factory=list)

    async def endpoint(self, name: str, **options: Any) -> Endpoint:
        """A started endpoint ``grid/{name}``."""
        endpoint = Endpoint(await self.bus.connect(address(name)), self.clock, **options)
        await endpoint.start()
        return endpoint

    def messages(self, body_type: type[Any], to: str | None = None) -> list[Envelope]:
        """Routed envelopes with a ``body_type`` body (to ``to``)."""
        return [e for e in self.seen if isinstance(e.body, body_type) and (to is None or e.to == to)]

    async def settle(self, seconds: float = 1.0) -> None:
        """Let the bus deliver and handlers answer (simulated seconds)."""
        await self.clock.sleep(seconds)


def run_grid(scenario: Callable[[Neighbourhood], Awaitable[T]], start: datetime) -> T:
    """Run ``scenario`` on a simulated clock from ``start``."""
    clock = SimulatedClock(start)
    registry = GridRegistry(DOMAIN)
    registry.add_area(AREA, AREA_CUSTOMERS)
    registry.add_customer("cem-4", groups=("pilot",))
    hood = Neighbourhood(clock, MemoryBus(codec=codec_for("xml")), registry)
    hood.bus.observe(hood.seen.append)
    for group, members in registry.groups.items():
        for member in members:
            hood.bus.join(group, member)

    async def main() -> T:
        return await scenario(hood)

    return clock.run(main())


def hours(value: float) -> timedelta:
    """``value`` hours."""
    return timedelta(hours=value)
