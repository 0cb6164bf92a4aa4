"""The SG CP's security on a real Mosquitto with the configuration flexcem generates (TR §3.3).

The report asks that "resources shall have a unique, trusted identity", that "communication shall be encrypted
and authenticated from both sides (trusted entities)", that "a controller can address a message to all
members of a group" kept "by the communication infrastructure", and that the system "shall protect against
denial of service attacks and other types of attacks".

Each test starts its own broker (``start_broker(…, pki=…)``) and talks to it with paho-mqtt 2 and plain
``ssl`` contexts, so what is proven is the generated ``mosquitto.conf`` and ACL, not flexcem's client. That a
message does *not* arrive is shown without sleeping: after the forbidden message, an allowed one (the
sentinel) is sent on the same path; Mosquitto delivers to a subscriber in the order it routed, so when the
sentinel is the first thing that arrives, the forbidden message was dropped.
"""

from __future__ import annotations

import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from flexcem.bus.access import AccessPolicy, Grant, Identity, Role
from flexcem.bus.pki import ClientCredentials, client_ssl_context, init_pki, issue_client, issue_clients, revoke
from flexcem.bus.topics import (
    broadcast_filter,
    broadcast_topic,
    group_topic,
    inbox_topic,
    outbox_filter,
    outbox_topic,
    presence_topic,
)
from mosquitto_harness import RunningBroker, start_broker

DOMAIN = "grid"
POLICY = AccessPolicy(
    identities=(
        Identity(id="cem-a", grants=(Grant(domain=DOMAIN, groups=("north",)),)),
        Identity(id="cem-b", grants=(Grant(domain=DOMAIN),)),
        Identity(id="dso", grants=(Grant(domain=DOMAIN, role=Role.CONTROLLER),)),
    )
)
"""Two CEMs (endpoints; cem-a in group north) and a grid controller."""
NORTH = group_topic(f"{DOMAIN}/grp/north")
WAIT_S = 3.0
"""Longest wait for something that must happen (it normally takes milliseconds)."""


class Probe:
    """One paho-mqtt 2 client; events and queues for what the tests wait on; no automatic reconnection."""

    def __init__(
        self,
        port: int,
        client_id: str,
        context: ssl.SSLContext | None,
        *,
        username: str | None = None,
        protocol: MQTTProtocolVersion = mqtt.MQTTv5,
    ) -> None:
        self.port = port
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol, reconnect_on_failure=False
        )
        if context is not None:
            self.client.tls_set_context(context)
        if username is not None:
            self.client.username_pw_set(username, "claimed-password")
        self.connected = threading.Event()
        self.gone = threading.Event()
        self.connack: ReasonCode | None = None
        self.disconnect_reason: ReasonCode | None = None
        self.error: BaseException | None = None
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._acks: dict[int, Any] = {}
        self._acked = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = lambda _client, _userdata, message: self.messages.put(message)
        self.client.on_subscribe = lambda _c, _u, mid, codes, _p: self._ack(mid, codes)
        self.client.on_publish = lambda _c, _u, mid, code, _p: self._ack(mid, code)

    def _on_connect(self, _client: Any, _userdata: Any, _flags: Any, code: ReasonCode, _properties: Any) -> None:
        self.connack = code
        (self.connected if not code.is_failure else self.gone).set()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, code: ReasonCode, _properties: Any) -> None:
        self.disconnect_reason = code
        self.gone.set()

    def _ack(self, mid: int, value: Any) -> None:
        with self._acked:
            self._acks[mid] = value
            self._acked.notify_all()

    def _wait_ack(self, mid: int) -> Any:
        with self._acked:
            if not self._acked.wait_for(lambda: mid in self._acks or self.gone.is_set(), WAIT_S):
                raise AssertionError(f"no acknowledgement of message {mid} within {WAIT_S} s")
            return self._acks.get(mid)

    def connect(self) -> bool:
        """Connect; whether the broker accepted us (a CONNACK with success before any disconnection)."""
        try:
            self.client.connect("127.0.0.1", self.port, keepalive=10)
        except (OSError, ssl.SSLError) as error:  # the TLS handshake failed on our side
            self.error = error
            return False
        self.client.loop_start()
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and not (self.connected.is_set() or self.gone.is_set()):
            time.sleep(0.005)
        if not (self.connected.is_set() or self.gone.is_set()):
            raise AssertionError("neither accepted nor refused within the wait")
        return self.connected.is_set() and not self.gone.is_set()

    def subscribe(self, topic: str) -> None:
        """Subscribe with QoS 1 and wait for the SUBACK (Mosquitto grants it and checks reads on delivery)."""
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        codes = self._wait_ack(mid)
        assert codes is not None and not any(code.is_failure for code in codes), codes

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> ReasonCode | None:
        """Publish and wait for the PUBACK; its reason code on MQTT 5 (``None`` for QoS 0 or 3.1.1)."""
        info = self.client.publish(topic, payload, qos=qos)
        if qos == 0:
            info.wait_for_publish(WAIT_S)
            return None
        code = self._wait_ack(info.mid)
        return code if isinstance(code, ReasonCode) and self.client.protocol == mqtt.MQTTv5 else None

    def next_message(self) -> mqtt.MQTTMessage:
        """The next message that arrives (fails after the wait)."""
        try:
            return self.messages.get(timeout=WAIT_S)
        except queue.Empty:
            raise AssertionError(f"no message arrived within {WAIT_S} s") from None

    def expect_only(self, topic: str, payload: bytes) -> None:
        """The next message is the sentinel ``payload`` on ``topic`` and nothing else came before it."""
        message = self.next_message()
        assert (message.topic, message.payload) == (topic, payload), f"unexpected {message.topic}: {message.payload!r}"
        assert self.messages.empty()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    """A PKI with a certificate for every identity of :data:`POLICY`."""
    directory = tmp_path / "pki"
    init_pki(directory)
    issue_clients(directory, [identity.id for identity in POLICY.identities])
    return directory


