"""The SG CP transport (TR §3.3): endpoints over an in-process bus (MQTT binding to come in its own module)."""

from flexcem.bus.endpoint import Endpoint, EndpointStatistics, Handler
from flexcem.bus.errors import (
    BusError,
    DeliveryTimeout,
    LinkClosed,
    MessageRefused,
    PeerUnsupported,
    UnexpectedReply,
)
from flexcem.bus.link import Incoming, Link, RejectedFrame
from flexcem.bus.memory import BusStatistics, MemoryBus, MemoryLink

__all__ = [
    "BusError",
    "BusStatistics",
    "DeliveryTimeout",
    "Endpoint",
    "EndpointStatistics",
    "Handler",
    "Incoming",
    "Link",
    "LinkClosed",
    "MemoryBus",
    "MemoryLink",
    "MessageRefused",
    "PeerUnsupported",
    "RejectedFrame",
    "UnexpectedReply",
]
