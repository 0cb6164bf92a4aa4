"""What the CEM tells a device about when to run (JWG1102, JWG1103) and what it will cost (JWG1100 step 5).

* :class:`StartTimeAssignment` — the assigned start, absolute or relative to the moment of receipt, the
  chosen alternative and, for a charging session, the power the device may draw per slot.
* :class:`SlotShift` — the updated energy profile after a re-plan: new start and slots whose power shall not
  be exceeded. The device answers with :class:`SlotShiftResponse`, confirming the profile or refusing it with
  a reason (for instance because it has already started).
* :class:`CostEstimate` — the expected running cost of the job under the current plan.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from flexcem.model.base import Currency, FlexModel, Identifier, Instant, NonNegativeDuration
from flexcem.model.timeseries import PowerSeries

__all__ = ["CostEstimate", "SlotShift", "SlotShiftResponse", "StartTimeAssignment"]


class _TimedStart(FlexModel):
    """A start given either absolutely or relative to when the message is received (JWG1102)."""

    offer_id: Identifier = Field(description="The job the start belongs to.")
    device_id: Identifier = Field(description="The device that runs the job.")
    start: Instant | None = Field(default=None, description="Absolute start instant.")
    start_in: NonNegativeDuration | None = Field(
        default=None, description="Start relative to the receipt of the message."
    )
    sequence_id: Identifier | None = Field(
        default=None, description="The alternative sequence the CEM chose (programmes only)."
    )

    @model_validator(mode="after")
    def _one_start(self) -> _TimedStart:
        if (self.start is None) == (self.start_in is None):
            raise ValueError("exactly one of start (absolute) and start_in (relative) must be given")
        return self

    def start_at(self, received_at: datetime) -> datetime:
        """The absolute start: ``start``, or ``received_at + start_in``."""
        if self.start is not None:
            return self.start
        assert self.start_in is not None
        return received_at + self.start_in


class StartTimeAssignment(_TimedStart):
    """The CEM assigns a start time to an offered job (JWG1102)."""

    power_limits: PowerSeries | None = Field(
        default=None,
        description="Charging sessions: the most the device may draw per slot [W], which is the plan.",
    )


class SlotShift(_TimedStart):
    """Updated energy profile after a re-plan (JWG1103): the slots' power shall not be exceeded."""

    profile: PowerSeries = Field(description="The updated energy profile in absolute time.")


class SlotShiftResponse(FlexModel):
    """The device confirms an updated energy profile, or refuses it and keeps its old schedule."""

    offer_id: Identifier
    device_id: Identifier
    accepted: bool
    confirmed_profile: PowerSeries | None = Field(
        default=None, description="The profile the device will follow, when accepted."
    )
    reason: str | None = Field(default=None, max_length=256, description="Why the update was refused.")

    @model_validator(mode="after")
    def _consistent(self) -> SlotShiftResponse:
        if self.accepted and self.confirmed_profile is None:
            raise ValueError("an accepted slot shift must echo the confirmed_profile")
        if not self.accepted and not self.reason:
            raise ValueError("a refused slot shift must give a reason")
        return self


class CostEstimate(FlexModel):
    """Expected running cost of a job under the current plan (JWG1100 step 5: Σ slot energy × slot price)."""

    offer_id: Identifier
    device_id: Identifier
    currency: Currency
    expected_cost: float = Field(description="Expected cost in the currency.")
    expected_energy_wh: float = Field(ge=0.0, description="Expected energy [Wh].")
    expected_co2_g: float | None = Field(default=None, ge=0.0, description="Expected CO2 emissions [g].")
    start: Instant
    end: Instant
