"""One endpoint's connection to the SG CP over MQTT: the :class:`~flexcem.bus.link.Link` of the MQTT binding.

A :class:`MqttLink` (made by :meth:`flexcem.bus.mqtt.MqttBus.connect`) routes what it sends by its role
(:mod:`flexcem.bus.mqtt_wire`), queues it in an :class:`~flexcem.bus.mqtt_outbox.Outbox` that survives
reconnects, hands what arrives to :meth:`receive` in arrival order, and keeps its presence and service views
(:mod:`flexcem.bus.mqtt_discovery`). Its :class:`~flexcem.bus.mqtt_session.MqttSession` keeps it connected
and calls back on every (re)connect: subscribe, announce presence online, publish what waited.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace

import aiomqtt
from paho.mqtt.properties import Properties

from flexcem.bus.access import Role
from flexcem.bus.errors import LinkClosed
from flexcem.bus.in_flight import InFlight
from flexcem.bus.link import Incoming, IncomingQueue, RejectedFrame
from flexcem.bus.mqtt_discovery import PresenceCallback, PresenceChanges, RetainedViews, subscribe
from flexcem.bus.mqtt_outbox import Outbox, Outgoing
from flexcem.bus.mqtt_session import MqttSession, ProtocolName, SessionSettings
from flexcem.bus.mqtt_wire import (
    cache_filters,
    encode_body,
    message_filters,
    publish_properties,
    publish_topic,
    remaining_s,
    response_topic,
)
from flexcem.bus.topics import ROOT, TopicKind, parse_topic, presence_topic, service_topic
from flexcem.clock import Clock
from flexcem.codec import Codec, CodecError
from flexcem.model import Envelope, Presence, PresenceState, ServiceDescriptor, parse_address

__all__ = ["MqttLink", "MqttLinkStatistics"]

log = logging.getLogger("flexcem.bus.mqtt")


@dataclass
class MqttLinkStatistics:
    """Counters of one link: messages received (``rejected`` undecodable among them, ``forged`` dropped),
    connections made, and from its send queue: ``published`` (acknowledged by a broker), ``requeued`` after a
    lost connection, ``expired`` before they could go."""

    received: int = 0
    rejected: int = 0
    forged: int = 0
    connections: int = 0
    published: int = 0
    requeued: int = 0
    expired: int = 0


class MqttLink:
    """One endpoint's connection to the SG CP over MQTT; made by :meth:`MqttBus.connect`."""

    def __init__(
        self,
        address: str,
        role: Role,
        acts_as: str | None,
        settings: SessionSettings,
        *,
        codec: Codec,
        clock: Clock,
        queue_limit: int,
        close_timeout_s: float,
        on_close: Callable[[MqttLink], None] = lambda link: None,
        in_flight: InFlight | None = None,
        watch_presence: bool = True,
    ) -> None:
        self._address = address
        self._watch_presence = watch_presence
        self._domain = parse_address(address).domain
        self._role = role
        self._acts_as = acts_as
        self._codec = codec
        self._clock = clock
        self._close_timeout_s = close_timeout_s
        self._on_close = on_close
        self._in_flight = in_flight
        self._incoming = IncomingQueue(address)
        self._views = RetainedViews(address, codec)
        self._outbox = Outbox(address, self._publish, limit=queue_limit, window=settings.inflight)
        self._session = MqttSession(settings, self)
        self._counts = MqttLinkStatistics()

    def message_filters(self) -> tuple[str, ...]:
        """The filters on which this link receives messages."""
        return message_filters(self._role, self._address, self._acts_as)

    # -- the Link protocol ------------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """The endpoint address this link speaks for (also its MQTT client id)."""
        return self._address

    @property
    def role(self) -> Role:
        """Endpoint or controller: what it may write and what it reads."""
        return self._role

    @property
    def connected(self) -> bool:
        """Whether the link is connected to a broker right now."""
        return self._session.client is not None

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._incoming.closed

    @property
    def broker(self) -> str:
        """The broker of the current (or next) connection."""
        return str(self._session.broker)

    @property
    def statistics(self) -> MqttLinkStatistics:
        """A snapshot of the link's counters."""
        outbox = self._outbox
        return replace(self._counts, published=outbox.published, requeued=outbox.requeued, expired=outbox.expired)

    @property
    def protocol(self) -> ProtocolName:
        """The MQTT version in use: ``"5"``, or ``"3.1.1"`` by setting or after a broker refused 5."""
        return "5" if self._session.version is aiomqtt.ProtocolVersion.V5 else "3.1.1"

    async def send(self, envelope: Envelope, *, retain: bool = False) -> None:
        """Publish ``envelope`` on the topic its recipient and this link's role call for.

        Returns once the broker acknowledged it — or at once, queued, while disconnected. :class:`ValueError`
        names what this endpoint may not send; :class:`SendQueueFull` when the queue is at its bound.
        """
        if self._incoming.closed:
            raise LinkClosed(f"{self._address} is closed")
        topic = publish_topic(self._role, self._address, envelope, retain=retain)
        await self._outbox.put(Outgoing(topic, self._codec.encode(envelope), retain, envelope), wait=self.connected)

    async def receive(self) -> Incoming:
        """The next message for this endpoint, across reconnects; :class:`LinkClosed` once closed."""
        return await self._incoming.get()

    async def close(self) -> None:
        """Flush what is queued (while connected), publish presence offline and disconnect cleanly.

        The broker keeps the persistent session: messages for the endpoint wait there until it reconnects.
        """
        if self._incoming.closed:
            return
        async with self._waiting():
            await self._close()

    async def _close(self) -> None:
        self._incoming.close()
        if self.connected:
            try:
                await asyncio.wait_for(self._outbox.drain(), self._close_timeout_s)
            except TimeoutError:
                log.warning("%s: closing with %d message(s) unsent", self._address, len(self._outbox))
        await self._session.stop(self._farewell)
        self._outbox.close()
        self._on_close(self)
        unread = self._incoming.take_all()
        if unread:
            log.info("%s: closed with %d message(s) unread", self._address, len(unread))

    async def drain(self) -> None:
        """Wait until every message sent so far has been acknowledged by a broker."""
        await self._outbox.drain()

    # -- presence and discovery ---------------------------------------------------------------------------------

    async def presence(self, address: str) -> Presence | None:
        """The retained presence of endpoint ``address`` as the broker holds it now (``None``: never seen)."""
        topic = presence_topic(address)
        found = await self._views.read(self._session.client, self._v5, topic)
        value = found.get(topic)
        return value if isinstance(value, Presence) else None

    def presences(self) -> dict[str, Presence]:
        """The last presence of every endpoint of the domain (controllers: kept up to date by the broker)."""
        return dict(self._views.presence)

    def on_presence(self, callback: PresenceCallback) -> Callable[[], None]:
        """Call ``callback`` on every change of presence in the domain (controllers); returns an unsubscriber."""
        self._watcher_check()
        return self._views.watch(callback)

    def presence_changes(self) -> PresenceChanges:
        """Every change of presence in the domain from this call on, as an async iterator (controllers).

        Changes are collected from the moment of the call, not of the first ``anext``; ``aclose()`` stops.
        """
        self._watcher_check()
        return PresenceChanges(self._views)

    def _watcher_check(self) -> None:
        if self._role is not Role.CONTROLLER:
            raise ValueError(f"{self._address} is an endpoint: presence changes are watched by controllers")
        if not self._watch_presence:
            raise ValueError(f"{self._address} does not watch presence (its bus has watch_presence=False)")

    async def advertise(self, descriptor: ServiceDescriptor) -> None:
        """Publish ``descriptor`` retained on its service topic (controllers of its domain)."""
        topic = self._service_topic(descriptor.address, descriptor.name)
        payload = encode_body(self._codec, self._address, descriptor, self._clock.now())
        await self._outbox.put(Outgoing(topic, payload, True, None), wait=self.connected)

    async def withdraw(self, name: str) -> None:
        """Remove the retained descriptor of service ``name`` of this domain (controllers)."""
        topic = self._service_topic(self._address, name)
        await self._outbox.put(Outgoing(topic, b"", True, None), wait=self.connected)

    async def services(self, domain: str | None = None) -> list[ServiceDescriptor]:
        """Every service descriptor the broker holds for ``domain`` (this link's by default), by name."""
        # A filter of its own: the link's ``svc/+`` subscription stays as it is.
        target = f"{ROOT}/{domain or self._domain}/svc/#"
        found = await self._views.read(self._session.client, self._v5, target)
        return sorted((d for d in found.values() if isinstance(d, ServiceDescriptor)), key=lambda d: d.name)

    def _service_topic(self, provider: str, name: str) -> str:
        if self._role is not Role.CONTROLLER:
            raise ValueError(f"{self._address} is an endpoint: services are advertised by controllers")
        if parse_address(provider).domain != self._domain:
            raise ValueError(f"{self._address} advertises only in domain {self._domain!r}, not for {provider}")
        return service_topic(self._domain, name)

    # -- the session's handler ----------------------------------------------------------------------------------

    def last_will(self, version: aiomqtt.ProtocolVersion) -> aiomqtt.Will:
        """The last will: presence offline, retained, QoS 1."""
        payload = self._presence_frame(PresenceState.OFFLINE)
        properties = None
        if version is aiomqtt.ProtocolVersion.V5:
            properties = publish_properties(None, self._codec, response=None, expiry_s=None, will=True)
        return aiomqtt.Will(presence_topic(self._address), payload, qos=1, retain=True, properties=properties)

    async def on_connect(self, client: aiomqtt.Client, version: aiomqtt.ProtocolVersion, first: bool) -> None:
        """Subscribe, announce presence online and start publishing what is queued."""
        messages = message_filters(self._role, self._address, self._acts_as)
        caches = cache_filters(self._role, self._address, presence=self._watch_presence)
        v5 = version is aiomqtt.ProtocolVersion.V5
        # Retained messages come with the link's first subscription (as a late joiner's due) and not again on
        # a resubscription (3.1.1 cannot say so: the Endpoint drops the repeats by message id); presence and
        # service descriptors always come, to fill the caches.
        wanted = [(topic, 1, 0 if first else 1) for topic in messages] + [(topic, 1, 0) for topic in caches]
        async with self._waiting():
            granted = await subscribe(client, v5, wanted)
            refused = [topic for (topic, _, _), ok in zip(wanted, granted, strict=True) if not ok]
            if refused:
                log.error("%s: the broker refused the subscription(s) %s", self._address, ", ".join(refused))
            await client.publish(
                presence_topic(self._address),
                self._presence_frame(PresenceState.ONLINE),
                qos=1,
                retain=True,
                properties=self._properties(None, v5),
                timeout=10,
            )
        self._counts.connections += 1
        self._outbox.start(client)

    def on_disconnect(self) -> None:
        """Stop publishing; what was not acknowledged goes back to the front of the queue."""
        self._outbox.stop()

    def on_message(self, message: aiomqtt.Message) -> None:
        """Sort an incoming message: presence, service descriptor, or a message for the endpoint."""
        topic = message.topic.value
        payload = message.payload if isinstance(message.payload, bytes) else str(message.payload or "").encode()
        try:
            parts = parse_topic(topic)
        except ValueError:
            log.warning("%s: ignored a message on %s", self._address, topic)
            return
        if parts.kind in (TopicKind.PRESENCE, TopicKind.SERVICE):
            self._views.arrived(parts.kind, topic, f"{parts.domain}/{parts.name}", payload)
            return
        if self._in_flight is not None and not message.retain:  # a retained copy on subscribing was not counted
            self._in_flight.done()
        if not payload:
            return
        item: Incoming
        try:
            item = self._codec.decode(payload)
        except CodecError as error:
            self._counts.rejected += 1
            item = RejectedFrame(error)
        if parts.kind is TopicKind.OUTBOX and isinstance(item, Envelope):
            publisher = f"{parts.domain}/{parts.name}"
            if item.sender != publisher:
                self._counts.forged += 1
                log.warning(
                    "%s: dropped a %s on %s claiming to be from %s", self._address, item.type, topic, item.sender
                )
                return
        self._counts.received += 1
        self._incoming.put(item)

    # -- helpers ---------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Make the first connection (:meth:`MqttBus.connect` does)."""
        await self._session.start()

    def _waiting(self) -> AbstractAsyncContextManager[None]:
        """Count an exchange with the broker as outstanding while it runs (closed world only)."""
        return self._in_flight.waiting() if self._in_flight is not None else nullcontext()

    @property
    def _v5(self) -> bool:
        return self._session.version is aiomqtt.ProtocolVersion.V5

    async def _publish(self, client: aiomqtt.Client, item: Outgoing) -> bool:
        """Publish one queued item on ``client``; ``False`` when it expired before it could go."""
        v5 = self._v5
        expiry = remaining_s(item.envelope, self._clock.now()) if item.envelope is not None else None
        if expiry == 0:
            log.info("%s: dropped an expired %s before sending it", self._address, item.envelope and item.envelope.type)
            return False
        properties = self._properties(item, v5, expiry)
        flight = self._in_flight
        if flight is None:
            await client.publish(
                item.topic, item.payload, qos=1, retain=item.retain, properties=properties, timeout=math.inf
            )
            return True
        receivers = flight.receivers(item.topic)
        flight.add(1 + receivers)  # the PUBACK and every local delivery
        try:
            await client.publish(
                item.topic, item.payload, qos=1, retain=item.retain, properties=properties, timeout=math.inf
            )
        except BaseException:
            flight.done(1 + receivers)  # not sent: queued again, and counted again when it goes
            raise
        flight.done()
        return True

    def _properties(self, item: Outgoing | None, v5: bool, expiry: int | None = None) -> Properties | None:
        if not v5:
            return None
        envelope = item.envelope if item is not None else None
        response = response_topic(self._role, self._address, envelope) if envelope is not None else None
        return publish_properties(envelope, self._codec, response=response, expiry_s=expiry)

    def _presence_frame(self, state: PresenceState) -> bytes:
        now = self._clock.now()
        return encode_body(self._codec, self._address, Presence(address=self._address, state=state, since=now), now)

    async def _farewell(self, client: aiomqtt.Client) -> None:
        payload = self._presence_frame(PresenceState.OFFLINE)
        properties = self._properties(None, self._v5)
        await client.publish(presence_topic(self._address), payload, qos=1, retain=True, properties=properties)
