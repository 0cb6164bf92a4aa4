"""Flexibility a smart device offers to the CEM (JWG1100, JWG1101; stories JWG1, JWG2).

* :class:`FlexibleStartOffer` — a programme that runs as a whole once started (washing machine, dishwasher,
  dryer): the window it may start in, the latest end, its power profile with alternatives and the user's
  incentive programme.
* :class:`ChargingSessionOffer` — an energy need with a deadline whose power the CEM may shape slot by slot
  (an EV: "battery charging capacity, earliest starting time, latest end time", TR §3.4.4), with the charger's
  power limits and the taper near full.
* :class:`FlexibilityRequest` — the CEM asking a device for its flexibility (JWG1101 step 1).
"""

from __future__ import annotations

import itertools
import math
from datetime import timedelta
from enum import StrEnum

from pydantic import Field, field_validator, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, PositiveDuration
from flexcem.model.power_profile import PowerProfile

__all__ = [
    "MAX_ENERGY_WH",
    "MAX_POWER_W",
    "ActivationTrigger",
    "ChargeCurvePoint",
    "ChargingSessionOffer",
    "FlexibilityOffer",
    "FlexibilityRequest",
    "FlexibleStartOffer",
    "IncentiveProgram",
    "OfferWithdrawal",
    "charge_limit_at",
    "check_charge_curve",
    "minimum_charging_time",
]


MAX_POWER_W = 10_000_000.0
"""Largest power a device may declare [W] (10 MW: far above any charger or appliance)."""

MAX_ENERGY_WH = 100_000_000.0
"""Largest energy a session may ask for [Wh] (100 MWh)."""


class IncentiveProgram(StrEnum):
    """The user's incentive programme for a job (story JWG1/JWG2, A.1.3)."""

    CHEAPEST = "cheapest"
    GREENEST = "greenest"


class ActivationTrigger(StrEnum):
    """What activated the device's operation mode (JWG1101 step 1)."""

    USER_BUTTON = "user_button"
    CEM_REQUEST = "cem_request"
    TIMER = "timer"
    STATE_CHANGE = "state_change"


class FlexibilityOffer(FlexModel):
    """What every flexibility offer carries: the job's identity, its window and the incentive programme."""

    offer_id: Identifier = Field(description="Identifier of the job, unique per device.")
    device_id: Identifier = Field(description="The offering device (its endpoint id).")
    trigger: ActivationTrigger = Field(default=ActivationTrigger.USER_BUTTON)
    earliest_start: Instant = Field(description="The job may start at this instant or later.")
    latest_start: Instant = Field(description="The job must have started by this instant.")
    latest_end: Instant = Field(description="The job must be complete by this instant.")
    incentive: IncentiveProgram | None = Field(
        default=None, description="Cheapest or greenest; absent means the programme stored at the CEM."
    )

    @model_validator(mode="after")
    def _window(self) -> FlexibilityOffer:
        if self.latest_start < self.earliest_start:
            raise ValueError(
                f"latest_start {self.latest_start.isoformat()} is before earliest_start "
                f"{self.earliest_start.isoformat()}"
            )
        return self


class FlexibleStartOffer(FlexibilityOffer):
    """A programme with a flexible start (JWG1101: start time, end time, energy profile).

    The first alternative of the profile is the device's preferred programme: ``programme_duration`` is its
    running time, and ``latest_start`` is when the device starts it on its own if the CEM stays silent, so
    ``latest_start + programme_duration ≤ latest_end``. Every alternative must fit between ``earliest_start``
    and ``latest_end``; a longer one must also end by ``latest_end`` when the CEM chooses it.
    """

    programme_duration: PositiveDuration = Field(
        description="Running time of the preferred programme (the profile's first alternative)."
    )
    profile: PowerProfile = Field(description="The programme's power sequences; the CEM chooses one.")
    programme: str | None = Field(default=None, max_length=64, description="Programme name, e.g. 'Cotton 40'.")

    @model_validator(mode="after")
    def _fits(self) -> FlexibleStartOffer:
        preferred = self.profile.alternatives[0].duration
        if self.programme_duration != preferred:
            raise ValueError(
                f"programme_duration {self.programme_duration} differs from the running time of the preferred "
                f"(first) alternative of the profile ({preferred})"
            )
        for index, sequence in enumerate(self.profile.alternatives):
            if self.earliest_start + sequence.duration > self.latest_end:
                raise ValueError(
                    f"profile.alternatives[{index}] ({sequence.sequence_id}) runs {sequence.duration} and cannot "
                    f"end by latest_end {self.latest_end.isoformat()} even if started at earliest_start"
                )
        if self.latest_start + self.programme_duration > self.latest_end:
            raise ValueError(
                f"latest_start {self.latest_start.isoformat()} + programme_duration {self.programme_duration} "
                f"is after latest_end {self.latest_end.isoformat()}"
            )
        return self

    @property
    def estimated_energy_wh(self) -> float:
        """Energy of the device's preferred alternative [Wh]."""
        return self.profile.alternatives[0].energy_wh


class ChargeCurvePoint(FlexModel):
    """A point of the charging power limit as a function of the energy delivered in the session."""

    energy_wh: float = Field(ge=0.0, le=MAX_ENERGY_WH, description="Energy delivered so far in the session [Wh].")
    max_power_w: float = Field(ge=1.0, le=MAX_POWER_W, description="Most the charger may draw at that point [W].")


