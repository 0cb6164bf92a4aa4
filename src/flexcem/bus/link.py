"""The transport under an endpoint: a :class:`Link` moves envelopes to and from one bus connection.

Bindings (in-process, MQTT) implement only this; acknowledgement, correlation, retry and de-duplication
live once in :class:`flexcem.bus.endpoint.Endpoint` above any binding.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from flexcem.bus.errors import LinkClosed
from flexcem.codec import CodecError, MessageHeader, UnsupportedMessage
from flexcem.model import Envelope

__all__ = ["Incoming", "IncomingQueue", "Link", "RejectedFrame"]


@dataclass(frozen=True)
class RejectedFrame:
    """A frame that arrived but could not be decoded into an envelope.

    The codec's error carries what could be read of the envelope header (id, sender, reply address) so that
    the receiver can still answer with a Nack naming the field, or with Unsupported for an unknown type.
    """

    error: CodecError

    @property
    def header(self) -> MessageHeader:
        """The header as far as it could be read."""
        return self.error.header or MessageHeader()

    @property
    def unsupported_type(self) -> str | None:
        """The unknown message type, when that is why the frame was refused."""
        return self.error.message_type if isinstance(self.error, UnsupportedMessage) else None


Incoming = Envelope | RejectedFrame


class Link(Protocol):
    """One endpoint's connection to the bus."""

    @property
    def address(self) -> str:
        """The endpoint address this link speaks for."""
        ...

    async def send(self, envelope: Envelope, *, retain: bool = False) -> None:
        """Hand ``envelope`` to the bus, which routes it by ``envelope.to``."""
        ...

    async def receive(self) -> Incoming:
        """The next message for this endpoint; :class:`~flexcem.bus.errors.LinkClosed` once closed."""
        ...

    async def close(self) -> None:
        """Leave the bus. Messages for the endpoint are queued until it reconnects."""
        ...


class IncomingQueue:
    """What has arrived for one link and waits to be received, in order; one receiver at a time."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._items: deque[Incoming] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def put(self, item: Incoming) -> None:
        """Add an arrival and wake the receiver."""
        self._items.append(item)
        self._wake()

    def take_all(self) -> list[Incoming]:
        """Remove and return everything waiting."""
        items = list(self._items)
        self._items.clear()
        return items

    def close(self) -> None:
        """No more arrivals: a waiting receiver gets :class:`LinkClosed` once the queue is empty."""
        self._closed = True
        self._wake()

    async def get(self) -> Incoming:
        """The next arrival; :class:`LinkClosed` when closed and empty."""
        while not self._items:
            if self._closed:
                raise LinkClosed(f"{self._owner} is closed")
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
