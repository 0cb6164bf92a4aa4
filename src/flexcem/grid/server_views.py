"""What the grid server shows: pydantic views of the registry, presence, signals with their answers, messages
and telemetry, and a page of them. The HTTP API serves these models as they are (their JSON schema is the
OpenAPI document's). Times are timezone-aware UTC instants; powers in W, energies in Wh.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

__all__ = [
    "AnswerView",
    "AreaView",
    "CustomerView",
    "EndpointView",
    "GroupView",
    "LoadPoint",
    "LoadView",
    "MessageView",
    "MeterView",
    "Page",
    "PresenceView",
    "ReadingView",
    "SignalView",
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing: ``items``, and ``next`` — the link to the following page (``None`` at the end)."""

    items: list[T]
    limit: int = Field(description="Most items per page.")
    offset: int = Field(description="Items skipped before this page.")
    next: str | None = Field(default=None, description="URL of the next page; none when this is the last.")


class CustomerView(BaseModel):
    """A customer (contract holder)."""

    id: str
    name: str | None = None
    created_at: datetime


class EndpointView(BaseModel):
    """A CEM endpoint ``{domain}/{id}``, its customer, groups and last known presence."""

    address: str
    customer_id: str
    created_at: datetime
    groups: list[str] = Field(default_factory=list)
    online: bool | None = Field(default=None, description="Last known presence; none: never seen.")
    since: datetime | None = None


class GroupView(BaseModel):
    """A multicast group and its members."""

    address: str
    members: list[str]
    area: str | None = Field(default=None, description="The grid area whose customers the group is.")


class AreaView(BaseModel):
    """A grid area, its group, members and traffic-light state now."""

    id: str
    group: str
    members: list[str]
    state: str = Field(description="Traffic light now: green, yellow or red.")


class PresenceView(BaseModel):
    """An endpoint online or not, since when."""

    address: str
    online: bool
    since: datetime


class AnswerView(BaseModel):
    """An answer to a signal: a response (on time or late), an unsolicited one, or a refusal."""

    responder: str
    at: datetime
    kind: str
    category: str = Field(description="response, unsolicited or refusal.")
    status: str = Field(description="on-time, late or refused.")
    revision: int
    reason: str | None = None
    field: str | None = None
    body: dict[str, Any] | None = None


class SignalView(BaseModel):
    """A signal (event) of a program: its current body, target, state and what came back."""

    program: str
    signal_id: str
    kind: str
    recipient: str
    area: str | None
    sent_at: datetime
    updated_at: datetime
    revision: int
    status: str = Field(description="sent (no answers awaited), open (a deadline to come), closed.")
    active: bool = Field(description="In force now (window, duration, current light, tariff period).")
    expected: list[str]
    deadlines: dict[str, datetime]
    missing: dict[str, list[str]]
    acknowledged: list[str]
    undelivered: list[str]
    sent: int = Field(description="Messages sent for this signal (revisions, ends).")
    body: dict[str, Any]
    answers: list[AnswerView] = Field(default_factory=list)


class MessageView(BaseModel):
    """A stored message sent or received."""

    id: int
    category: str
    kind: str
    sender: str
    recipient: str
    at: datetime
    status: str
    program: str | None = None
    signal_id: str | None = None
    body: dict[str, Any] | None = None


class MeterView(BaseModel):
    """A meter and the endpoint whose site it meters."""

    meter_id: str
    endpoint: str | None = None


class ReadingView(BaseModel):
    """A reading: power [W] (+ import, − export) and the registers [Wh]."""

    meter_id: str
    at: datetime
    power_w: float
    import_wh: float
    export_wh: float


class LoadPoint(BaseModel):
    """Aggregated load in one interval: the sum of the meters' average power [W]."""

    at: datetime
    power_w: float
    meters: int = Field(description="Meters with readings in the interval.")


class LoadView(BaseModel):
    """Aggregated load of the meters of a target (everyone, an area, a group or an endpoint)."""

    target: str
    meters: list[str]
    latest_power_w: float | None = Field(default=None, description="Sum of each meter's newest power [W].")
    points: list[LoadPoint] = Field(default_factory=list)
