"""A bus, a simulated clock and a stand-in CEM for the home devices' agents, on the real CityLearn data.

The stand-in CEM acknowledges every registration, description and status report (or none, when ``silent``),
so that tests drive the agents with the messages the real CEM would send.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar

from flexcem.bus import Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.codec import codec_for
from flexcem.devices import DATA_START, CityLearnData, HomeDeviceAgent
from flexcem.model import Envelope, FlexModel, message_types

DOMAIN = "home"
CEM = f"{DOMAIN}/cem"
MID_JUNE = DATA_START + timedelta(days=14)
"""Tuesday 15 June 2021, 00:00 CST."""

T = TypeVar("T")


@cache
def data() -> CityLearnData:
    """The embedded CityLearn weather and Building 1 demands."""
    return CityLearnData.embedded()


class StandInCem:
    """The CEM's endpoint; records what devices sent and acknowledges it unless silent."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.received: list[FlexModel] = []
        self.silent = False
        for cls in message_types().values():
            endpoint.on(cls, self._receive)

    async def _receive(self, body: FlexModel, envelope: Envelope) -> None:
        if self.silent:
            await self.endpoint.clock.sleep(3600.0)  # never answers in time
        self.received.append(body)

    async def ask(self, device: str, body: FlexModel, expect: type[T]) -> T:
        """Deliver ``body`` to the device and return its typed reply."""
        return await self.endpoint.deliver(f"{DOMAIN}/{device}", body, expect=expect)  # type: ignore[type-var,no-any-return]


Scenario = Callable[[MemoryBus, SimulatedClock, StandInCem], Awaitable[Any]]


def run(scenario: Scenario, start: datetime = MID_JUNE, wire: str | None = "xml") -> Any:
    """Run ``scenario`` on virtual time with the stand-in CEM, every message through the ``wire`` codec."""
    clock = SimulatedClock(start)

    async def main() -> Any:
        bus = MemoryBus(codec=codec_for(wire) if wire else None)
        cem = StandInCem(Endpoint(await bus.connect(CEM), clock))
        await cem.endpoint.start()
        try:
            return await scenario(bus, clock, cem)
        finally:
            await cem.endpoint.close()

    return clock.run(main())


async def start_agent(
    bus: MemoryBus, clock: SimulatedClock, factory: Callable[[Endpoint], HomeDeviceAgent], name: str
) -> HomeDeviceAgent:
    """Connect, power on and wait for the registration to be acknowledged."""
    agent = factory(Endpoint(await bus.connect(f"{DOMAIN}/{name}"), clock))
    await agent.power_on()
    await agent.registered.wait()
    return agent
