"""Mutual TLS (TR §3.3: "communication shall be encrypted and authenticated from both sides").

``mqtts://`` links show the client certificate of their identity (from the bus's PKI directory or given
explicitly) and check the broker's certificate and host name against the CA; a link whose certificate is
missing, revoked or from another CA, or a broker whose certificate names another host, fails at connect
with an error that says so — at once, not after a timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flexcem.bus.access import Role
from flexcem.bus.mqtt import ConnectRefused, MqttBus
from flexcem.bus.pki import ClientCredentials, init_pki, issue_client, issue_clients, revoke
from flexcem.model import DeviceState, DeviceStatus, Envelope, StatusRequest
from mosquitto_harness import RunningBroker, start_broker

CONTROLLER = Role.CONTROLLER


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    init_pki(directory)
    issue_clients(directory, ["grid", "washer", "c"])
    return directory


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Path, policy) -> Iterator[RunningBroker]:  # type: ignore[no-untyped-def]
    running = start_broker(tmp_path / "broker", policy, pki=pki)
    try:
        yield running
    finally:
        running.stop()


def test_links_connect_over_mutual_tls_and_deliver(run, net, pki: Path, tls_broker: RunningBroker) -> None:
    async def scenario() -> None:
        async with net(MqttBus(tls_broker.uri, pki=pki)) as n:
            washer = await n.endpoint("dom/washer")

            async def status(body: StatusRequest, envelope: Envelope) -> DeviceStatus:
                return DeviceStatus(device_id="washer", state=DeviceState.IDLE, at=n.clock.now())

            washer.on(StatusRequest, status)
            grid = await n.endpoint("dom/grid", CONTROLLER)
            reply = await grid.deliver("dom/washer", StatusRequest(device_id="washer"), expect=DeviceStatus)
            assert reply.state is DeviceState.IDLE
            explicit = ClientCredentials(pki / "ca.crt", pki / "clients" / "c.crt", pki / "clients" / "c.key")
            other = await n.bus.connect("dom/c", credentials=explicit)
            await other.close()

    run(scenario())
    assert "u'washer'" in tls_broker.log()  # the identity the broker took from the certificate


def test_a_link_without_a_certificate_is_refused_naming_the_identity(run, pki: Path, tls_broker) -> None:  # type: ignore[no-untyped-def]
    async def scenario() -> None:
        bus = MqttBus(tls_broker.uri, pki=pki)
        with pytest.raises(ConnectRefused, match=r"a has no usable client certificate: .*never issued"):
            await bus.connect("dom/a")
        with pytest.raises(ConnectRefused, match="needs credentials= or the bus's pki= directory"):
            await MqttBus(tls_broker.uri).connect("dom/a")
        missing = ClientCredentials(pki / "ca.crt", pki / "clients" / "a.crt", pki / "clients" / "a.key")
        with pytest.raises(ConnectRefused, match=r"a has no usable client certificate: .*No such file"):
            await bus.connect("dom/a", credentials=missing)

    run(scenario())


def test_a_revoked_or_foreign_certificate_is_refused_at_once(run, pki: Path, policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    other_ca = tmp_path / "other"
    init_pki(other_ca)
    foreign = issue_client(other_ca, "c")
    revoked = issue_client(pki, "b")
    revoke(pki, "b")
    tls_broker = start_broker(tmp_path / "broker", policy, pki=pki)  # reads the revocation list as it starts

    async def scenario() -> None:
        bus = MqttBus(tls_broker.uri, connect_timeout_s=30)  # a refusal must not wait for any timeout
        with pytest.raises(ConnectRefused, match=r"TLS handshake of dom/b failed: .*(?i:revoked)"):
            await bus.connect("dom/b", credentials=revoked)
        with pytest.raises(ConnectRefused, match=r"TLS handshake of dom/c failed: .*(?i:unknown ca)"):
            await bus.connect(
                "dom/c", credentials=ClientCredentials(pki / "ca.crt", foreign.cert_file, foreign.key_file)
            )

    try:
        run(scenario(), 5.0)
    finally:
        tls_broker.stop()


def test_a_broker_whose_certificate_names_another_host_is_refused(run, policy, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    directory = tmp_path / "pki"
    init_pki(directory, server_hosts=("broker.example",))
    issue_client(directory, "c")
    broker = start_broker(tmp_path / "broker", policy, pki=directory)

    async def scenario() -> None:
        with pytest.raises(ConnectRefused, match=r"certificate verify failed: (?i:.*mismatch)"):
            await MqttBus(broker.uri, pki=directory).connect("dom/c")

    try:
        run(scenario(), 5.0)
    finally:
        broker.stop()
