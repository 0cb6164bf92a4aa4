"""The codec's error family and the message header it reports with errors.

Every problem with a message is a :class:`CodecError` (a :class:`ValueError`) with ``field`` — the dotted
path of the offending field such as ``body.FlexibleStartOffer.latest_end`` or
``body.FlexibleStartOffer.profile.alternatives.0.slots.2.duration`` (list items by index, the body by its
type), or ``None`` when the problem is not one field's — and ``reason``, the problem in words. ``str(error)``
is ``"{field}: {reason}"``.

* :class:`MessageTooLarge` — over the size limit, refused before parsing;
* :class:`MalformedMessage` — not well-formed XML or JSON, a DOCTYPE, too deeply nested, not UTF-8;
* :class:`InvalidMessage` — well-formed but not a valid envelope (XSD or model validation, wrong major
  version, a body that does not fit its type);
* :class:`UnsupportedMessage` — a valid header whose ``type`` this receiver does not know. It carries the
  parsed :class:`MessageHeader` so that the bus can answer with an ``Unsupported`` message.

Errors raised once the header could be read carry it in ``header`` (best effort, as received) so that the
bus can answer with a ``Nack`` referring to the message id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CodecError",
    "InvalidMessage",
    "MalformedMessage",
    "MessageHeader",
    "MessageTooLarge",
    "UnsupportedMessage",
]


@dataclass(frozen=True, slots=True)
class MessageHeader:
    """Header fields of a received message, as strings, before (or without) full validation.

    ``sender`` is the wire field ``from``. In an :class:`UnsupportedMessage` the header has been validated:
    ``id``, ``type``, ``sender`` and ``to`` are present and well-formed, and so are ``reply_to`` and
    ``correlation_id`` when given. Elsewhere any field may be ``None`` or malformed.
    """

    id: str | None = None
    type: str | None = None
    sender: str | None = None
    to: str | None = None
    reply_to: str | None = None
    correlation_id: str | None = None
    schema_version: str | None = None

    @property
    def reply_address(self) -> str | None:
        """Where a reply goes: ``reply_to`` when given, else the sender."""
        return self.reply_to or self.sender


class CodecError(ValueError):
    """A message could not be encoded or decoded; ``field`` names the offending field when there is one."""

    def __init__(self, reason: str, *, field: str | None = None, header: MessageHeader | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field
        self.header = header

    def with_header(self, header: MessageHeader) -> CodecError:
        """Attach the message header (when not set yet) and return ``self``."""
        if self.header is None:
            self.header = header
        return self


class MessageTooLarge(CodecError):
    """The message exceeds the size limit; it was not parsed."""


class MalformedMessage(CodecError):
    """The message is not well-formed (syntax, encoding, DOCTYPE, nesting depth)."""


class InvalidMessage(CodecError):
    """The message is well-formed but is not a valid envelope of this schema version."""


class UnsupportedMessage(CodecError):
    """The message's ``type`` is unknown to this receiver; ``header`` is the validated header."""

    def __init__(self, header: MessageHeader) -> None:
        super().__init__(f"message type {header.type!r} is not supported", field="type", header=header)
        self.header: MessageHeader = header

    @property
    def message_type(self) -> str:
        """The type that is not supported."""
        return self.header.type or ""
