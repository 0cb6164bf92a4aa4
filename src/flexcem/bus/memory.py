"""The in-process bus: the embedded default for one machine and for simulation.

It routes envelopes by their ``to`` address — one endpoint, a group (membership kept by the operator, as
the grid registry will) or everyone in a domain — with the semantics the MQTT binding has on a broker:
messages for an endpoint that is offline are queued for it (a persistent session), broadcasts may be
retained so that a late joiner receives the last value, and an optional codec puts every message through
its wire encoding so that what the components exchange is exactly what would cross the network.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from flexcem.bus.errors import LinkClosed
from flexcem.bus.link import Incoming, IncomingQueue, RejectedFrame
from flexcem.codec import Codec, CodecError
from flexcem.model import AddressKind, Envelope, parse_address

__all__ = ["BusStatistics", "MemoryBus", "MemoryLink"]

log = logging.getLogger("flexcem.bus.memory")


@dataclass
class BusStatistics:
    """Counters of the bus since it was made."""

    sent: int = 0
    delivered: int = 0
    undeliverable: int = 0
    bytes_on_wire: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class MemoryLink:
    """An endpoint's connection to a :class:`MemoryBus`."""

    def __init__(self, bus: MemoryBus, address: str) -> None:
        self._bus = bus
        self._address = address
        self._queue = IncomingQueue(address)

    @property
    def address(self) -> str:
        """The endpoint address of this link."""
        return self._address

    @property
    def closed(self) -> bool:
        """Whether the link has been closed."""
        return self._queue.closed

    async def send(self, envelope: Envelope, *, retain: bool = False) -> None:
        """Route ``envelope``; refused when the link is closed or the sender is not this endpoint."""
        if self._queue.closed:
            raise LinkClosed(f"{self._address} is not connected")
        if envelope.sender != self._address:
            raise ValueError(f"{self._address} cannot send as {envelope.sender}")
        self._bus._route(envelope, retain=retain)

    async def receive(self) -> Incoming:
        """Wait for the next incoming message."""
        return await self._queue.get()

    async def close(self) -> None:
        """Disconnect; later messages are kept for a reconnect."""
        self._queue.close()
        self._bus._disconnected(self)

    def _put(self, item: Incoming) -> None:
        self._queue.put(item)


