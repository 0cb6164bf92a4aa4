"""Bad input to the MQTT binding gets a clear error naming the problem (DESIGN §5), and nothing is sent."""

from __future__ import annotations

import pytest

from flexcem.bus.access import Role
from flexcem.bus.mqtt import MqttBus
from flexcem.model import Envelope, ServiceDescriptor, StatusRequest

CONTROLLER = Role.CONTROLLER


@pytest.mark.parametrize(
    ("brokers", "options", "message"),
    [
        ("http://127.0.0.1:1883", {}, "broker URI 'http://127.0.0.1:1883': unknown scheme 'http'; use mqtt://"),
        ("127.0.0.1:1883", {}, "broker URI '127.0.0.1:1883': unknown scheme ''"),
        ("mqtt://:1883", {}, "broker URI 'mqtt://:1883': no host"),
        ("mqtt://broker:port", {}, "broker URI 'mqtt://broker:port': Port could not be cast"),
        ("mqtt://broker/sgcp", {}, "only scheme, host and port are allowed"),
        ([], {}, "brokers: at least one broker URI is needed"),
        ("mqtt://broker", {"protocol": "4"}, "protocol: '4' is not one of '5', '3.1.1'"),
        ("mqtt://broker", {"keepalive_s": 0}, "keepalive_s: must be positive, not 0"),
        ("mqtt://broker", {"reconnect_max_s": 0.1}, "reconnect_max_s: 0.1 is below reconnect_min_s 0.5"),
    ],
)
def test_a_bad_bus_configuration_is_refused_naming_the_field(brokers, options, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        MqttBus(brokers, **options)


def test_default_ports_and_failover_order() -> None:
    bus = MqttBus(["mqtts://a.example", "mqtt://b.example", "mqtt://c.example:2883"])
    assert [str(broker) for broker in bus.brokers] == [
        "mqtts://a.example:8883",
        "mqtt://b.example:1883",
        "mqtt://c.example:2883",
    ]


def test_what_an_endpoint_may_not_send_is_refused_naming_the_reason(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            device = await n.link("dom/a")

            def envelope(to: str, sender: str = "dom/a") -> Envelope:
                body = StatusRequest(device_id="a")
                return Envelope(type="StatusRequest", sender=sender, to=to, created=n.clock.now(), body=body)

            with pytest.raises(ValueError, match=r"dom/a is an endpoint: .*the group address dom/grp/north is for"):
                await device.send(envelope("dom/grp/north"))
            with pytest.raises(ValueError, match="the broadcast address dom/all is for controllers"):
                await device.send(envelope("dom/all"))
            with pytest.raises(ValueError, match="dom/a is an endpoint: retained messages are broadcasts"):
                await device.send(envelope("dom/grid"), retain=True)
            with pytest.raises(ValueError, match="dom/a cannot send as dom/b"):
                await device.send(envelope("dom/grid", sender="dom/b"))
            with pytest.raises(ValueError, match="dom/a sends only within domain 'dom', not to other/grid"):
                await device.send(envelope("other/grid"))
            with pytest.raises(ValueError, match="services are advertised by controllers"):
                await device.advertise(ServiceDescriptor(name="x", address="dom/a"))
            with pytest.raises(ValueError, match="presence changes are watched by controllers"):
                device.presence_changes()
            grid = await n.link("dom/grid", CONTROLLER)
            with pytest.raises(ValueError, match="retain is for broadcasts and groups, not for the endpoint dom/a"):
                await grid.send(envelope("dom/a", sender="dom/grid"), retain=True)
            with pytest.raises(ValueError, match="advertises only in domain 'dom', not for other/svc"):
                await grid.advertise(ServiceDescriptor(name="x", address="other/svc"))
            assert n.links["dom/a"].statistics.received == 0

    run(scenario())


def test_bad_connect_arguments_are_refused(run, net) -> None:
    async def scenario() -> None:
        async with net() as n:
            with pytest.raises(ValueError, match="'dom/grp/north' is not an endpoint address"):
                await n.bus.connect("dom/grp/north")
            with pytest.raises(ValueError, match="acts_as: only a controller shares"):
                await n.bus.connect("dom/a", acts_as="gridsvc")
            await n.link("dom/a")
            with pytest.raises(ValueError, match="dom/a is already connected on this bus"):
                await n.bus.connect("dom/a")

    run(scenario())
