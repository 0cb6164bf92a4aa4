"""The timeline of a scenario: grid signals sent at given times (``[[timeline]]`` entries, tagged by ``kind``).

Times without an offset are local times of the site (see :data:`flexcem.sim.scenario.SITE_TIMEZONE`). Every
signal reaches every home's CEM through the real grid program that sends it, and makes the CEMs re-plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flexcem.model import AdjustmentAction, AlertLevel, GridState

if TYPE_CHECKING:
    from flexcem.sim.scenario import PeriodSpec

__all__ = [
    "EmergencyEvent",
    "EnergySavingEvent",
    "ExportReductionEvent",
    "LoadManagementEvent",
    "SignalEvent",
    "TariffCorrectionEvent",
    "TrafficLightEvent",
]

_ZONE = ZoneInfo("America/Chicago")


def _local(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=_ZONE)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    at: datetime = Field(description="When the grid sends the signal.")

    @field_validator("at")
    @classmethod
    def _at(cls, value: datetime) -> datetime:
        return _local(value)

    def at_time(self, period: PeriodSpec) -> datetime:
        """The sending instant (timezone-aware)."""
        return self.at

    def window(self) -> tuple[datetime, datetime] | None:
        """The time window the signal asks something for, or ``None``."""
        return None


class _Windowed(_Event):
    start: datetime = Field(description="Beginning of the signal's window.")
    end: datetime = Field(description="End of the signal's window.")

    @field_validator("start", "end")
    @classmethod
    def _zone(cls, value: datetime) -> datetime:
        return _local(value)

    @model_validator(mode="after")
    def _order(self) -> _Windowed:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        if self.start < self.at:
            raise ValueError(f"start {self.start.isoformat()} is before at {self.at.isoformat()}")
        return self

    def window(self) -> tuple[datetime, datetime] | None:
        """``[start, end)``."""
        return self.start, self.end


class TariffCorrectionEvent(_Windowed):
    """The retailer corrects its tariff in ``[start, end)``: the data's prices times ``factor`` (JWG1103)."""

    kind: Literal["tariff_correction"]
    factor: float = Field(gt=0.0, le=100.0, description="Price multiplier in the window.")


class TrafficLightEvent(_Event):
    """The DSO sets the traffic light of the area (JWG211x), until ``until`` (or the next change)."""

    kind: Literal["traffic_light"]
    state: GridState
    until: datetime | None = None

    @field_validator("until")
    @classmethod
    def _until(cls, value: datetime | None) -> datetime | None:
        return None if value is None else _local(value)

    def window(self) -> tuple[datetime, datetime] | None:
        """From ``at`` to ``until`` when both are given."""
        return (self.at, self.until) if self.until is not None else None


class LoadManagementEvent(_Windowed):
    """The DSO asks every CEM to reduce (or increase) its load by ``amount_w`` in ``[start, end)`` (JWG2121)."""

    kind: Literal["load_management"]
    action: AdjustmentAction = AdjustmentAction.REDUCE
    amount_w: float = Field(gt=0.0, le=100_000.0, description="Asked change per home [W].")
    response_minutes: float = Field(default=30.0, gt=0.0, description="Answers due this long after at [min].")


class EmergencyEvent(_Event):
    """The DSO declares an emergency: every non-exempt device to standby for ``duration_minutes`` (JWG2122)."""

    kind: Literal["emergency"]
    duration_minutes: float = Field(gt=0.0, le=24 * 60, description="Length of the emergency [min].")
    level: AlertLevel = AlertLevel.NORMAL

    def window(self) -> tuple[datetime, datetime] | None:
        """``[at, at + duration)``."""
        return self.at, self.at + timedelta(minutes=self.duration_minutes)


class EnergySavingEvent(_Windowed):
    """The DSO asks for an energy saving of ``target_percent`` in ``[start, end)`` (JWG19)."""

    kind: Literal["energy_saving"]
    target_percent: float = Field(gt=0.0, le=100.0, description="Saving asked [% of the usual consumption].")


class ExportReductionEvent(_Windowed):
    """The DSO asks every CEM to keep its export at or below ``limit_w`` in ``[start, end)`` (JWG120x/121x)."""

    kind: Literal["export_reduction"]
    limit_w: float = Field(ge=0.0, description="Most export per home in the window [W].")


SignalEvent = Annotated[
    TariffCorrectionEvent
    | TrafficLightEvent
    | LoadManagementEvent
    | EmergencyEvent
    | EnergySavingEvent
    | ExportReductionEvent,
    Field(discriminator="kind"),
]