@pytest.fixture
def launch(tmp_path: Path, pki: Path) -> Iterator[Callable[[], RunningBroker]]:
    """Start the test's broker (TLS with ``pki``) when asked; stopped at the end."""
    started: list[RunningBroker] = []

    def start() -> RunningBroker:
        broker = start_broker(tmp_path / f"broker{len(started)}", POLICY, pki=pki)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


@pytest.fixture
def broker(launch: Callable[[], RunningBroker]) -> RunningBroker:
    """A running broker for :data:`POLICY` with mutual TLS."""
    return launch()


@pytest.fixture
def connect(broker: RunningBroker, pki: Path) -> Iterator[Callable[..., Probe]]:
    """Connect an identity of :data:`POLICY` with its own certificate; every probe is closed at the end."""
    probes: list[Probe] = []

    def open_probe(identity: str, protocol: MQTTProtocolVersion = mqtt.MQTTv5) -> Probe:
        probe = Probe(broker.port, identity, client_ssl_context(credentials(pki, identity)), protocol=protocol)
        probes.append(probe)
        assert probe.connect(), f"{identity} refused: {probe.connack or probe.disconnect_reason or probe.error}"
        return probe

    yield open_probe
    for probe in probes:
        probe.close()


def credentials(pki: Path, identity: str) -> ClientCredentials:
    return ClientCredentials(pki / "ca.crt", pki / "clients" / f"{identity}.crt", pki / "clients" / f"{identity}.key")


def refused(probe: Probe) -> bool:
    """Whether the broker turned ``probe`` away (closing the probe either way)."""
    try:
        return not probe.connect()
    finally:
        probe.close()


def wait_for_log(broker: RunningBroker, *fragments: str) -> str:
    """The broker's log once it contains every fragment (Mosquitto writes it as things happen)."""
    deadline = time.monotonic() + WAIT_S
    while True:
        log = broker.log()
        if all(fragment in log for fragment in fragments):
            return log
        if time.monotonic() > deadline:
            raise AssertionError(f"broker log lacks {fragments}:\n{log}")
        time.sleep(0.02)


# -- TLS only, client certificates from our CA, revocation ------------------------------------------------------


def test_a_plain_connection_to_the_tls_port_is_refused(broker: RunningBroker) -> None:
    assert refused(Probe(broker.port, "cem-a", None, username="cem-a"))
    wait_for_log(broker, "Client connection from 127.0.0.1 failed", "wrong version number")


