"""The SG CP over an MQTT broker (TR §3.3): the binding of :class:`~flexcem.bus.link.Link` on aiomqtt/paho.

>>> bus = MqttBus(["mqtts://broker-a:8883", "mqtts://broker-b:8883"], pki=Path("pki"))   # doctest: +SKIP
>>> link = await bus.connect("grid/cem-0001")                                           # doctest: +SKIP
>>> endpoint = Endpoint(link, RealClock())                                              # doctest: +SKIP

Each :class:`MqttLink` is one MQTT connection whose client id is the endpoint address and whose identity
(username, or certificate CN with ``mqtts://``) is the endpoint id. It routes by role (see
:mod:`flexcem.bus.mqtt_wire`), publishes everything at QoS 1 on a persistent session, carries the envelope's
expiry, correlation, reply topic, content type and schema version as MQTT 5 properties (on 3.1.1 they travel
in the envelope alone), keeps a retained presence (online on every connect, offline by a clean close or the
will) and reads and writes retained service descriptors. Acknowledgement, retry and de-duplication by
message id are the :class:`~flexcem.bus.endpoint.Endpoint`'s, above the link, as over the in-process bus.

Messages sent while the connection is down wait in a bounded queue and go out in order once it is back; a
message is kept until the broker acknowledged it (PUBACK), so a lost connection costs at most a duplicate.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from flexcem.bus.access import Role
from flexcem.bus.in_flight import InFlight
from flexcem.bus.mqtt_discovery import PresenceChanges
from flexcem.bus.mqtt_link import MqttLink, MqttLinkStatistics
from flexcem.bus.mqtt_outbox import SendQueueFull
from flexcem.bus.mqtt_session import (
    BrokerUnavailable,
    BrokerUri,
    ConnectRefused,
    ProtocolName,
    SessionSettings,
    parse_broker_uri,
)
from flexcem.bus.pki import ClientCredentials, PkiError, client_credentials, client_ssl_context
from flexcem.clock import Clock, RealClock
from flexcem.codec import Codec, XmlCodec
from flexcem.model import AddressKind, parse_address

__all__ = [
    "BrokerUnavailable",
    "BrokerUri",
    "ConnectRefused",
    "MqttBus",
    "MqttLink",
    "MqttLinkStatistics",
    "PresenceChanges",
    "SendQueueFull",
]


class MqttBus:
    """Connections to the SG CP over one or several brokers (tried in turn; failover on loss).

    ``brokers`` are ``mqtt://host:port`` (development: the username is the endpoint id) or ``mqtts://host:port``
    URIs (mutual TLS with the identity's certificate from ``credentials`` or from the PKI directory ``pki``).
    ``keepalive_s`` [s] bounds how long a dead connection goes unnoticed (the broker declares it offline
    after 1.5 × keepalive — Mosquitto 2.0.11 looks only every ~6 s, so up to that much later);
    ``session_expiry_s`` [s] how long the broker keeps an offline endpoint's session
    and messages; ``protocol`` "5" falls back to "3.1.1" for a broker that refuses 5; reconnects wait between
    ``reconnect_min_s`` and ``reconnect_max_s`` [s], jittered. ``clock`` stamps presence and expiries.
    ``closed_world`` declares that every subscriber of the domain connects through this bus (a simulation):
    the links then count what is on its way (:mod:`flexcem.bus.in_flight`) and a simulated clock waits for
    exactly that instead of for a quiet network. ``watch_presence`` off: controllers do not subscribe to the
    domain's presence (no :meth:`MqttLink.presences` view, no change callbacks; an exact
    :meth:`MqttLink.presence` read still works) — in a simulation nobody reads it, and every controller receiving
    every endpoint's presence made connecting N homes quadratic (N controllers × 9 N frames).
    """

    def __init__(
        self,
        brokers: str | Sequence[str],
        *,
        codec: Codec | None = None,
        pki: Path | None = None,
        keepalive_s: float = 30,
        session_expiry_s: int = 7 * 86400,
        protocol: Literal["5", "3.1.1"] = "5",
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30,
        connect_timeout_s: float = 10,
        close_timeout_s: float = 5,
        queue_limit: int = 10_000,
        inflight: int = 64,
        clock: Clock | None = None,
        closed_world: bool = False,
        watch_presence: bool = True,
    ) -> None:
        uris = [brokers] if isinstance(brokers, str) else list(brokers)
        if not uris:
            raise ValueError("brokers: at least one broker URI is needed")
        self.brokers: tuple[BrokerUri, ...] = tuple(parse_broker_uri(uri) for uri in uris)
        if protocol not in ("5", "3.1.1"):
            raise ValueError(f"protocol: {protocol!r} is not one of '5', '3.1.1'")
        for name, value in (
            ("keepalive_s", keepalive_s),
            ("reconnect_min_s", reconnect_min_s),
            ("connect_timeout_s", connect_timeout_s),
            ("queue_limit", queue_limit),
            ("inflight", inflight),
        ):
            if value <= 0:
                raise ValueError(f"{name}: must be positive, not {value}")
        if reconnect_max_s < reconnect_min_s:
            raise ValueError(f"reconnect_max_s: {reconnect_max_s} is below reconnect_min_s {reconnect_min_s}")
        if session_expiry_s < 0:
            raise ValueError(f"session_expiry_s: must not be negative, not {session_expiry_s}")
        self.codec: Codec = codec or XmlCodec()
        self.pki = pki
        self.clock: Clock = clock or RealClock()
        self.queue_limit = queue_limit
        self.close_timeout_s = close_timeout_s
        self._protocol: ProtocolName = protocol
        self._keepalive_s = max(1, round(keepalive_s))
        self._session_expiry_s = session_expiry_s
        self._reconnect = (reconnect_min_s, reconnect_max_s)
        self._connect_timeout_s = connect_timeout_s
        self._inflight = inflight
        self._watch_presence = watch_presence
        self._links: dict[str, MqttLink] = {}
        self.in_flight: InFlight | None = None
        """With ``closed_world`` (every subscriber of the domain is on this bus, as in a simulation): what the
        links still wait for from the broker; a simulated clock holds virtual time while it is not zero."""
        if closed_world:
            self.in_flight = InFlight()
            hold = getattr(self.clock, "hold", None)
            if hold is not None:
                hold(self.in_flight)

    async def connect(
        self,
        address: str,
        *,
        role: Role = Role.ENDPOINT,
        acts_as: str | None = None,
        credentials: ClientCredentials | None = None,
    ) -> MqttLink:
        """Connect endpoint ``address`` in ``role``; returns once it is subscribed and announced online.

        ``acts_as`` (controllers) names the logical controller whose shared outbox this instance reads.
        Raises :class:`ConnectRefused` when the identity or its certificate is refused (or missing) and
        :class:`BrokerUnavailable` when no broker answers within ``connect_timeout_s``.
        """
        parsed = parse_address(address)
        if parsed.kind is not AddressKind.ENDPOINT:
            raise ValueError(f"{address!r} is not an endpoint address")
        if acts_as is not None and role is not Role.CONTROLLER:
            raise ValueError(f"acts_as: only a controller shares a logical controller's load, {address} is {role}")
        if address in self._links:
            raise ValueError(f"{address} is already connected on this bus")
        tls = self._tls(parsed.name, credentials) if any(b.tls for b in self.brokers) else None
        settings = SessionSettings(
            brokers=self.brokers,
            client_id=address,
            username=None if tls is not None and all(b.tls for b in self.brokers) else parsed.name,
            tls=tls,
            protocol=self._protocol,
            keepalive_s=self._keepalive_s,
            session_expiry_s=self._session_expiry_s,
            reconnect_min_s=self._reconnect[0],
            reconnect_max_s=self._reconnect[1],
            connect_timeout_s=self._connect_timeout_s,
            inflight=self._inflight,
        )
        link = MqttLink(
            address,
            role,
            acts_as,
            settings,
            codec=self.codec,
            clock=self.clock,
            queue_limit=self.queue_limit,
            close_timeout_s=self.close_timeout_s,
            on_close=self._forget,
            in_flight=self.in_flight,
            watch_presence=self._watch_presence,
        )
        self._links[address] = link
        if self.in_flight is not None:
            self.in_flight.subscribed(link.message_filters())
        try:
            if self.in_flight is not None:
                async with self.in_flight.waiting():
                    await link.start()
            else:
                await link.start()
        except BaseException:
            self._forget(link)
            raise
        return link

    def _tls(self, identity: str, credentials: ClientCredentials | None) -> ssl.SSLContext:
        try:
            if credentials is None:
                if self.pki is None:
                    raise PkiError("mqtts:// needs credentials= or the bus's pki= directory")
                credentials = client_credentials(self.pki, identity)
            return client_ssl_context(credentials)
        except (PkiError, OSError) as error:
            raise ConnectRefused(f"{identity} has no usable client certificate: {error}") from error

    def _forget(self, link: MqttLink) -> None:
        if self._links.get(link.address) is link:
            del self._links[link.address]
            if self.in_flight is not None:
                self.in_flight.subscribed(link.message_filters(), -1)
