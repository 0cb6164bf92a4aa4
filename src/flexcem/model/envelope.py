"""The message envelope of the SG CP and the application-level acknowledgement (TR §3.3, DESIGN §3).

Every exchange travels in an :class:`Envelope`: id, type, sender ("from"), recipient ("to": an endpoint, a
group or everyone), creation time, optional expiry, correlation id and reply address, and the body. A
message that asks for an acknowledgement (``ack_requested``) is answered with :class:`Ack`, :class:`Nack`
(refused, with the reason and the offending field) or a typed reply; an unknown type is answered with
:class:`Unsupported` rather than silence.

Bodies are looked up by ``type`` in a registry (:func:`message_types`); later capabilities add their
messages with :func:`register_message`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, SerializeAsAny, model_validator

from flexcem.model.address import Address
from flexcem.model.base import FlexModel, Instant, MessageId, new_id

__all__ = [
    "SCHEMA_VERSION",
    "Ack",
    "Envelope",
    "Nack",
    "UnknownMessageType",
    "Unsupported",
    "message_class",
    "message_type_of",
    "message_types",
    "register_message",
]

SCHEMA_VERSION = "1.0"
"""Version of the message schema; travels with every envelope."""


class Ack(FlexModel):
    """Application-level acknowledgement: the message ``ref`` was received and accepted."""

    ref: MessageId = Field(description="Id of the acknowledged message.")


class Nack(FlexModel):
    """Negative acknowledgement: the message ``ref`` was refused."""

    ref: MessageId = Field(description="Id of the refused message.")
    reason: str = Field(min_length=1, max_length=1024, description="Why it was refused.")
    field: str | None = Field(default=None, max_length=256, description="The offending field, when one.")


class Unsupported(FlexModel):
    """Reply to a message whose type the receiver does not know."""

    ref: MessageId = Field(description="Id of the message that was not understood.")
    message_type: str = Field(max_length=128, description="The type that is not supported.")


_REGISTRY: dict[str, type[FlexModel]] = {}
_NAMES: dict[type[FlexModel], str] = {}
"""The type name of each registered class (the first name it was registered under)."""


class UnknownMessageType(LookupError):
    """A message type that is not in the registry."""

    def __init__(self, message_type: str) -> None:
        super().__init__(f"unknown message type {message_type!r}")
        self.message_type = message_type


def register_message(cls: type[FlexModel], name: str | None = None) -> type[FlexModel]:
    """Make ``cls`` a message body under ``name`` (its class name by default)."""
    key = name or cls.__name__
    existing = _REGISTRY.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(f"message type {key!r} is already registered for {existing.__qualname__}")
    _REGISTRY[key] = cls
    _NAMES.setdefault(cls, key)
    return cls


def message_types() -> dict[str, type[FlexModel]]:
    """All registered message types by name."""
    return dict(_REGISTRY)


def message_class(message_type: str) -> type[FlexModel]:
    """The body class of ``message_type``; :class:`UnknownMessageType` when unknown."""
    try:
        return _REGISTRY[message_type]
    except KeyError:
        raise UnknownMessageType(message_type) from None


def message_type_of(body: FlexModel) -> str:
    """The registered type name of a body."""
    try:
        return _NAMES[type(body)]
    except KeyError:
        raise UnknownMessageType(type(body).__name__) from None


class Envelope(FlexModel):
    """One message on the SG CP."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: MessageId = Field(default_factory=new_id, description="Unique id; receivers de-duplicate by it.")
    type: str = Field(min_length=1, max_length=128, description="Registered type of the body.")
    sender: Address = Field(alias="from", description="Endpoint address of the sender.")
    to: Address = Field(description="Endpoint, group or broadcast address of the recipient.")
    created: Instant = Field(description="When the sender created the message.")
    expires: Instant | None = Field(default=None, description="After this instant the message is void.")
    correlation_id: MessageId | None = Field(default=None, description="Id of the message this one answers.")
    reply_to: Address | None = Field(default=None, description="Where replies go, when not to the sender.")
    ack_requested: bool = Field(default=False, description="Whether the sender waits for an acknowledgement.")
    schema_version: str = Field(default=SCHEMA_VERSION, pattern=r"^[0-9]+\.[0-9]+$")
    body: SerializeAsAny[FlexModel]

    @model_validator(mode="before")
    @classmethod
    def _typed_body(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        body = data.get("body")
        message_type = data.get("type")
        if isinstance(body, FlexModel):
            actual = message_type_of(body)
            if message_type is None:
                return {**data, "type": actual}
            if message_type != actual:
                raise ValueError(f"type {message_type!r} does not match the body, a {actual}")
            return data
        if isinstance(message_type, str) and isinstance(body, dict):
            return {**data, "body": message_class(message_type).model_validate(body)}
        return data

    @model_validator(mode="after")
    def _times(self) -> Envelope:
        if self.expires is not None and self.expires <= self.created:
            raise ValueError("expires must be after created")
        if not isinstance(self.body, message_class(self.type)):
            raise ValueError(f"body is not a {self.type}")
        return self

    def expired(self, now: datetime) -> bool:
        """Whether the message has expired at ``now``."""
        return self.expires is not None and now >= self.expires

    @property
    def reply_address(self) -> str:
        """Where a reply to this message goes."""
        return self.reply_to or self.sender


for _cls in (Ack, Nack, Unsupported):
    register_message(_cls)