def test_a_client_without_a_certificate_is_refused(broker: RunningBroker, pki: Path) -> None:
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))  # trusts the broker, shows no certificate
    assert refused(Probe(broker.port, "cem-a", context, username="cem-a"))
    wait_for_log(broker, "peer did not return a certificate")


def test_a_client_with_a_certificate_from_another_ca_is_refused(
    broker: RunningBroker, pki: Path, tmp_path: Path
) -> None:
    """Same CN, another CA: the broker does not trust it (the client itself trusts the broker)."""
    rogue = tmp_path / "rogue-pki"
    init_pki(rogue)
    forged = issue_client(rogue, "cem-a")
    context = client_ssl_context(ClientCredentials(pki / "ca.crt", forged.cert_file, forged.key_file))
    assert refused(Probe(broker.port, "cem-a", context))
    wait_for_log(broker, "certificate verify failed")


def test_a_client_does_not_trust_a_broker_of_another_ca(broker: RunningBroker, pki: Path, tmp_path: Path) -> None:
    """Authenticated from both sides: a client checks the broker's certificate against its own CA."""
    rogue = tmp_path / "rogue-pki"
    init_pki(rogue)
    ours = credentials(pki, "cem-a")
    probe = Probe(
        broker.port, "cem-a", client_ssl_context(ClientCredentials(rogue / "ca.crt", ours.cert_file, ours.key_file))
    )
    assert refused(probe)
    assert isinstance(probe.error, ssl.SSLCertVerificationError)


def test_a_certificate_revoked_before_the_broker_starts_is_refused(
    launch: Callable[[], RunningBroker], pki: Path
) -> None:
    revoke(pki, "cem-b")
    broker = launch()
    assert not refused(Probe(broker.port, "cem-a", client_ssl_context(credentials(pki, "cem-a"))))
    assert refused(Probe(broker.port, "cem-b", client_ssl_context(credentials(pki, "cem-b"))))
    wait_for_log(broker, "certificate verify failed")


def test_a_revocation_reaches_a_running_broker_with_sighup(broker: RunningBroker, pki: Path) -> None:
    """Mosquitto 2.0 reads the CRL at start and again on SIGHUP (``broker.apply`` sends it): no restart needed."""
    revoke(pki, "cem-b")
    broker.apply(POLICY)
    # a connection that meets the broker in the middle of its reload can fail for that reason alone (seen once
    # under CI load): the valid identity gets three tries, and once it is in, the revoked one is refused
    assert any(
        not refused(Probe(broker.port, "cem-a", client_ssl_context(credentials(pki, "cem-a")))) for _ in range(3)
    )
    assert refused(Probe(broker.port, "cem-b", client_ssl_context(credentials(pki, "cem-b"))))


def test_a_revoked_identity_taken_out_of_the_policy_is_silenced_on_its_live_connection(
    broker: RunningBroker, connect: Callable[..., Probe], pki: Path
) -> None:
    """TLS is checked at connection time only; the ACL is checked on every message, so the revocation
    procedure also removes the identity from the policy: its open connection can then do nothing."""
    dso, cem_b = connect("dso"), connect("cem-b")
    cem_b.subscribe(inbox_topic(f"{DOMAIN}/cem-b"))
    dso.subscribe(outbox_filter(f"{DOMAIN}/dso"))
    revoke(pki, "cem-b")
    broker.apply(AccessPolicy(identities=tuple(i for i in POLICY.identities if i.id != "cem-b")))
    dso.publish(inbox_topic(f"{DOMAIN}/cem-b"), b"command after revocation")
    assert cem_b.publish(outbox_topic(f"{DOMAIN}/cem-b", f"{DOMAIN}/dso"), b"report").is_failure  # type: ignore[union-attr]
    cem_a = connect("cem-a")
    cem_a.publish(outbox_topic(f"{DOMAIN}/cem-a", f"{DOMAIN}/dso"), b"sentinel")
    dso.expect_only(outbox_topic(f"{DOMAIN}/cem-a", f"{DOMAIN}/dso"), b"sentinel")
    assert cem_b.messages.empty()


