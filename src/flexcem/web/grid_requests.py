"""What an operator sends to the grid API: pydantic models whose errors name the field (``body.window.end``).

Times are timezone-aware ISO 8601 instants (a time without an offset is refused); powers in W, durations in
seconds. Checks that need the server's state (unknown target, a deadline in the past) are the server's.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from flexcem.model import (
    AdjustmentAction,
    AlertLevel,
    BindingLevel,
    GridState,
    Identifier,
    ManagedQuantity,
    PriceSlot,
    TariffKind,
    Urgency,
)
from flexcem.web.auth import Role

__all__ = [
    "AreaIn",
    "CustomerIn",
    "EmergencyIn",
    "EndIn",
    "EndpointIn",
    "GroupIn",
    "LoadManagementIn",
    "MembersIn",
    "MeterIn",
    "ReadingIn",
    "ReadingsIn",
    "TariffIn",
    "TokenIn",
    "TrafficLightIn",
    "Window",
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Window(_In):
    """``[start, end)``; ``end`` after ``start``."""

    start: AwareDatetime
    end: AwareDatetime

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end {end.isoformat()} is not after start {start.isoformat()}")
        return end


class TariffIn(_In):
    """A price profile to publish; a ``profile_id`` published before is corrected (next revision)."""

    slots: list[PriceSlot] = Field(min_length=1, max_length=2000, description="Contiguous price slots.")
    target: str | None = Field(default=None, description="Endpoint, group, area id; none: everyone.")
    profile_id: Identifier | None = None
    tariff_name: str | None = Field(default=None, max_length=128)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    binding: BindingLevel = BindingLevel.BINDING
    kind: TariffKind = TariffKind.DAY_AHEAD


class TrafficLightIn(_In):
    """The traffic-light state of an area."""

    area: Identifier
    state: GridState
    valid_until: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=256)


class LoadManagementIn(_In):
    """A load-management event: change ``quantity`` by ``amount_w`` [W] or ``amount_percent`` in the window."""

    target: str = Field(description="Endpoint address, group address, area id or {domain}/all.")
    action: AdjustmentAction
    quantity: ManagedQuantity = ManagedQuantity.LOAD
    amount_w: float | None = Field(default=None, ge=0.0, description="Absolute change or ceiling [W].")
    amount_percent: float | None = Field(default=None, ge=0.0, le=100.0)
    window: Window
    response_deadline: AwareDatetime
    urgency: Urgency = Urgency.NORMAL
    value_per_kwh: float | None = Field(default=None, ge=0.0)
    reason: str | None = Field(default=None, max_length=256)
    event_id: Identifier | None = None

    @field_validator("amount_w", "amount_percent")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class EmergencyIn(_In):
    """An emergency for a target, now (or from ``start``), for ``duration_s`` seconds or until ended."""

    target: str
    level: AlertLevel = AlertLevel.NORMAL
    start: AwareDatetime | None = None
    duration_s: float | None = Field(default=None, gt=0.0, le=7 * 86400.0)
    reason: str | None = Field(default=None, max_length=256)
    confirm: bool = True
    emergency_id: Identifier | None = None

    @property
    def duration(self) -> timedelta | None:
        """The duration as a timedelta."""
        return None if self.duration_s is None else timedelta(seconds=self.duration_s)


class EndIn(_In):
    """Why an event ends."""

    reason: str | None = Field(default=None, max_length=256)


class CustomerIn(_In):
    """A customer."""

    id: Identifier
    name: str | None = Field(default=None, max_length=200)


class EndpointIn(_In):
    """A CEM endpoint (id or ``{domain}/{id}``) of a stored customer."""

    address: str = Field(min_length=1, max_length=160)
    customer_id: Identifier


class GroupIn(_In):
    """A group (id or ``{domain}/grp/{gid}``) and members to add."""

    address: str = Field(min_length=1, max_length=160)
    members: list[str] = Field(default_factory=list, max_length=100_000)


class MembersIn(_In):
    """Members to add to a group."""

    members: list[str] = Field(min_length=1, max_length=100_000)


class AreaIn(_In):
    """A grid area: an existing ``group``, or a new group ``area-{id}`` of ``members``."""

    id: Identifier
    group: str | None = None
    members: list[str] = Field(default_factory=list)


class MeterIn(_In):
    """A meter of a site."""

    meter_id: Identifier
    endpoint: str | None = None


class ReadingIn(_In):
    """A reading: power [W] (+ import, − export) and the registers [Wh]."""

    meter_id: Identifier
    at: AwareDatetime
    power_w: float
    import_wh: float = Field(ge=0.0)
    export_wh: float = Field(default=0.0, ge=0.0)

    @field_validator("power_w", "import_wh", "export_wh")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class ReadingsIn(_In):
    """A batch of readings, stored all or none."""

    readings: list[ReadingIn] = Field(min_length=1, max_length=100_000)


class TokenIn(_In):
    """A token to issue."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: Role
