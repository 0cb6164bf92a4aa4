"""A delivery under a message id the sender chose (and stored) beforehand: every attempt carries it, a sender
started again can deliver the same message again, and the receiver then answers from its de-duplication cache
without handling it twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from flexcem.bus import DeliveryTimeout, Endpoint, MemoryBus
from flexcem.clock import SimulatedClock
from flexcem.model import DeviceState, DeviceStatus, Envelope, StatusRequest

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


def simulate(scenario):  # type: ignore[no-untyped-def]
    clock = SimulatedClock(T0)
    bus = MemoryBus()
    seen: list[Envelope] = []
    bus.observe(seen.append)
    return clock.run(scenario(clock, bus, seen))


async def started(bus: MemoryBus, clock: SimulatedClock, address: str, **options: float) -> Endpoint:
    endpoint = Endpoint(await bus.connect(address), clock, **options)  # type: ignore[arg-type]
    await endpoint.start()
    return endpoint


def test_every_attempt_of_a_delivery_carries_the_given_message_id() -> None:
    async def scenario(clock: SimulatedClock, bus: MemoryBus, seen: list[Envelope]) -> None:
        await bus.connect("dom/silent")  # connected, never answers
        cem = await started(bus, clock, "dom/cem", ack_timeout_s=1.0, retries=2)
        with pytest.raises(DeliveryTimeout):
            await cem.deliver("dom/silent", StatusRequest(device_id="x"), message_id="stored-id-1")
        assert [e.id for e in seen if e.type == "StatusRequest"] == ["stored-id-1"] * 3

    simulate(scenario)


def test_without_a_message_id_each_delivery_gets_a_fresh_one() -> None:
    async def scenario(clock: SimulatedClock, bus: MemoryBus, seen: list[Envelope]) -> None:
        device = await started(bus, clock, "dom/washer")

        async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
            return DeviceStatus(device_id=body.device_id, state=DeviceState.IDLE, at=clock.now())

        device.on(StatusRequest, status)
        cem = await started(bus, clock, "dom/cem")
        for _ in range(2):
            await cem.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
        ids = [e.id for e in seen if e.type == "StatusRequest"]
        assert len(ids) == 2 and ids[0] != ids[1]

    simulate(scenario)


def test_a_restarted_sender_delivering_the_same_message_id_gets_the_cached_answer_and_it_is_handled_once() -> None:
    async def scenario(clock: SimulatedClock, bus: MemoryBus, seen: list[Envelope]) -> None:
        handled: list[StatusRequest] = []
        device = await started(bus, clock, "dom/washer")

        async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
            handled.append(body)
            return DeviceStatus(device_id=body.device_id, state=DeviceState.RUNNING, at=clock.now())

        device.on(StatusRequest, status)
        first = await started(bus, clock, "dom/cem")
        answer = await first.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus,
                                     message_id="m-42")
        await first.close()  # the sender stops; it does not know whether the answer was recorded
        second = await started(bus, clock, "dom/cem")
        again = await second.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus,
                                     message_id="m-42")
        await second.close()
        assert len(handled) == 1, "the handler ran once"
        assert again == answer and device.statistics.duplicates == 1
        replies = [e for e in seen if e.type == "DeviceStatus"]
        assert [r.correlation_id for r in replies] == ["m-42", "m-42"] and replies[0].id == replies[1].id

    simulate(scenario)


def test_a_message_id_in_flight_or_malformed_is_refused_before_sending() -> None:
    async def scenario(clock: SimulatedClock, bus: MemoryBus, seen: list[Envelope]) -> None:
        await bus.connect("dom/silent")
        cem = await started(bus, clock, "dom/cem", ack_timeout_s=1.0, retries=0)
        in_flight = asyncio.ensure_future(cem.deliver("dom/silent", StatusRequest(device_id="x"), message_id="m-1"))
        await asyncio.sleep(0)
        with pytest.raises(ValueError, match="message_id 'm-1' is being delivered already"):
            await cem.deliver("dom/silent", StatusRequest(device_id="x"), message_id="m-1")
        with pytest.raises(ValidationError, match="id"):
            await cem.deliver("dom/silent", StatusRequest(device_id="x"), message_id="not a valid id!")
        with pytest.raises(DeliveryTimeout):
            await in_flight
        assert [e.id for e in seen if e.type == "StatusRequest"] == ["m-1"]

    simulate(scenario)