# -- identity from the certificate -------------------------------------------------------------------------------


def test_the_username_and_client_id_are_the_certificate_cn_whatever_the_client_claims(
    broker: RunningBroker, connect: Callable[..., Probe], pki: Path
) -> None:
    dso, cem_b = connect("dso"), connect("cem-b")
    cem_b.subscribe(inbox_topic(f"{DOMAIN}/cem-b"))
    impostor = Probe(broker.port, "dso", client_ssl_context(credentials(pki, "cem-a")), username="dso")
    try:
        assert impostor.connect()
        wait_for_log(broker, "as cem-a (p5, c1, k10, u'cem-a')")
        code = impostor.publish(inbox_topic(f"{DOMAIN}/cem-b"), b"forged command")  # the controller's right
        assert code is not None and code.getName() == "Not authorized"
        dso.publish(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")
        cem_b.expect_only(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")
        assert not dso.gone.is_set(), "claiming the controller's client id took over its session"
    finally:
        impostor.close()


# -- the access-control list: deny by default -------------------------------------------------------------------


def test_a_cem_cannot_read_another_cems_inbox(connect: Callable[..., Probe]) -> None:
    dso, cem_b = connect("dso"), connect("cem-b")
    cem_b.subscribe(inbox_topic(f"{DOMAIN}/cem-a"))  # granted by Mosquitto, but reads are checked on delivery
    cem_b.subscribe(inbox_topic(f"{DOMAIN}/cem-b"))
    dso.publish(inbox_topic(f"{DOMAIN}/cem-a"), b"for cem-a only")
    dso.publish(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")
    cem_b.expect_only(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")


@pytest.mark.parametrize("protocol", [mqtt.MQTTv5, mqtt.MQTTv311], ids=["mqtt5", "mqtt311"])
def test_a_cem_cannot_publish_into_another_cems_outbox(
    connect: Callable[..., Probe], protocol: MQTTProtocolVersion
) -> None:
    dso, cem_a = connect("dso"), connect("cem-a", protocol)
    dso.subscribe(outbox_filter(f"{DOMAIN}/dso"))  # sgcp/v1/grid/ep/+/out/dso
    code = cem_a.publish(outbox_topic(f"{DOMAIN}/cem-b", f"{DOMAIN}/dso"), b"forged report from cem-b")
    if protocol == mqtt.MQTTv5:
        assert code is not None and code.getName() == "Not authorized"
    cem_a.publish(outbox_topic(f"{DOMAIN}/cem-a", f"{DOMAIN}/dso"), b"sentinel")
    dso.expect_only(outbox_topic(f"{DOMAIN}/cem-a", f"{DOMAIN}/dso"), b"sentinel")


def test_a_cem_cannot_publish_into_a_group_or_a_broadcast(connect: Callable[..., Probe]) -> None:
    dso, cem_a, cem_b = connect("dso"), connect("cem-a"), connect("cem-b")
    cem_a.subscribe(NORTH)
    cem_a.subscribe(broadcast_filter(DOMAIN))
    for topic in (NORTH, broadcast_topic(DOMAIN, "tariff")):
        code = cem_b.publish(topic, b"forged")
        assert code is not None and code.getName() == "Not authorized"
        dso.publish(topic, b"sentinel")
        cem_a.expect_only(topic, b"sentinel")


def test_a_cem_cannot_forge_another_cems_presence(connect: Callable[..., Probe]) -> None:
    dso, cem_b = connect("dso"), connect("cem-b")
    dso.subscribe(f"sgcp/v1/{DOMAIN}/presence/+")
    code = cem_b.publish(presence_topic(f"{DOMAIN}/cem-a"), b"offline")
    assert code is not None and code.getName() == "Not authorized"
    cem_b.publish(presence_topic(f"{DOMAIN}/cem-b"), b"online")
    dso.expect_only(presence_topic(f"{DOMAIN}/cem-b"), b"online")


def test_the_controller_writes_inboxes_groups_broadcasts_and_reads_what_is_addressed_to_it(
    connect: Callable[..., Probe],
) -> None:
    dso, cem_a, cem_b = connect("dso"), connect("cem-a"), connect("cem-b")
    for topic in (inbox_topic(f"{DOMAIN}/cem-a"), NORTH, broadcast_filter(DOMAIN)):
        cem_a.subscribe(topic)
    cem_b.subscribe(broadcast_filter(DOMAIN))
    dso.subscribe(outbox_filter(f"{DOMAIN}/dso"))
    dso.subscribe(inbox_topic(f"{DOMAIN}/cem-b"))  # inboxes are write-only for the controller
    for topic in (inbox_topic(f"{DOMAIN}/cem-a"), NORTH, broadcast_topic(DOMAIN, "tariff")):
        assert dso.publish(topic, topic.encode()).getName() == "Success"  # type: ignore[union-attr]
        message = cem_a.next_message()
        assert (message.topic, message.payload) == (topic, topic.encode())
    cem_b.expect_only(broadcast_topic(DOMAIN, "tariff"), broadcast_topic(DOMAIN, "tariff").encode())
    cem_b.publish(outbox_topic(f"{DOMAIN}/cem-b", f"{DOMAIN}/dso"), b"report")
    dso.expect_only(outbox_topic(f"{DOMAIN}/cem-b", f"{DOMAIN}/dso"), b"report")


def test_a_group_member_receives_the_group_message_and_a_non_member_does_not(connect: Callable[..., Probe]) -> None:
    dso, cem_a, cem_b = connect("dso"), connect("cem-a"), connect("cem-b")
    cem_a.subscribe(NORTH)
    cem_b.subscribe(NORTH)
    cem_b.subscribe(inbox_topic(f"{DOMAIN}/cem-b"))
    dso.publish(NORTH, b"north: reduce load")
    dso.publish(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")
    cem_a.expect_only(NORTH, b"north: reduce load")
    cem_b.expect_only(inbox_topic(f"{DOMAIN}/cem-b"), b"sentinel")


def test_a_membership_change_applies_to_live_connections(broker: RunningBroker, connect: Callable[..., Probe]) -> None:
    """The grid registry moves cem-b into north and cem-a out: ACL regenerated, SIGHUP, nobody reconnects."""
    dso, cem_a, cem_b = connect("dso"), connect("cem-a"), connect("cem-b")
    for probe in (cem_a, cem_b):
        probe.subscribe(NORTH)
        probe.subscribe(broadcast_filter(DOMAIN))
    moved = POLICY.with_membership(f"{DOMAIN}/grp/north", f"{DOMAIN}/cem-b").with_membership(
        f"{DOMAIN}/grp/north", f"{DOMAIN}/cem-a", present=False
    )
    broker.apply(moved)
    assert "topic read sgcp/v1/grid/grp/north" in broker.files.acl.read_text().split("user cem-b")[1]
    dso.publish(NORTH, b"north after the move")
    dso.publish(broadcast_topic(DOMAIN, "tariff"), b"sentinel")
    assert [cem_b.next_message().payload for _ in range(2)] == [b"north after the move", b"sentinel"]
    cem_a.expect_only(broadcast_topic(DOMAIN, "tariff"), b"sentinel")
    assert not (cem_a.gone.is_set() or cem_b.gone.is_set())


# -- size limit -------------------------------------------------------------------------------------------------


def test_a_message_over_the_maximum_size_is_dropped_and_logged(
    broker: RunningBroker, connect: Callable[..., Probe]
) -> None:
    """The broker refuses a packet over ``max_packet_size`` (300,000 bytes): it disconnects the sender, logs
    why, and delivers nothing; the sender's next connection works."""
    cem_a = connect("cem-a")
    cem_a.subscribe(inbox_topic(f"{DOMAIN}/cem-a"))
    sender = connect("dso")
    sender.client.publish(inbox_topic(f"{DOMAIN}/cem-a"), b"x" * 400_000, qos=0)
    assert sender.gone.wait(WAIT_S)
    wait_for_log(broker, "Client dso disconnected due to oversize packet")
    again = connect("dso")
    again.publish(inbox_topic(f"{DOMAIN}/cem-a"), b"x" * 250_000)
    message = cem_a.next_message()
    assert len(message.payload) == 250_000
    assert cem_a.messages.empty()
