"""Direct load/generation management (JWG2121 / WGSP2121, story JWG3, JWG14).

The grid operator (Actor A or B) asks for a **specific change**: increase, reduce or limit the site's load,
generation or stored energy, by an absolute amount [W] or a relative one [% of the site's expected power in
the window], for a window, possibly long in advance ("the night before"), with ramps, an urgency, a deadline
for the answer and an economic value (a price per kWh of change, or a 24 h tariff as incentive).

The exchange (uc-market §2, steps 1–24):

1. grid → CEM :class:`LoadManagementRequest` (a new ``revision`` replaces an earlier one: amount
   negotiation);
2. CEM → grid :class:`LoadManagementResponse`: ``accept``, ``reject`` or ``not_sufficient`` with the change
   the CEM **expects** from its devices' feedback (never an echo of the request) — or ``accept`` without an
   estimate ("will comply");
3. grid → CEM :class:`LoadAdjustmentEnd` when the grid ends or cancels the event before the window ends;
4. CEM → grid :class:`LoadAdjustmentFeedback` after the window: the change achieved and the **load curve
   recorded for exactly the window** (from the smart meter), which "may also be used for billing".

Signs: changes are amounts **in the requested direction** (a reduction of 300 W is ``300``); powers in curves
are signed as at the connection point (consumption positive, generation negative).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import Currency, FlexModel, Identifier, Instant, NonNegativeDuration, Percent
from flexcem.model.grid_state import ResponseStatus, check_window
from flexcem.model.tariff import PriceEnvironmentProfile
from flexcem.model.timeseries import PowerSeries

__all__ = [
    "AdjustmentAction",
    "LoadAdjustmentEnd",
    "LoadAdjustmentFeedback",
    "LoadManagementRequest",
    "LoadManagementResponse",
    "ManagedQuantity",
    "Urgency",
]


class AdjustmentAction(StrEnum):
    """What to do with the managed quantity."""

    INCREASE = "increase"
    REDUCE = "reduce"
    LIMIT = "limit"


class ManagedQuantity(StrEnum):
    """What the request is about (TR: "the load, generation or stored energy")."""

    LOAD = "load"
    GENERATION = "generation"
    STORAGE = "storage"


class Urgency(StrEnum):
    """How urgent the grid's need is; ``critical`` is the last step before an emergency."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


