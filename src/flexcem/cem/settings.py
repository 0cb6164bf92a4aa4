"""The household's settings of a CEM: limits, objective, and whom it takes signals from."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from flexcem.cem.grid_settings import GridSettings
from flexcem.cem.home_settings import HomeSettings
from flexcem.cem.threshold_control import PriceThresholdRule
from flexcem.cem.timer_control import TimedRun
from flexcem.model import Address, FlexModel, IncentiveProgram, NonNegativeDuration, PositiveDuration
from flexcem.planner.problem import Objective, ObjectiveWeights

__all__ = ["CemSettings"]


class CemSettings(FlexModel):
    """Settings of one Customer Energy Manager."""

    site_import_limit_w: float | None = Field(
        default=None, gt=0.0, description="Most the site may draw from the grid [W] (contracted power)."
    )
    site_export_limit_w: float | None = Field(
        default=None, gt=0.0, description="Most the site may feed into the grid [W] (connection agreement)."
    )
    objective: Objective = Field(
        default="cost",
        description="What the plans minimise: 'cost', 'co2', 'self_consumption' or 'weighted' (see the planner).",
    )
    objective_weights: ObjectiveWeights | None = Field(
        default=None, description="Weights of the objective 'weighted' (required with it, refused otherwise)."
    )
    slot_duration: PositiveDuration = Field(default=timedelta(minutes=15), description="Length of a planning slot.")
    minimum_lead_time: NonNegativeDuration = Field(
        default=timedelta(minutes=2),
        description="Least notice before an assigned start, to cover transport delays (JWG1102).",
    )
    shift_threshold: float = Field(
        default=0.001,
        ge=0.0,
        description="A scheduled start moves only when that saves more than this, in the tariff's currency.",
    )
    default_incentive: IncentiveProgram = Field(
        default=IncentiveProgram.CHEAPEST, description="Incentive programme for offers that name none."
    )
    tariff_sources: tuple[Address, ...] = Field(
        default=(),
        description="Endpoints allowed to send tariffs (retailer, aggregator); others are refused.",
    )
    replan_delay: NonNegativeDuration = Field(
        default=timedelta(seconds=1), description="Triggers within this delay are planned together."
    )
    timezone: str = Field(default="UTC", description="The home's time zone (IANA name), for what it shows.")
    planner_time_limit_s: float = Field(default=5.0, gt=0.0, description="Time limit of one plan [s].")
    commit_required: bool = Field(
        default=False,
        description="Plans are proposals the user must commit before anything is sent to a device (JWG1110).",
    )
    timed_runs: tuple[TimedRun, ...] = Field(
        default=(), description="Devices switched on and off at fixed local times every day (story JWG16)."
    )
    price_thresholds: tuple[PriceThresholdRule, ...] = Field(
        default=(),
        description="Devices switched ON/OFF by the customer's price threshold at each tariff interval "
        "(fuel cell JWG1111, heat pump JWG1124, DER story JWG16).",
    )

    home: HomeSettings = Field(
        default_factory=HomeSettings,
        description="How the CEM plans the home's continuously running devices (battery, PV, heat pump, …).",
    )
    grid: GridSettings = Field(
        default_factory=GridSettings,
        description="Grid area, devices the grid may adjust and the emergency contract profile (issue 5).",
    )

    @model_validator(mode="after")
    def _weights(self) -> Self:
        if self.objective == "weighted" and self.objective_weights is None:
            raise ValueError("objective_weights is required when objective is 'weighted'")
        if self.objective != "weighted" and self.objective_weights is not None:
            raise ValueError(f"objective_weights is only used with objective 'weighted', not {self.objective!r}")
        return self

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        """The home's time zone."""
        return ZoneInfo(self.timezone)

    def clock_time(self, instant: datetime, with_day: bool = False) -> str:
        """``instant`` as the home's local ``HH:MM`` (``DD HH:MM`` with the day)."""
        return f"{instant.astimezone(self.zone):{'%d %H:%M' if with_day else '%H:%M'}}"
