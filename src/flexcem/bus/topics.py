"""The SG CP topic scheme on an MQTT broker (DESIGN §3, refined).

```
sgcp/v1/{dom}/ep/{id}/in                 to one endpoint, written by the domain's controllers
sgcp/v1/{dom}/ep/{id}/out/{to}           from endpoint {id} to controller {to} (replies, reports, offers)
sgcp/v1/{dom}/grp/{gid}                  group multicast, read by the group's members
sgcp/v1/{dom}/all/{type}                 broadcast, one retained slot per message type
sgcp/v1/{dom}/presence/{id}              retained presence; the MQTT will sets it offline
sgcp/v1/{dom}/svc/{name}                 retained service descriptors
```

Two refinements of DESIGN §3, both so that the broker's access rules stay static per identity: the outbox
has one more level naming the controller a message is for, so that a controller subscribes only to what is
addressed to it (several instances of one logical controller share ``…/out/{logical}`` through
``$share/{logical}/…`` and each reads its replies on ``…/out/{instance}``); and broadcasts carry their
message type, so that the last tariff and the last traffic light are retained side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from flexcem.model import AddressKind, parse_address

__all__ = [
    "ROOT",
    "TopicKind",
    "TopicParts",
    "broadcast_filter",
    "broadcast_topic",
    "group_topic",
    "inbox_topic",
    "outbox_filter",
    "outbox_topic",
    "parse_topic",
    "presence_filter",
    "presence_topic",
    "service_filter",
    "service_topic",
]

ROOT = "sgcp/v1"
"""Prefix of every SG CP topic; the version is the major version of the message schema."""


class TopicKind(StrEnum):
    """What a topic carries."""

    INBOX = "in"
    OUTBOX = "out"
    GROUP = "grp"
    BROADCAST = "all"
    PRESENCE = "presence"
    SERVICE = "svc"


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A topic split up: its kind, domain, the endpoint/group/service name and, for outboxes, the recipient."""

    kind: TopicKind
    domain: str
    name: str
    recipient: str | None = None


def _endpoint(address: str) -> tuple[str, str]:
    parsed = parse_address(address)
    if parsed.kind is not AddressKind.ENDPOINT:
        raise ValueError(f"{address!r} is not an endpoint address")
    return parsed.domain, parsed.name


def inbox_topic(address: str) -> str:
    """Where controllers write to endpoint ``address``."""
    domain, name = _endpoint(address)
    return f"{ROOT}/{domain}/ep/{name}/in"


def outbox_topic(sender: str, recipient: str) -> str:
    """Where endpoint ``sender`` writes a message for the controller ``recipient`` of its domain."""
    domain, name = _endpoint(sender)
    recipient_domain, recipient_name = _endpoint(recipient)
    if recipient_domain != domain:
        raise ValueError(f"{sender} can write only to controllers of its own domain, not to {recipient}")
    return f"{ROOT}/{domain}/ep/{name}/out/{recipient_name}"


def outbox_filter(controller: str, shared_as: str | None = None) -> str:
    """What controller ``controller`` subscribes to for the messages addressed to it.

    With ``shared_as`` the subscription is the shared ``$share/{shared_as}/…`` one of a logical controller
    whose instances split the load.
    """
    domain, name = _endpoint(controller)
    topic = f"{ROOT}/{domain}/ep/+/out/{name}"
    return f"$share/{shared_as}/{topic}" if shared_as else topic


def group_topic(group: str) -> str:
    """The topic of group address ``group``."""
    parsed = parse_address(group)
    if parsed.kind is not AddressKind.GROUP:
        raise ValueError(f"{group!r} is not a group address")
    return f"{ROOT}/{parsed.domain}/grp/{parsed.name}"


def broadcast_topic(domain: str, message_type: str) -> str:
    """The broadcast topic of ``message_type`` in ``domain``."""
    return f"{ROOT}/{domain}/all/{message_type}"


def broadcast_filter(domain: str) -> str:
    """Every broadcast of ``domain``."""
    return f"{ROOT}/{domain}/all/+"


def presence_topic(address: str) -> str:
    """The retained presence of endpoint ``address``."""
    domain, name = _endpoint(address)
    return f"{ROOT}/{domain}/presence/{name}"


def presence_filter(domain: str) -> str:
    """Every presence of ``domain``."""
    return f"{ROOT}/{domain}/presence/+"


def service_topic(domain: str, name: str) -> str:
    """The retained descriptor of service ``name`` in ``domain``."""
    return f"{ROOT}/{domain}/svc/{name}"


def service_filter(domain: str) -> str:
    """Every service descriptor of ``domain``."""
    return f"{ROOT}/{domain}/svc/+"


def parse_topic(topic: str) -> TopicParts:
    """Split an SG CP topic; :class:`ValueError` for anything else (including a ``$share/…`` filter)."""
    parts = topic.split("/")
    if len(parts) < 5 or "/".join(parts[:2]) != ROOT:
        raise ValueError(f"{topic!r} is not an SG CP topic")
    domain, area = parts[2], parts[3]
    if area == "ep" and len(parts) == 6 and parts[5] == "in":
        return TopicParts(TopicKind.INBOX, domain, parts[4])
    if area == "ep" and len(parts) == 7 and parts[5] == "out":
        return TopicParts(TopicKind.OUTBOX, domain, parts[4], parts[6])
    if len(parts) == 5 and area in {"grp", "all", "presence", "svc"}:
        return TopicParts(TopicKind(area), domain, parts[4])
    raise ValueError(f"{topic!r} is not an SG CP topic")