def check_charge_curve(curve: tuple[ChargeCurvePoint, ...]) -> tuple[ChargeCurvePoint, ...]:
    """``curve`` unchanged if it starts at 0 Wh, is non-increasing and concave; else :class:`ValueError`.

    Concavity lets "power ≤ curve(energy)" be written as one linear limit per segment.
    """
    if not curve:
        return curve
    if curve[0].energy_wh != 0.0:
        raise ValueError("the first point must be at energy_wh 0")
    previous_slope = 0.0
    for index in range(1, len(curve)):
        left, right = curve[index - 1], curve[index]
        if right.energy_wh <= left.energy_wh:
            raise ValueError(f"point {index}: energy_wh must increase")
        if right.max_power_w > left.max_power_w:
            raise ValueError(f"point {index}: max_power_w must not increase with energy")
        slope = (right.max_power_w - left.max_power_w) / (right.energy_wh - left.energy_wh)
        if slope > previous_slope + 1e-12:
            raise ValueError(f"point {index}: the curve must be concave (its slope may only fall)")
        previous_slope = slope
    return curve


def charge_limit_at(curve: tuple[ChargeCurvePoint, ...], max_power_w: float, delivered_wh: float) -> float:
    """Most a charger of ``max_power_w`` [W] may draw after ``delivered_wh`` [Wh], ``curve`` interpolated."""
    if not curve:
        return max_power_w
    for index in range(1, len(curve)):
        left, right = curve[index - 1], curve[index]
        if delivered_wh <= right.energy_wh:
            fraction = (delivered_wh - left.energy_wh) / (right.energy_wh - left.energy_wh)
            return min(max_power_w, left.max_power_w + fraction * (right.max_power_w - left.max_power_w))
    return min(max_power_w, curve[-1].max_power_w)


def minimum_charging_time(curve: tuple[ChargeCurvePoint, ...], max_power_w: float, energy_wh: float) -> timedelta:
    """Shortest time to draw ``energy_wh`` [Wh] at the highest power ``curve`` allows: ∫ dE / P(E).

    Rounded up to the second, so that a charge started that long before a deadline always makes it.
    """
    hours = 0.0
    points = [(point.energy_wh, min(point.max_power_w, max_power_w)) for point in curve]
    if not points:
        points = [(0.0, max_power_w)]
    points.append((math.inf, points[-1][1]))
    for (e0, p0), (e1, p1) in itertools.pairwise(points):
        if e0 >= energy_wh:
            break
        upper = min(e1, energy_wh)
        slope = 0.0 if math.isinf(e1) else (p1 - p0) / (e1 - e0)
        if abs(slope) < 1e-12:
            hours += (upper - e0) / p0
        else:
            hours += math.log((p0 + slope * (upper - e0)) / p0) / slope
    return timedelta(seconds=math.ceil(hours * 3600.0))


class ChargingSessionOffer(FlexibilityOffer):
    """An energy need with a deadline whose power the CEM shapes per slot (EV charging, story JWG2).

    The charger draws either nothing or between ``min_power_w`` and the limit, which is ``max_power_w`` or,
    when ``power_curve`` is given, the curve interpolated at the energy delivered so far (the taper near
    full). The curve must be non-increasing and concave so that "power ≤ curve" is a set of linear limits.
    """

    energy_wh: float = Field(gt=0.0, le=MAX_ENERGY_WH, description="Energy to draw from the grid by latest_end [Wh].")
    max_power_w: float = Field(ge=1.0, le=MAX_POWER_W, description="Charger power [W].")
    min_power_w: float = Field(default=0.0, ge=0.0, le=MAX_POWER_W, description="Least power while charging [W].")
    power_curve: tuple[ChargeCurvePoint, ...] = Field(
        default=(), description="Power limit against delivered energy; empty means max_power_w throughout."
    )

    @field_validator("power_curve")
    @classmethod
    def _concave_curve(cls, curve: tuple[ChargeCurvePoint, ...]) -> tuple[ChargeCurvePoint, ...]:
        return check_charge_curve(curve)

    @model_validator(mode="after")
    def _achievable(self) -> ChargingSessionOffer:
        if self.min_power_w > self.max_power_w:
            raise ValueError(f"min_power_w {self.min_power_w} exceeds max_power_w {self.max_power_w}")
        if self.power_curve and self.power_curve[0].max_power_w > self.max_power_w:
            raise ValueError("power_curve starts above max_power_w")
        shortest = self.minimum_duration()
        if self.earliest_start + shortest > self.latest_end:
            raise ValueError(
                f"energy_wh {self.energy_wh:.0f} needs at least {shortest} at full power, more than the window "
                f"from earliest_start {self.earliest_start.isoformat()} to latest_end {self.latest_end.isoformat()}"
            )
        if self.latest_start + shortest > self.latest_end:
            raise ValueError(
                f"latest_start {self.latest_start.isoformat()} leaves less than the {shortest} the energy needs"
            )
        return self

    def limit_at(self, delivered_wh: float) -> float:
        """Most the charger may draw [W] after ``delivered_wh`` of the session."""
        return charge_limit_at(self.power_curve, self.max_power_w, delivered_wh)

    def minimum_duration(self) -> timedelta:
        """Shortest time to draw ``energy_wh`` at the highest allowed power."""
        return minimum_charging_time(self.power_curve, self.max_power_w, self.energy_wh)


class FlexibilityRequest(FlexModel):
    """The CEM asks a device to (re)send its flexibility (JWG1101 step 1, "request from CEM")."""

    device_id: Identifier


class OfferWithdrawal(FlexModel):
    """The device withdraws an offer it can no longer honour (the user cancelled the job)."""

    offer_id: Identifier
    device_id: Identifier
    reason: str = Field(max_length=256)
