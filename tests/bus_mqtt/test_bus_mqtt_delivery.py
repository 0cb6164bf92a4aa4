"""Delivery over Mosquitto: one endpoint, a group, everyone; request and reply; discovery; what is on the wire.

TR §3.3: "It shall be possible to address a message to a specific endpoint"; "a controller can address a
message to all members of a group"; "the protocol shall support publish and subscribe"; "the protocol shall
support service discovery". Each test runs its own Mosquitto with the configuration flexcem generates.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiomqtt
import pytest

from flexcem.bus import MessageRefused, PeerUnsupported
from flexcem.bus.access import Role
from flexcem.bus.topics import inbox_topic, outbox_filter
from flexcem.codec import XmlCodec
from flexcem.model import (
    Ack,
    CommandKind,
    DeviceState,
    DeviceStatus,
    Envelope,
    FlexModel,
    Nack,
    ServiceDescriptor,
    SimpleCommand,
    StatusRequest,
    Unsupported,
)

CONTROLLER = Role.CONTROLLER


def test_endpoint_group_and_broadcast_reach_exactly_their_recipients(run, net) -> None:
    async def scenario() -> dict[str, list[str]]:
        async with net() as n:
            grid = await n.endpoint("dom/grid", CONTROLLER)
            got: dict[str, list[FlexModel]] = {name: [] for name in ("a", "b", "c")}
            for name, bodies in got.items():
                (await n.endpoint(f"dom/{name}")).on(StatusRequest, n.collector(bodies))
            await grid.send("dom/c", StatusRequest(device_id="to-c"))
            await grid.send("dom/grp/north", StatusRequest(device_id="to-north"))
            await grid.send("dom/all", StatusRequest(device_id="to-all"))
            # The broker keeps one publisher's order: a last message to each proves nothing else is coming.
            for name in got:
                await grid.send(f"dom/{name}", StatusRequest(device_id="end"))
            while not all(bodies and bodies[-1].device_id == "end" for bodies in got.values()):  # type: ignore[attr-defined]
                await asyncio.sleep(0.01)
            return {name: [body.device_id for body in bodies] for name, bodies in got.items()}  # type: ignore[attr-defined]

    assert run(scenario()) == {
        "a": ["to-north", "to-all", "end"],
        "b": ["to-north", "to-all", "end"],
        "c": ["to-c", "to-all", "end"],  # not in group north
    }


def test_request_and_reply_through_endpoints_typed_nack_and_unsupported(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            washer = await n.endpoint("dom/washer")

            async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
                if body.device_id != "washer":
                    raise MessageRefused("no such device here", "device_id")
                return DeviceStatus(device_id="washer", state=DeviceState.IDLE, at=n.clock.now())

            washer.on(StatusRequest, status)
            grid = await n.endpoint("dom/grid", CONTROLLER)
            reply = await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
            assert reply.state is DeviceState.IDLE
            with pytest.raises(MessageRefused) as refused:
                await grid.deliver("dom/washer", StatusRequest(device_id="dryer"))
            assert refused.value.field == "device_id" and refused.value.reason == "no such device here"
            with pytest.raises(PeerUnsupported):
                await grid.deliver("dom/washer", SimpleCommand(device_id="washer", command=CommandKind.ON))
            # ... and the other way round: an endpoint asks its controller.
            grid.on(StatusRequest, status)
            assert isinstance(
                await washer.deliver("dom/grid", StatusRequest(device_id="washer"), expect=DeviceStatus), DeviceStatus
            )

    run(scenario())


def _frame(envelope: Envelope, old: bytes, new: bytes) -> bytes:
    """``envelope`` in XML with ``old`` replaced by ``new``, as a bad sender would write it."""
    return XmlCodec().encode(envelope).replace(old, new)


def _request(n, **options: object) -> Envelope:  # type: ignore[no-untyped-def]
    return Envelope(
        type="StatusRequest",
        sender="dom/grid",
        to="dom/washer",
        created=n.clock.now(),
        body=StatusRequest(device_id="washer"),
        **options,
    )


def _raw(broker, identity: str) -> aiomqtt.Client:  # type: ignore[no-untyped-def]
    """A bare MQTT client of ``identity`` (another client id), to publish what flexcem never would."""
    return aiomqtt.Client(
        "127.0.0.1",
        broker.port,
        username=identity,
        identifier=f"raw-{identity}",
        protocol=aiomqtt.ProtocolVersion.V5,
    )


def test_a_frame_that_does_not_decode_is_answered_with_a_nack_and_an_unknown_type_with_unsupported(
    run, net, broker
) -> None:
    async def scenario() -> None:
        async with net() as n:
            await n.endpoint("dom/washer")
            grid = await n.link("dom/grid", CONTROLLER)
            naive = _frame(_request(n, ack_requested=True), b"Z</created>", b"</created>")
            unknown = _frame(_request(n, ack_requested=True), b"StatusRequest", b"QuantumEntanglementRequest")
            async with _raw(broker, "grid") as raw:
                await raw.publish(inbox_topic("dom/washer"), naive, qos=1)
                nack = await n.next_envelope(grid)
                await raw.publish(inbox_topic("dom/washer"), unknown, qos=1)
                unsupported = await n.next_envelope(grid)
            assert isinstance(nack.body, Nack) and nack.body.field == "created" and "timezone" in nack.body.reason
            assert isinstance(unsupported.body, Unsupported)
            assert unsupported.body.message_type == "QuantumEntanglementRequest"

    run(scenario())


def test_a_message_delivered_twice_is_handled_once_and_answered_twice_alike(run, net, broker) -> None:
    async def scenario() -> None:
        async with net() as n:
            handled: list[FlexModel] = []
            washer = await n.endpoint("dom/washer")
            washer.on(SimpleCommand, n.collector(handled))
            grid = await n.link("dom/grid", CONTROLLER)
            command = Envelope(
                type="SimpleCommand",
                sender="dom/grid",
                to="dom/washer",
                created=n.clock.now(),
                ack_requested=True,
                body=SimpleCommand(device_id="washer", command=CommandKind.PAUSE),
            )
            frame = XmlCodec().encode(command)
            async with _raw(broker, "grid") as raw:  # QoS 1 may deliver twice: here it does
                await raw.publish(inbox_topic("dom/washer"), frame, qos=1)
                await raw.publish(inbox_topic("dom/washer"), frame, qos=1)
            replies = [await n.next_envelope(grid), await n.next_envelope(grid)]
            assert len(handled) == 1 and washer.statistics.duplicates == 1
            assert all(isinstance(reply.body, Ack) and reply.correlation_id == command.id for reply in replies)
            assert replies[0].id == replies[1].id  # the cached reply, sent again

    run(scenario())


def test_a_retained_broadcast_reaches_a_late_joiner(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            grid = await n.endpoint("dom/grid", CONTROLLER)
            await grid.send("dom/all", StatusRequest(device_id="passing"))
            await grid.send("dom/all", StatusRequest(device_id="tariff"), retain=True)
            late = await n.link("dom/c")
            retained = await n.next_envelope(late)
            assert retained.body == StatusRequest(device_id="tariff")

    run(scenario())


def test_services_are_discovered_and_withdrawn(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            grid = await n.link("dom/grid", CONTROLLER)
            other = await n.link("dom/grid-1", CONTROLLER)
            tariff = ServiceDescriptor(
                name="tariff", address="dom/grid", message_types=("PriceEnvironmentProfile",), description="prices"
            )
            flex = ServiceDescriptor(name="flex", address="dom/grid-1", message_types=("FlexibleStartOffer",))
            await grid.advertise(tariff)
            await other.advertise(flex)
            device = await n.link("dom/a")
            assert await device.services() == [flex, tariff]
            await grid.withdraw("tariff")
            assert await device.services() == [flex]
            assert await grid.services("dom") == [flex]

    run(scenario())


def test_mqtt5_properties_carry_expiry_correlation_response_topic_content_type_and_schema(run, net, broker) -> None:
    async def scenario() -> aiomqtt.Message:
        async with net() as n:
            washer = await n.link("dom/washer")
            async with _raw(broker, "grid") as spy:
                await spy.subscribe(outbox_filter("dom/grid"), qos=1)
                request = Envelope(
                    type="StatusRequest",
                    sender="dom/washer",
                    to="dom/grid",
                    created=n.clock.now(),
                    expires=n.clock.now() + timedelta(seconds=30),
                    ack_requested=True,
                    body=StatusRequest(device_id="washer"),
                )
                await washer.send(request)
                message = await asyncio.wait_for(anext(aiter(spy.messages)), 5)
                assert XmlCodec().decode(message.payload).id == request.id  # type: ignore[arg-type]
                properties = message.properties
                assert properties is not None
                assert properties.ContentType == "application/xml"
                assert properties.UserProperty == [("sgcp-schema", "1.0")]
                assert properties.CorrelationData == request.id.encode()
                assert properties.ResponseTopic == inbox_topic("dom/washer")
                assert 0 < properties.MessageExpiryInterval <= 30
                return message

    assert run(scenario()).topic.value == "sgcp/v1/dom/ep/washer/out/grid"


def test_instances_of_one_logical_controller_share_its_outbox(run, net) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with net() as n:
            first = await n.link("dom/grid-1", CONTROLLER, acts_as="gridsvc")
            second = await n.link("dom/grid-2", CONTROLLER, acts_as="gridsvc")
            device = await n.endpoint("dom/a")
            for index in range(20):
                await device.send("dom/gridsvc", StatusRequest(device_id=f"r{index}"))
            seen: tuple[list[str], list[str]] = ([], [])

            async def drain(link, into: list[str]) -> None:  # type: ignore[no-untyped-def]
                while True:
                    envelope = await n.next_envelope(link, 30)
                    into.append(envelope.body.device_id)  # type: ignore[attr-defined]

            tasks = [asyncio.create_task(drain(link, into)) for link, into in zip((first, second), seen, strict=True)]
            while len(seen[0]) + len(seen[1]) < 20:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # nothing more (no copies) should come
            for task in tasks:
                task.cancel()
            return seen

    first, second = run(scenario())
    assert sorted(first + second) == sorted(f"r{index}" for index in range(20))  # each exactly once
    assert first and second  # both instances took a share
