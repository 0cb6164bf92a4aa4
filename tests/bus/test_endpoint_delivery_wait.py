"""How a delivery waits for its answer: a late reply to an earlier attempt still counts, the waits take loop time
exactly (``ack_timeout_s`` per attempt), and a caller that gives up (is cancelled) leaves the endpoint clean."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from flexcem.bus import DeliveryTimeout, Endpoint, MemoryBus
from flexcem.bus.endpoint import _settled_within
from flexcem.clock import SimulatedClock
from flexcem.model import Ack, Envelope, StatusRequest

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


async def started(bus: MemoryBus, clock: SimulatedClock, address: str, **options: float) -> Endpoint:
    endpoint = Endpoint(await bus.connect(address), clock, **options)  # type: ignore[arg-type]
    await endpoint.start()
    return endpoint


def test_the_wait_ends_at_the_timeout_without_cancelling_what_it_waits_for() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Envelope] = loop.create_future()
        began = loop.time()
        assert await _settled_within(future, 2.5) is False
        assert loop.time() - began == pytest.approx(2.5)
        assert not future.cancelled()  # the next attempt waits for the same answer
        loop.call_later(1.0, future.set_exception, RuntimeError("link closed"))
        assert await _settled_within(future, 5.0) is True
        assert loop.time() - began == pytest.approx(3.5)  # woken by the answer, not by the timer

    SimulatedClock(T0).run(scenario())


def test_a_cancelled_wait_cancels_only_itself() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Envelope] = loop.create_future()
        waiting = asyncio.create_task(_settled_within(future, 10.0))
        await asyncio.sleep(1.0)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert not future.done()
        assert loop._scheduled == [] or all(handle.cancelled() for handle in loop._scheduled)  # type: ignore[attr-defined]

    SimulatedClock(T0).run(scenario())


def test_a_reply_that_comes_after_a_retry_answers_the_delivery() -> None:
    async def scenario() -> None:
        bus = MemoryBus()
        cem = await started(bus, sim, "dom/cem", ack_timeout_s=1.0, retries=2)
        slow = await started(bus, sim, "dom/slow")

        async def late(body: StatusRequest, envelope: Envelope) -> Ack:
            await sim.sleep(1.5)  # past the first attempt's timeout, within the second's
            return Ack(ref=envelope.id)

        slow.on(StatusRequest, late)
        began = sim.now()
        answer: Ack = await cem.deliver("dom/slow", StatusRequest(device_id="x"))
        assert isinstance(answer, Ack)
        assert (sim.now() - began).total_seconds() == pytest.approx(1.5)
        assert cem.statistics.retries == 1 and cem.statistics.timeouts == 0

    sim = SimulatedClock(T0)
    sim.run(scenario())


def test_a_delivery_nobody_answers_times_out_after_every_attempt() -> None:
    async def scenario() -> None:
        bus = MemoryBus()
        await bus.connect("dom/silent")
        cem = await started(bus, sim, "dom/cem", ack_timeout_s=2.0, retries=1)
        began = sim.now()
        with pytest.raises(DeliveryTimeout):
            await cem.deliver("dom/silent", StatusRequest(device_id="x"))
        assert (sim.now() - began).total_seconds() == pytest.approx(4.0)
        assert cem.statistics.timeouts == 1 and not cem._pending

    sim = SimulatedClock(T0)
    sim.run(scenario())
