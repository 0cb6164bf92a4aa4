"""The SG CP transport (TR §3.3): endpoints over the in-process bus or an MQTT broker.

The MQTT binding, the PKI and the broker configuration live in :mod:`flexcem.bus.mqtt`,
:mod:`flexcem.bus.pki` and :mod:`flexcem.bus.broker_config`; import them from there.
"""

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
