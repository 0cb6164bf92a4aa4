"""Redundancy over Mosquitto (TR §3.3: "the communication system shall support redundancy").

A broker restart loses no QoS 1 message the broker acknowledged for a persistent session; what a sender
queues while the broker is away goes out in order when it is back; a link with several broker URIs fails
over to the next; MQTT 3.1.1 works, by choice or because a broker refuses MQTT 5.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from flexcem.bus.access import Role
from flexcem.bus.mqtt import BrokerUnavailable, MqttBus, SendQueueFull
from flexcem.model import DeviceState, DeviceStatus, Envelope, FlexModel, PresenceState, StatusRequest
from mosquitto_harness import free_port, start_broker

CONTROLLER = Role.CONTROLLER
FAST = {"reconnect_min_s": 0.1, "reconnect_max_s": 0.4}


async def _until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout_s)


def _status_handler(n):  # type: ignore[no-untyped-def]
    async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
        return DeviceStatus(device_id=body.device_id, state=DeviceState.IDLE, at=n.clock.now())

    return status


def test_a_broker_restart_loses_no_acknowledged_message_and_the_senders_queue_follows_in_order(
    run, net, broker
) -> None:
    async def scenario() -> list[str]:
        async with net(**FAST) as n:
            device = await n.link("dom/a")
            await device.close()  # offline: its persistent session on the broker keeps what comes for it
            grid = await n.endpoint("dom/grid", CONTROLLER)
            for index in range(5):
                await grid.send("dom/a", StatusRequest(device_id=f"m{index}"))  # returns on the PUBACK
            await asyncio.to_thread(broker.stop)
            await _until(lambda: not n.links["dom/grid"].connected)
            for index in range(5, 10):
                await grid.send("dom/a", StatusRequest(device_id=f"m{index}"))  # queued in the link
            await asyncio.to_thread(broker.start)
            await asyncio.wait_for(n.links["dom/grid"].drain(), 10)
            device = await n.link("dom/a")
            return [(await n.next_envelope(device)).body.device_id for _ in range(10)]  # type: ignore[attr-defined]

    assert run(scenario()) == [f"m{index}" for index in range(10)]


def test_messages_sent_while_the_broker_restarts_all_arrive(run, net, broker) -> None:
    async def scenario() -> set[str]:
        async with net(**FAST) as n:
            got: list[FlexModel] = []
            (await n.endpoint("dom/a")).on(StatusRequest, n.collector(got))
            grid = await n.endpoint("dom/grid", CONTROLLER)
            sent = {f"m{index}" for index in range(40)}

            async def restart() -> None:
                await asyncio.sleep(0.1)
                await asyncio.to_thread(broker.restart)

            restarting = asyncio.create_task(restart())
            for index in range(40):
                await grid.send("dom/a", StatusRequest(device_id=f"m{index}"))
                await asyncio.sleep(0.005)
            await restarting
            await _until(lambda: {body.device_id for body in got} >= sent)  # type: ignore[attr-defined]
            return {body.device_id for body in got}  # type: ignore[attr-defined]

    assert run(scenario()) == {f"m{index}" for index in range(40)}


def test_expired_messages_are_dropped_by_the_sender_queue_and_by_the_broker_and_the_queue_is_bounded(
    run, net, broker
) -> None:
    async def scenario() -> None:
        async with net(queue_limit=3, **FAST) as n:
            device = await n.link("dom/a")
            await device.close()
            grid = await n.endpoint("dom/grid", CONTROLLER)
            link = n.links["dom/grid"]
            # Queued at the broker for the offline device, void after 1 s (MQTT 5 message expiry).
            await grid.send("dom/a", StatusRequest(device_id="stale-at-broker"), expires_in=timedelta(seconds=1))
            await asyncio.to_thread(broker.stop)
            await _until(lambda: not link.connected)
            # Queued in the link while the broker is away, void before it is back.
            await grid.send("dom/a", StatusRequest(device_id="stale-in-queue"), expires_in=timedelta(seconds=1))
            await grid.send("dom/a", StatusRequest(device_id="fresh"))
            await grid.send("dom/a", StatusRequest(device_id="fresh-too"))
            with pytest.raises(SendQueueFull, match="dom/grid: the send queue holds 3 messages, its limit"):
                await grid.send("dom/a", StatusRequest(device_id="one-too-many"))
            await asyncio.sleep(2.1)  # the broker counts expiry in whole seconds
            await asyncio.to_thread(broker.start)
            await asyncio.wait_for(link.drain(), 10)
            assert link.statistics.expired == 1 and link.statistics.published >= 3
            device = await n.link("dom/a")
            got = [(await n.next_envelope(device)).body.device_id for _ in range(2)]  # type: ignore[attr-defined]
            assert got == ["fresh", "fresh-too"]

    run(scenario())


def test_links_fail_over_to_the_next_broker(run, net, policy, tmp_path: Path) -> None:
    first = start_broker(tmp_path / "first", policy)
    second = start_broker(tmp_path / "second", policy)

    async def scenario() -> None:
        async with net(MqttBus([first.uri, second.uri], **FAST)) as n:
            washer = await n.endpoint("dom/washer")
            washer.on(StatusRequest, _status_handler(n))
            grid = await n.endpoint("dom/grid", CONTROLLER)
            links = [n.links["dom/washer"], n.links["dom/grid"]]
            assert all(link.broker == first.uri for link in links)  # type: ignore[attr-defined]
            await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
            await asyncio.to_thread(first.stop)
            await _until(lambda: all(link.connected and link.broker == second.uri for link in links))  # type: ignore[attr-defined]
            reply = await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
            assert reply.state is DeviceState.IDLE
            late = await n.link("dom/c")  # the first broker is down: a new link goes to the second
            assert late.broker == second.uri
            assert (await late.presence("dom/grid")).state is PresenceState.ONLINE  # type: ignore[union-attr]

    try:
        run(scenario())
    finally:
        first.stop()
        second.stop()


def test_no_reachable_broker_is_a_clear_error(run) -> None:
    uri = f"mqtt://127.0.0.1:{free_port()}"

    async def scenario() -> None:
        with pytest.raises(BrokerUnavailable, match=f"no broker reachable within 1 s \\({uri}: "):
            await MqttBus(uri, connect_timeout_s=1, **FAST).connect("dom/a")

    run(scenario())


def test_mqtt_311_carries_request_reply_presence_and_retained_broadcasts(run, net, broker) -> None:
    async def scenario() -> None:
        async with net(protocol="3.1.1") as n:
            washer = await n.endpoint("dom/washer")
            washer.on(StatusRequest, _status_handler(n))
            grid = await n.endpoint("dom/grid", CONTROLLER)
            assert n.links["dom/grid"].protocol == "3.1.1"
            await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
            await grid.send("dom/all", StatusRequest(device_id="tariff"), retain=True)
            late = await n.link("dom/c")
            assert (await n.next_envelope(late)).body == StatusRequest(device_id="tariff")
            assert (await n.links["dom/grid"].presence("dom/c")).state is PresenceState.ONLINE  # type: ignore[union-attr]

    run(scenario())
    assert "(p2, c0" in broker.log() and "(p5" not in broker.log()  # p2: Mosquitto's name for 3.1.1


class Mqtt311Only:
    """A TCP front for a broker that answers an MQTT 5 CONNECT as a 3.1.1-only broker must (CONNACK 0x01,
    unacceptable protocol level) and passes 3.1.1 connections through."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.refused = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connect = await reader.read(65536)
        index = 1
        while connect[index] & 0x80:  # remaining length
            index += 1
        name_length = int.from_bytes(connect[index + 1 : index + 3], "big")
        if connect[index + 3 + name_length] == 5:
            self.refused += 1
            writer.write(b"\x20\x02\x00\x01")
            await writer.drain()
            writer.close()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        upstream_writer.write(connect)
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


def test_a_broker_that_refuses_mqtt_5_is_spoken_to_in_311(run, net, broker) -> None:
    async def scenario() -> int:
        front = Mqtt311Only(broker.port)
        port = await front.start()
        async with net(MqttBus(f"mqtt://127.0.0.1:{port}")) as n:
            washer = await n.endpoint("dom/washer")
            washer.on(StatusRequest, _status_handler(n))
            grid = await n.endpoint("dom/grid", CONTROLLER)
            assert n.links["dom/grid"].protocol == n.links["dom/washer"].protocol == "3.1.1"
            await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
        return front.refused

    assert run(scenario()) == 2  # one MQTT 5 attempt per link, then 3.1.1