class MemoryBus:
    """An in-process bus with endpoint, group and broadcast addressing.

    ``codec`` (optional) encodes every message to bytes and decodes it at each recipient;
    ``latency_s`` delays every delivery by that many seconds of the running loop's (possibly simulated) time;
    ``queue_limit`` bounds what is kept for an offline endpoint (oldest dropped first).
    """

    def __init__(self, codec: Codec | None = None, latency_s: float = 0.0, queue_limit: int = 10_000) -> None:
        self._codec = codec
        self._latency_s = latency_s
        self._queue_limit = queue_limit
        self._links: dict[str, MemoryLink] = {}
        self._offline: dict[str, deque[Incoming]] = {}
        self._groups: dict[str, set[str]] = {}
        self._retained: dict[tuple[str, str], Envelope] = {}
        self._observers: list[Callable[[Envelope], None]] = []
        self.statistics = BusStatistics()

    def observe(self, observer: Callable[[Envelope], None]) -> None:
        """Call ``observer`` with every envelope the bus routes (a wiretap for timelines and tests)."""
        self._observers.append(observer)

    async def connect(self, address: str) -> MemoryLink:
        """Connect endpoint ``address``; queued and retained messages for it are delivered first."""
        parsed = parse_address(address)
        if parsed.kind is not AddressKind.ENDPOINT:
            raise ValueError(f"{address!r} is not an endpoint address")
        current = self._links.get(address)
        if current is not None and not current.closed:
            raise ValueError(f"{address} is already connected")
        link = MemoryLink(self, address)
        self._links[address] = link
        for item in self._offline.pop(address, deque()):
            link._put(item)
        for (target, _), envelope in self._retained.items():
            if self._reaches(target, address) and envelope.sender != address:
                link._put(self._through_wire(envelope, self._encode(envelope)))
        return link

    def join(self, group: str, member: str) -> None:
        """Add endpoint ``member`` to ``group`` (a group address)."""
        if parse_address(group).kind is not AddressKind.GROUP:
            raise ValueError(f"{group!r} is not a group address")
        if parse_address(member).kind is not AddressKind.ENDPOINT:
            raise ValueError(f"{member!r} is not an endpoint address")
        self._groups.setdefault(group, set()).add(member)

    def leave(self, group: str, member: str) -> None:
        """Remove ``member`` from ``group``."""
        self._groups.get(group, set()).discard(member)

    def members(self, group: str) -> frozenset[str]:
        """The endpoints in ``group``."""
        return frozenset(self._groups.get(group, set()))

    def is_online(self, address: str) -> bool:
        """Whether endpoint ``address`` is connected."""
        link = self._links.get(address)
        return link is not None and not link.closed

    def deliver_frame(self, address: str, frame: bytes) -> None:
        """Hand raw bytes to endpoint ``address`` as if they had arrived from the network (needs a codec).

        What the codec cannot decode reaches the endpoint as a :class:`RejectedFrame`, which it answers.
        """
        if self._codec is None:
            raise ValueError("deliver_frame needs a bus with a codec")
        self.statistics.bytes_on_wire += len(frame)
        self._deliver(address, self._decode(frame))

    def _decode(self, frame: bytes) -> Incoming:
        assert self._codec is not None
        try:
            return self._codec.decode(frame)
        except CodecError as error:
            return RejectedFrame(error)

    def _reaches(self, target: str, address: str) -> bool:
        parsed = parse_address(target)
        if parsed.kind is AddressKind.ENDPOINT:
            return target == address
        if parsed.kind is AddressKind.GROUP:
            return address in self._groups.get(target, set())
        return parse_address(address).domain == parsed.domain

    def _recipients(self, envelope: Envelope) -> list[str]:
        parsed = parse_address(envelope.to)
        if parsed.kind is AddressKind.ENDPOINT:
            return [envelope.to]
        if parsed.kind is AddressKind.GROUP:
            return sorted(self._groups.get(envelope.to, set()) - {envelope.sender})
        return sorted(
            address
            for address in set(self._links) | set(self._offline)
            if parse_address(address).domain == parsed.domain and address != envelope.sender
        )

    def _route(self, envelope: Envelope, *, retain: bool) -> None:
        self.statistics.sent += 1
        self.statistics.by_type[envelope.type] = self.statistics.by_type.get(envelope.type, 0) + 1
        if retain:
            self._retained[(envelope.to, envelope.type)] = envelope
        for observer in self._observers:
            observer(envelope)
        recipients = self._recipients(envelope)
        if not recipients:
            self.statistics.undeliverable += 1
            log.debug("no recipient for %s to %s", envelope.type, envelope.to)
        frame = self._encode(envelope)
        for address in recipients:
            item = self._through_wire(envelope, frame)
            if self._latency_s > 0:
                asyncio.get_running_loop().call_later(self._latency_s, self._deliver, address, item)
            else:
                self._deliver(address, item)

    def _encode(self, envelope: Envelope) -> bytes | None:
        return None if self._codec is None else self._codec.encode(envelope)

    def _through_wire(self, envelope: Envelope, frame: bytes | None) -> Incoming:
        if self._codec is None or frame is None:
            return envelope
        self.statistics.bytes_on_wire += len(frame)
        return self._decode(frame)

    def _deliver(self, address: str, item: Incoming) -> None:
        link = self._links.get(address)
        if link is not None and not link.closed:
            self.statistics.delivered += 1
            link._put(item)
            return
        if link is None and address not in self._offline:
            self.statistics.undeliverable += 1
            log.debug("dropping a message for %s, which never connected", address)
            return
        queue = self._offline.setdefault(address, deque(maxlen=self._queue_limit))
        queue.append(item)

    def _disconnected(self, link: MemoryLink) -> None:
        if self._links.get(link.address) is link:
            pending = self._offline.setdefault(link.address, deque(maxlen=self._queue_limit))
            pending.extend(link._queue.take_all())
