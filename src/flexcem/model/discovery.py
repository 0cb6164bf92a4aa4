"""Presence and service discovery on the SG CP (TR §3.3: "information about network availability (presence)
is required"; "the protocol shall support service discovery").

Every endpoint announces a retained :class:`Presence` when it connects; its last will says it went offline.
A service (a tariff program, a CEM's device registry, a grid operator's event service) announces a retained
:class:`ServiceDescriptor` saying where it is reached and which message types it takes.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from flexcem.model.address import Address
from flexcem.model.base import FlexModel, Identifier, Instant

__all__ = ["Presence", "PresenceState", "ServiceDescriptor"]


class PresenceState(StrEnum):
    """Whether an endpoint is connected."""

    ONLINE = "online"
    OFFLINE = "offline"


class Presence(FlexModel):
    """An endpoint's presence, retained on its presence topic."""

    address: Address = Field(description="The endpoint the presence is about.")
    state: PresenceState = Field(description="Online on connect; offline by a clean close or the last will.")
    since: Instant = Field(description="When the endpoint connected (online) or announced its will (offline).")


class ServiceDescriptor(FlexModel):
    """A retained description of a service: its name, where to reach it and what it understands."""

    name: Identifier = Field(description="Name of the service, unique in its domain, e.g. 'tariff'.")
    address: Address = Field(description="Endpoint that provides the service.")
    message_types: tuple[str, ...] = Field(default=(), description="Message types the service accepts.")
    schema_version: str = Field(default="1.0", pattern=r"^[0-9]+\.[0-9]+$", description="Message schema it speaks.")
    description: str | None = Field(default=None, max_length=256, description="What the service does.")
