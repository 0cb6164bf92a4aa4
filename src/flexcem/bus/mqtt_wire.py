"""What the MQTT binding puts on the wire: topics by role, MQTT 5 properties, presence and service frames.

Pure functions over the topic scheme of :mod:`flexcem.bus.topics` and the access roles of
:mod:`flexcem.bus.access`:

* a **controller** writes an endpoint's inbox, a group's topic and the broadcast topic of the message type,
  and reads what endpoints write to it (``…/out/{me}``, and with ``acts_as`` the shared outbox of its logical
  controller), the domain's presence and its service descriptors;
* an **endpoint** writes only its outbox towards one controller and reads its inbox, the groups (the broker's
  ACL delivers only its own), the broadcasts and the service descriptors.

Presence and service descriptors travel as ordinary envelopes of the codec (bodies :class:`Presence` and
:class:`ServiceDescriptor`), retained on their topics; an empty retained payload withdraws one.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TypeVar

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from flexcem.bus.access import Role
from flexcem.bus.topics import (
    ROOT,
    broadcast_filter,
    broadcast_topic,
    group_topic,
    inbox_topic,
    outbox_filter,
    outbox_topic,
    presence_filter,
    service_filter,
)
from flexcem.codec import Codec
from flexcem.model import (
    SCHEMA_VERSION,
    AddressKind,
    Envelope,
    FlexModel,
    broadcast_address,
    endpoint_address,
    message_type_of,
    parse_address,
)

__all__ = [
    "SCHEMA_PROPERTY",
    "cache_filters",
    "decode_body",
    "encode_body",
    "group_filter",
    "message_filters",
    "publish_properties",
    "publish_topic",
    "remaining_s",
    "response_topic",
]

SCHEMA_PROPERTY = "sgcp-schema"
"""Name of the MQTT 5 user property that carries the envelope's schema version."""

M = TypeVar("M", bound=FlexModel)


def group_filter(domain: str) -> str:
    """Every group topic of ``domain`` (the broker's ACL delivers a member only its own groups)."""
    return f"{ROOT}/{domain}/grp/+"


def publish_topic(role: Role, me: str, envelope: Envelope, *, retain: bool) -> str:
    """The topic on which ``me`` (in ``role``) publishes ``envelope``; :class:`ValueError` when it may not."""
    if role is Role.OBSERVER:
        raise ValueError(f"{me} is an observer: it reads the domain and sends nothing")
    if envelope.sender != me:
        raise ValueError(f"{me} cannot send as {envelope.sender}")
    mine, target = parse_address(me), parse_address(envelope.to)
    if target.domain != mine.domain:
        raise ValueError(f"{me} sends only within domain {mine.domain!r}, not to {envelope.to}")
    if role is Role.ENDPOINT:
        if target.kind is not AddressKind.ENDPOINT:
            raise ValueError(
                f"{me} is an endpoint: it writes only its outbox to a controller of {mine.domain!r}; "
                f"sending to the {target.kind.value} address {envelope.to} is for controllers"
            )
        if retain:
            raise ValueError(f"{me} is an endpoint: retained messages are broadcasts and groups of controllers")
        return outbox_topic(me, envelope.to)
    if target.kind is AddressKind.ENDPOINT:
        if retain:
            raise ValueError(f"retain is for broadcasts and groups, not for the endpoint {envelope.to}")
        return inbox_topic(envelope.to)
    if target.kind is AddressKind.GROUP:
        return group_topic(envelope.to)
    return broadcast_topic(target.domain, envelope.type)


def message_filters(role: Role, me: str, acts_as: str | None) -> tuple[str, ...]:
    """The filters on which ``me`` receives messages (not presence nor services)."""
    domain = parse_address(me).domain
    if role is Role.OBSERVER:
        return (f"{ROOT}/{domain}/#",)
    if role is Role.ENDPOINT:
        return inbox_topic(me), group_filter(domain), broadcast_filter(domain)
    # controllers hear each other's broadcasts, and requests of the domain's other controllers in their inbox
    filters = [outbox_filter(me), inbox_topic(me), broadcast_filter(domain)]
    if acts_as:
        filters.append(outbox_filter(endpoint_address(domain, acts_as), shared_as=acts_as))
    return tuple(filters)


def cache_filters(role: Role, me: str, *, presence: bool = True) -> tuple[str, ...]:
    """The filters that keep the link's view of presence (controllers, unless ``presence`` is off) and services
    up to date."""
    domain = parse_address(me).domain
    if role is Role.OBSERVER:
        return ()  # its one filter covers presence and services too
    if role is Role.CONTROLLER and presence:
        return presence_filter(domain), service_filter(domain)
    return (service_filter(domain),)


def response_topic(role: Role, me: str, envelope: Envelope) -> str | None:
    """Where a reply to ``envelope`` arrives (MQTT 5 response topic); ``None`` for replies and multicasts."""
    if envelope.correlation_id is not None:
        return None
    answer_to, target = envelope.reply_address, parse_address(envelope.to)
    if target.kind is not AddressKind.ENDPOINT or parse_address(answer_to).domain != target.domain:
        return None
    if role is Role.ENDPOINT:
        return inbox_topic(answer_to)
    return outbox_topic(envelope.to, answer_to)


def remaining_s(envelope: Envelope, now: datetime) -> int | None:
    """Whole seconds until ``envelope`` expires (at least 1), ``0`` when it has, ``None`` when it never does."""
    if envelope.expires is None:
        return None
    left = (envelope.expires - now).total_seconds()
    return 0 if left <= 0 else max(1, math.ceil(left))


def publish_properties(
    envelope: Envelope | None, codec: Codec, *, response: str | None, expiry_s: int | None, will: bool = False
) -> Properties:
    """MQTT 5 properties: content type and schema version always; expiry, correlation, response topic by envelope."""
    properties = Properties(PacketTypes.WILLMESSAGE if will else PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    properties.ContentType = codec.content_type
    properties.UserProperty = [(SCHEMA_PROPERTY, envelope.schema_version if envelope else SCHEMA_VERSION)]
    if envelope is None:
        return properties
    if expiry_s:
        properties.MessageExpiryInterval = expiry_s
    correlation = envelope.correlation_id or (envelope.id if envelope.ack_requested else None)
    if correlation:
        properties.CorrelationData = correlation.encode()
    if response:
        properties.ResponseTopic = response
    return properties


def encode_body(codec: Codec, sender: str, body: FlexModel, now: datetime) -> bytes:
    """``body`` (a presence or a service descriptor) as a frame from ``sender`` to its domain."""
    domain = parse_address(sender).domain
    envelope = Envelope(type=message_type_of(body), sender=sender, to=broadcast_address(domain), created=now, body=body)
    return codec.encode(envelope)


def decode_body(codec: Codec, payload: bytes, kind: type[M]) -> M:
    """The body of a presence or service frame; :class:`ValueError` when it is not a ``kind``."""
    envelope = codec.decode(payload)
    if not isinstance(envelope.body, kind):
        raise ValueError(f"expected a {kind.__name__}, got a {envelope.type}")
    return envelope.body
