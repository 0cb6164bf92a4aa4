"""A CEM in two domains (DESIGN §4, docs/sgcp-mqtt.md): an endpoint of the grid's domain and the controller of
its home's, under one Endpoint. The grid reaches it at its grid address and never sees its devices; the
devices reach it at its home address; its answers go out on the right side under the right name."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from flexcem.bus import Endpoint, LinkClosed, MemoryBus
from flexcem.bus.two_domain import TwoDomainLink
from flexcem.cem import CemSettings, CustomerEnergyManager
from flexcem.clock import SimulatedClock
from flexcem.data import CityLearnData
from flexcem.devices import WashingMachine
from flexcem.grid import TariffProgram
from flexcem.model import (
    Envelope,
    PowerFlow,
    PowerReductionRequest,
    PowerReductionResponse,
    ReductionMeans,
    StartTimeAssignment,
)

DATA = CityLearnData.embedded()
NOON = datetime(2021, 7, 6, 12, tzinfo=timezone(timedelta(hours=-6)))


def test_the_cem_answers_the_grid_and_controls_its_devices_under_two_names() -> None:
    seen: list[Envelope] = []
    bus = MemoryBus()
    bus.observe(seen.append)
    clock = SimulatedClock(NOON)

    async def main() -> tuple[PowerReductionResponse, list[Envelope]]:
        link = TwoDomainLink(await bus.connect("grid/cem-17"), await bus.connect("home-17/cem"))
        cem = CustomerEnergyManager(Endpoint(link, clock), CemSettings(tariff_sources=("grid/retailer",)))
        retailer = TariffProgram(
            Endpoint(await bus.connect("grid/retailer"), clock), DATA.price_slots, currency="USD"
        )
        await cem.start()
        await retailer.start()
        washer = WashingMachine(Endpoint(await bus.connect("home-17/washer"), clock), "home-17/cem")
        await washer.power_on()
        await washer.registered.wait()
        washer.prepare("cotton_60", latest_end=NOON + timedelta(hours=10))
        await washer.activate()
        await clock.sleep(10)
        await cem.settled()
        request = PowerReductionRequest(
            request_id="r-1",
            flow=PowerFlow.IMPORT,
            limit_w=5_000.0,
            start=NOON + timedelta(hours=2),
            end=NOON + timedelta(hours=3),
            means=ReductionMeans.ANY,
        )
        answer = await retailer.endpoint.deliver("grid/cem-17", request, expect=PowerReductionResponse)
        await cem.stop()
        await retailer.stop()
        return answer, seen

    answer, envelopes = clock.run(main())
    assert answer.accepted and answer.request_id == "r-1"
    assignments = [e for e in envelopes if isinstance(e.body, StartTimeAssignment)]
    assert assignments and all(e.sender == "home-17/cem" and e.to == "home-17/washer" for e in assignments)
    answers = [e for e in envelopes if isinstance(e.body, PowerReductionResponse)]
    assert [e.sender for e in answers] == ["grid/cem-17"]
    assert not any(e.sender.startswith("home-17/") and e.to.startswith("grid/") for e in envelopes)


def test_a_third_domain_or_one_domain_twice_is_refused_and_closing_closes_both() -> None:
    bus = MemoryBus()
    clock = SimulatedClock(NOON)

    async def main() -> None:
        with pytest.raises(ValueError, match="downstream"):
            TwoDomainLink(await bus.connect("grid/a"), await bus.connect("grid/b"))
        link = TwoDomainLink(await bus.connect("grid/cem-1"), await bus.connect("home-1/cem"))
        endpoint = Endpoint(link, clock)
        with pytest.raises(ValueError, match="neither domain"):
            await link.send(endpoint._envelope("elsewhere/x", request_body()))
        await link.close()
        with pytest.raises(LinkClosed):
            await link.receive()

    clock.run(main())


def request_body() -> PowerReductionRequest:
    return PowerReductionRequest(
        request_id="r-2", limit_w=1.0, start=NOON, end=NOON + timedelta(hours=1), flow=PowerFlow.EXPORT
    )
