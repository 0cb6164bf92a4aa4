"""The in-process bus and the endpoint: addressing, acknowledgement, request/response, retry, de-duplication."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.bus import DeliveryTimeout, Endpoint, MemoryBus, MessageRefused, PeerUnsupported
from flexcem.clock import SimulatedClock
from flexcem.codec import codec_for
from flexcem.model import (
    Ack,
    CommandKind,
    DeviceState,
    DeviceStatus,
    Envelope,
    FlexModel,
    Nack,
    SimpleCommand,
    StatusRequest,
    Unsupported,
)

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Net:
    """A bus with a recorder of what crosses it."""

    def __init__(self, clock: SimulatedClock, wire: str | None = None) -> None:
        self.clock = clock
        self.bus = MemoryBus(codec=codec_for(wire) if wire else None)
        self.seen: list[Envelope] = []
        self.bus.observe(self.seen.append)

    async def endpoint(self, address: str, **options: float) -> Endpoint:
        endpoint = Endpoint(await self.bus.connect(address), self.clock, **options)  # type: ignore[arg-type]
        await endpoint.start()
        return endpoint


def simulate(scenario, wire: str | None = None):  # type: ignore[no-untyped-def]
    clock = SimulatedClock(T0)
    return clock.run(scenario(Net(clock, wire)))


def _collector(into: list[FlexModel]):  # type: ignore[no-untyped-def]
    async def handler(body: FlexModel, envelope: Envelope) -> None:
        into.append(body)

    return handler


@pytest.mark.parametrize("wire", [None, "xml", "json"])
def test_endpoint_group_and_broadcast_addressing(wire: str | None) -> None:
    async def scenario(net: Net) -> dict[str, list[FlexModel]]:
        got: dict[str, list[FlexModel]] = {name: [] for name in ("a", "b", "c", "other")}
        endpoints = {}
        for name in got:
            domain = "elsewhere" if name == "other" else "dom"
            endpoints[name] = await net.endpoint(f"{domain}/{name}")
            endpoints[name].on(StatusRequest, _collector(got[name]))
        grid = await net.endpoint("dom/grid")
        net.bus.join("dom/grp/north", "dom/a")
        net.bus.join("dom/grp/north", "dom/b")
        await grid.send("dom/c", StatusRequest(device_id="to-c"))
        await grid.send("dom/grp/north", StatusRequest(device_id="to-north"))
        await grid.send("dom/all", StatusRequest(device_id="to-all"))
        await net.clock.sleep(1)
        return got

    got = simulate(scenario, wire)
    names = {key: [body.device_id for body in bodies] for key, bodies in got.items()}  # type: ignore[attr-defined]
    assert names == {
        "a": ["to-north", "to-all"],
        "b": ["to-north", "to-all"],
        "c": ["to-c", "to-all"],
        "other": [],
    }


def test_request_and_typed_response_are_correlated() -> None:
    async def scenario(net: Net) -> DeviceStatus:
        device = await net.endpoint("dom/washer")

        async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
            return DeviceStatus(device_id=body.device_id, state=DeviceState.IDLE, at=net.clock.now())

        device.on(StatusRequest, status)
        cem = await net.endpoint("dom/cem")
        reply = await cem.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
        request = next(e for e in net.seen if e.type == "StatusRequest")
        answer = next(e for e in net.seen if e.type == "DeviceStatus")
        assert request.ack_requested and answer.correlation_id == request.id and answer.to == "dom/cem"
        return reply

    assert simulate(scenario, "xml").state is DeviceState.IDLE


def test_silent_peer_is_retried_a_bounded_number_of_times_then_reported() -> None:
    async def scenario(net: Net) -> None:
        await net.bus.connect("dom/silent")  # connected, never answers
        cem = await net.endpoint("dom/cem", ack_timeout_s=2.0, retries=3)
        with pytest.raises(DeliveryTimeout, match="after 4 attempt"):
            await cem.deliver("dom/silent", StatusRequest(device_id="silent"))
        assert net.clock.now() == T0 + timedelta(seconds=8)
        copies = [e for e in net.seen if e.type == "StatusRequest"]
        assert len(copies) == 4 and len({e.id for e in copies}) == 1
        assert copies[0].expires == T0 + timedelta(seconds=8)  # void once the sender stops waiting
        assert cem.statistics.timeouts == 1 and cem.statistics.retries == 3

    simulate(scenario)


def test_repeated_message_is_answered_from_the_cache_and_handled_once() -> None:
    async def scenario(net: Net) -> None:
        handled: list[FlexModel] = []
        device = await net.endpoint("dom/washer")
        device.on(SimpleCommand, _collector(handled))
        cem_link = await net.bus.connect("dom/cem")
        envelope = Envelope(
            sender="dom/cem",
            to="dom/washer",
            created=net.clock.now(),
            ack_requested=True,
            body=SimpleCommand(device_id="washer", command=CommandKind.PAUSE),
        )
        await cem_link.send(envelope)
        first = await cem_link.receive()
        await cem_link.send(envelope)  # the sender missed the reply and tries again
        replies = [first, await cem_link.receive()]
        assert len(handled) == 1
        assert all(isinstance(r, Envelope) and isinstance(r.body, Ack) for r in replies)
        assert replies[0].id == replies[1].id  # the same cached reply
        assert device.statistics.duplicates == 1

    simulate(scenario)


def test_unknown_type_gets_unsupported_and_a_refusal_gets_a_nack() -> None:
    async def scenario(net: Net) -> None:
        device = await net.endpoint("dom/washer")

        async def refuse(body: StatusRequest, envelope: Envelope) -> None:
            raise MessageRefused("no such device here", "device_id")

        device.on(StatusRequest, refuse)
        cem = await net.endpoint("dom/cem")
        with pytest.raises(PeerUnsupported):
            await cem.deliver("dom/washer", SimpleCommand(device_id="washer", command=CommandKind.ON))
        with pytest.raises(MessageRefused) as refused:
            await cem.deliver("dom/washer", StatusRequest(device_id="dryer"))
        assert refused.value.field == "device_id" and refused.value.reason == "no such device here"
        assert [e.type for e in net.seen if e.correlation_id] == ["Unsupported", "Nack"]

    simulate(scenario)


def test_expired_message_is_dropped() -> None:
    async def scenario(net: Net) -> None:
        handled: list[FlexModel] = []
        device = await net.endpoint("dom/washer")
        device.on(StatusRequest, _collector(handled))
        link = await net.bus.connect("dom/cem")
        stale = Envelope(
            sender="dom/cem",
            to="dom/washer",
            created=net.clock.now() - timedelta(minutes=5),
            expires=net.clock.now() - timedelta(minutes=1),
            body=StatusRequest(device_id="washer"),
        )
        await link.send(stale)
        await net.clock.sleep(1)
        assert handled == [] and device.statistics.expired == 1

    simulate(scenario)


def test_messages_for_an_offline_endpoint_wait_for_its_return_and_retained_ones_reach_late_joiners() -> None:
    async def scenario(net: Net) -> None:
        grid = await net.endpoint("dom/grid")
        first = await net.bus.connect("dom/cem")
        await first.close()
        await grid.send("dom/cem", StatusRequest(device_id="queued"))
        await grid.send("dom/all", StatusRequest(device_id="retained"), retain=True)
        again = await net.bus.connect("dom/cem")
        assert net.bus.is_online("dom/cem")
        received = [await again.receive(), await again.receive()]
        assert [r.body.device_id for r in received] == ["queued", "retained"]  # type: ignore[union-attr]
        late = await net.bus.connect("dom/late")
        retained = await late.receive()
        assert retained.body.device_id == "retained"  # type: ignore[union-attr]

    simulate(scenario)


def test_undecodable_frame_gets_a_nack_naming_the_field() -> None:
    async def scenario(net: Net) -> Nack:
        await net.endpoint("dom/washer")
        cem = await net.bus.connect("dom/cem")
        frame = {
            "id": "m-1",
            "type": "StatusRequest",
            "from": "dom/cem",
            "to": "dom/washer",
            "created": "2026-06-01T12:00:00",
            "ack_requested": True,
            "body": {"device_id": "washer"},
        }
        net.bus.deliver_frame("dom/washer", json.dumps(frame).encode())
        await net.clock.sleep(1)
        reply = await cem.receive()
        assert isinstance(reply, Envelope) and reply.correlation_id == "m-1"
        assert isinstance(reply.body, Nack)
        return reply.body

    nack = simulate(scenario, "json")
    assert nack.field == "created" and "timezone" in nack.reason


def test_unknown_type_on_the_wire_gets_unsupported() -> None:
    async def scenario(net: Net) -> Envelope:
        await net.endpoint("dom/washer")
        cem = await net.bus.connect("dom/cem")
        frame = {
            "id": "m-2",
            "type": "QuantumEntanglementRequest",
            "from": "dom/cem",
            "to": "dom/washer",
            "created": "2026-06-01T12:00:00Z",
            "ack_requested": True,
            "body": {"spin": "up"},
        }
        net.bus.deliver_frame("dom/washer", json.dumps(frame).encode())
        await net.clock.sleep(1)
        reply = await cem.receive()
        assert isinstance(reply, Envelope)
        return reply

    reply = simulate(scenario, "json")
    assert isinstance(reply.body, Unsupported) and reply.body.message_type == "QuantumEntanglementRequest"


def test_a_link_cannot_send_in_another_endpoints_name() -> None:
    async def scenario(net: Net) -> None:
        link = await net.bus.connect("dom/washer")
        forged = Envelope(
            sender="dom/cem", to="dom/washer", created=net.clock.now(), body=StatusRequest(device_id="washer")
        )
        with pytest.raises(ValueError, match="cannot send as dom/cem"):
            await link.send(forged)

    simulate(scenario)


@pytest.mark.parametrize("created_offset", [timedelta(minutes=-20), timedelta(minutes=5)])
def test_message_created_outside_the_replay_window_is_dropped(created_offset: timedelta) -> None:
    """A captured message sent again 20 minutes later, or one stamped in the future, is not acted on."""

    async def scenario(net: Net) -> None:
        handled: list[FlexModel] = []
        device = await net.endpoint("dom/washer")
        device.on(SimpleCommand, _collector(handled))
        link = await net.bus.connect("dom/cem")
        replayed = Envelope(
            sender="dom/cem",
            to="dom/washer",
            created=net.clock.now() + created_offset,
            ack_requested=True,
            body=SimpleCommand(device_id="washer", command=CommandKind.START),
        )
        await link.send(replayed)
        await net.clock.sleep(1)
        assert handled == [] and device.statistics.replayed == 1

    simulate(scenario)


def test_an_old_retained_broadcast_still_reaches_a_late_joiner() -> None:
    """A tariff published an hour ago and retained is a state, not a replay."""

    async def scenario(net: Net) -> list[FlexModel]:
        got: list[FlexModel] = []
        grid = await net.endpoint("dom/grid")
        await grid.send("dom/all", StatusRequest(device_id="tariff-like"), retain=True)
        await net.clock.sleep(3600)
        late = await net.endpoint("dom/late")
        late.on(StatusRequest, _collector(got))
        await net.clock.sleep(1)
        return got

    assert [body.device_id for body in simulate(scenario)] == ["tariff-like"]  # type: ignore[attr-defined]
