"""Emergencies, announced power cuts and energy-saving requests (JWG2122, stories JWG8, JWG19, JWG20, JWG21).

* :class:`EmergencySignal` — at risk of a blackout every device goes to network standby, except those the
  user's contract profile exempts (story JWG8), from ``start`` until :class:`EmergencyEnd` or until
  ``duration`` has passed. A **severe** level may make the CEM change its plan (e.g. charge the battery
  first). A scheduled blackout is announced in advance with its ``blackout`` window (JWG20: "power cut
  1 PM–5 PM" announced at 7 AM): the CEM plans around it.
* :class:`EmergencyConfirmation` — the CEM's optional confirmation of the start or the end, asked for with
  ``confirmation_requested`` "to ensure that all CEMs have received the message".
* :class:`EnergySavingRequest` — a supplier's request to use less in a window, met "as possible" (JWG19);
  answered with an :class:`EnergySavingResponse`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, Percent, PositiveDuration
from flexcem.model.grid_state import ResponseStatus, TimeWindow, check_window

__all__ = [
    "AlertLevel",
    "EmergencyConfirmation",
    "EmergencyEnd",
    "EmergencyPhase",
    "EmergencySignal",
    "EnergySavingRequest",
    "EnergySavingResponse",
]


class AlertLevel(StrEnum):
    """Level of an emergency (JWG2122: "alert level (normal / severe)")."""

    NORMAL = "normal"
    SEVERE = "severe"


class EmergencySignal(FlexModel):
    """Emergency load control from ``start``: all non-exempt devices to standby, for ``duration`` or until the end."""

    emergency_id: Identifier
    level: AlertLevel = Field(default=AlertLevel.NORMAL)
    start: Instant = Field(description="From when devices are to be in standby (now, or the start of a cut).")
    duration: PositiveDuration | None = Field(
        default=None, description="How long it lasts; none: until the end-of-emergency message."
    )
    blackout: TimeWindow | None = Field(default=None, description="Scheduled period without supply, when known.")
    confirmation_requested: bool = Field(default=False, description="Whether the CEM is to confirm receipt.")
    reason: str | None = Field(default=None, max_length=256, description="Why, for the user's display.")

    def ends_at(self) -> datetime | None:
        """When the emergency lapses by its duration; ``None`` when open."""
        return None if self.duration is None else self.start + self.duration

    def active_at(self, instant: datetime) -> bool:
        """Whether the emergency is in force at ``instant`` (not knowing of an end message)."""
        end = self.ends_at()
        return self.start <= instant and (end is None or instant < end)


class EmergencyEnd(FlexModel):
    """End of emergency ``emergency_id``: devices may return to normal operation from ``at``."""

    emergency_id: Identifier
    at: Instant = Field(description="From when normal operation is allowed.")
    confirmation_requested: bool = Field(default=False, description="Whether the CEM is to confirm receipt.")


class EmergencyPhase(StrEnum):
    """What a confirmation confirms."""

    START = "start"
    END = "end"


class EmergencyConfirmation(FlexModel):
    """The CEM confirms that it acted on the start (devices in standby) or the end of an emergency."""

    emergency_id: Identifier
    phase: EmergencyPhase
    at: Instant = Field(description="When the CEM carried it out.")
    devices_in_standby: int | None = Field(default=None, ge=0, description="Devices put in (start) or left in standby.")
    exempt_devices: tuple[Identifier, ...] = Field(default=(), description="Devices the contract profile exempts.")
    reduced_power_w: float | None = Field(
        default=None, ge=0.0, description="Site power taken off by the standby, as far as the CEM knows [W]."
    )


class EnergySavingRequest(FlexModel):
    """Use less energy in ``[start, end)``, best effort; optionally by ``target_percent`` of the usual use."""

    request_id: Identifier
    start: Instant = Field(description="Beginning of the saving window.")
    end: Instant = Field(description="End of the saving window (exclusive).")
    target_percent: Percent | None = Field(default=None, description="Saving aimed at [% of the usual use].")
    target_w: float | None = Field(default=None, ge=0.0, description="Saving aimed at, as average power [W].")
    reason: str | None = Field(default=None, max_length=256, description="Why, for the user's display.")

    @model_validator(mode="after")
    def _window(self) -> Self:
        check_window(self.start, self.end)
        if self.target_percent is not None and self.target_w is not None:
            raise ValueError("give at most one of target_percent and target_w")
        return self


class EnergySavingResponse(FlexModel):
    """Whether the CEM takes part and the average saving [W] and energy [Wh] its plan expects in the window."""

    request_id: Identifier
    status: ResponseStatus
    expected_saving_w: float | None = Field(default=None, ge=0.0, description="Expected average saving [W].")
    expected_saving_wh: float | None = Field(default=None, ge=0.0, description="Expected energy saved [Wh].")
    reason: str | None = Field(default=None, max_length=256, description="Why not, or why only partly.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.status is ResponseStatus.REJECT and not self.reason:
            raise ValueError("a reject response must give a reason")
        if self.status is ResponseStatus.NOT_SUFFICIENT and self.expected_saving_w is None:
            raise ValueError("a not_sufficient response must give expected_saving_w")
        return self
