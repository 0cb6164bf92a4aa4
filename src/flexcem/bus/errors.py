"""Errors of the bus: what a sender learns about a message it could not get through."""

from __future__ import annotations

__all__ = [
    "BusError",
    "DeliveryTimeout",
    "LinkClosed",
    "MessageRefused",
    "PeerUnsupported",
    "UnexpectedReply",
]


class BusError(Exception):
    """Base of every bus error."""


class LinkClosed(BusError):
    """The link to the bus is closed."""


class DeliveryTimeout(BusError):
    """No acknowledgement arrived within the timeout, after every retry."""

    def __init__(self, message_type: str, to: str, attempts: int, timeout_s: float) -> None:
        super().__init__(
            f"{message_type} to {to}: no acknowledgement after {attempts} attempt(s) of {timeout_s:g} s each"
        )
        self.message_type = message_type
        self.to = to
        self.attempts = attempts


class MessageRefused(BusError):
    """A message was refused: raised by a handler to answer with a Nack, and raised to the sender on one."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason if field is None else f"{field}: {reason}")
        self.reason = reason
        self.field = field


class PeerUnsupported(BusError):
    """The recipient does not support the message type."""

    def __init__(self, message_type: str, to: str) -> None:
        super().__init__(f"{to} does not support {message_type}")
        self.message_type = message_type
        self.to = to


class UnexpectedReply(BusError):
    """The reply is of another type than the one the sender expected."""