class LoadManagementRequest(FlexModel):
    """Increase, reduce or limit ``quantity`` by ``amount_w`` [W] or ``amount_percent`` [%] in ``[start, end)``.

    For ``limit`` the amount is the ceiling: the most power [W] the quantity may have in the window, or that
    share [%] of its expected power.
    """

    event_id: Identifier = Field(description="Identifier of the event; revisions keep it.")
    revision: int = Field(default=0, ge=0, description="A higher revision replaces the earlier ones (negotiation).")
    action: AdjustmentAction
    quantity: ManagedQuantity = Field(default=ManagedQuantity.LOAD)
    amount_w: float | None = Field(default=None, ge=0.0, description="Absolute change, or the ceiling for limit [W].")
    amount_percent: Percent | None = Field(
        default=None, description="Relative change, or the ceiling for limit [% of the expected power in the window]."
    )
    start: Instant = Field(description="Beginning of the window the change applies in.")
    end: Instant = Field(description="End of the window (exclusive); after start.")
    ramp_up: NonNegativeDuration = Field(
        default=timedelta(0), description="Time from start in which the full change is to be reached."
    )
    ramp_down: NonNegativeDuration = Field(
        default=timedelta(0), description="Time from end in which the site is to return to its normal power."
    )
    urgency: Urgency = Field(default=Urgency.NORMAL)
    response_deadline: Instant = Field(description="The CEM answers by this instant; before end.")
    value_per_kwh: float | None = Field(
        default=None, ge=0.0, description="Economic value paid per kWh of change delivered [currency/kWh]."
    )
    currency: Currency = Field(default="EUR")
    incentive_tariff: PriceEnvironmentProfile | None = Field(
        default=None, description="Prices for the period as incentive (e.g. 24 h in advance)."
    )
    reason: str | None = Field(default=None, max_length=256, description="Why, for the user's display.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.amount_w is None) == (self.amount_percent is None):
            raise ValueError("give exactly one of amount_w (absolute) and amount_percent (relative)")
        check_window(self.start, self.end)
        window = self.end - self.start
        if self.ramp_up > window:
            raise ValueError(f"ramp_up {self.ramp_up} is longer than the window of {window}")
        if self.response_deadline >= self.end:
            raise ValueError(
                f"response_deadline {self.response_deadline.isoformat()} is not before end {self.end.isoformat()}"
            )
        return self

    @property
    def window(self) -> timedelta:
        """Length of the window."""
        return self.end - self.start

    def active_at(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the window."""
        return self.start <= instant < self.end


class LoadManagementResponse(FlexModel):
    """The CEM's answer: accept, reject or not-sufficient, with the change it expects from its devices.

    ``expected_change_w`` is the average change [W] in the requested direction that the CEM's devices have
    confirmed for the window; ``expected_peak_w`` the highest power [W] of the managed quantity it expects
    (what a ``limit`` is about). ``accept`` without either is "will comply" without an estimate;
    ``not_sufficient`` must say what it can do.
    """

    event_id: Identifier
    revision: int = Field(default=0, ge=0, description="The revision of the request answered.")
    status: ResponseStatus
    expected_change_w: float | None = Field(
        default=None, ge=0.0, description="Expected average change in the requested direction [W]."
    )
    expected_peak_w: float | None = Field(
        default=None, ge=0.0, description="Expected highest power of the managed quantity in the window [W]."
    )
    expected_curve: PowerSeries | None = Field(
        default=None, description="Expected site power over the window [W], consumption positive."
    )
    devices: tuple[Identifier, ...] = Field(default=(), description="The devices the CEM will adjust.")
    reason: str | None = Field(default=None, max_length=256, description="Why not, or why only partly.")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        estimate = self.expected_change_w is not None or self.expected_peak_w is not None
        if self.status is ResponseStatus.NOT_SUFFICIENT and not estimate:
            raise ValueError("a not_sufficient response must give expected_change_w or expected_peak_w")
        if self.status is ResponseStatus.REJECT and not self.reason:
            raise ValueError("a reject response must give a reason")
        return self


class LoadAdjustmentEnd(FlexModel):
    """The grid ends (or, before ``start``, cancels) the event ``event_id`` at ``at``."""

    event_id: Identifier
    at: Instant = Field(description="When the adjustment ends; the CEM returns to normal operation then.")
    cancelled: bool = Field(default=False, description="Whether the event is called off before it began.")
    reason: str | None = Field(default=None, max_length=256)


class LoadAdjustmentFeedback(FlexModel):
    """The final feedback after the window: the change achieved and the load curve recorded for the window.

    ``load_curve`` is the site's power [W] at the connection point as metered over exactly ``[start, end)``
    (ended early: up to the end); ``baseline_curve`` what the CEM expected without the adjustment.
    """

    event_id: Identifier
    revision: int = Field(default=0, ge=0)
    start: Instant = Field(description="Beginning of the period reported.")
    end: Instant = Field(description="End of the period reported (exclusive).")
    achieved_change_w: float = Field(
        description="Average change achieved in the requested direction [W]; negative: the opposite way."
    )
    load_curve: PowerSeries = Field(description="Metered site power over [start, end) [W], consumption positive.")
    baseline_curve: PowerSeries | None = Field(
        default=None, description="Expected site power without the adjustment over [start, end) [W]."
    )
    devices: tuple[Identifier, ...] = Field(default=(), description="The devices that were adjusted.")
    reason: str | None = Field(default=None, max_length=256, description="Why the change fell short.")

    @model_validator(mode="after")
    def _curves_cover_the_period(self) -> Self:
        check_window(self.start, self.end)
        for name in ("load_curve", "baseline_curve"):
            curve: PowerSeries | None = getattr(self, name)
            if curve is not None and (curve.start != self.start or curve.end != self.end):
                raise ValueError(
                    f"{name} covers [{curve.start.isoformat()}, {curve.end.isoformat()}), not the period "
                    f"[{self.start.isoformat()}, {self.end.isoformat()})"
                )
        return self
