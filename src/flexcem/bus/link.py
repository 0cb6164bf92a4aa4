"""The transport under an endpoint: a :class:`Link` moves envelopes to and from one bus connection.

Bindings (in-process, MQTT) implement only this; acknowledgement, correlation, retry and de-duplication
live once in :class:`flexcem.bus.endpoint.Endpoint` above any binding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flexcem.codec import CodecError, MessageHeader, UnsupportedMessage
from flexcem.model import Envelope

__all__ = ["Incoming", "Link", "RejectedFrame"]


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
