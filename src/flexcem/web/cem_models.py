"""What the household HTTP API (:mod:`flexcem.web.cem_app`) returns and takes: pydantic v2 models.

Powers in W (consumption positive, generation negative), energies in Wh, prices in the tariff's currency per kWh,
costs in that currency, times ISO 8601 with their offset, durations ISO 8601 (``PT2H``) or seconds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from flexcem.model import WeeklyTemperatureProfile

__all__ = [
    "ActionOut",
    "CommitIn",
    "ConditionsIn",
    "CostOut",
    "DeviceCostOut",
    "DeviceOut",
    "DevicePlanOut",
    "EventOut",
    "EventPage",
    "ForecastOut",
    "HistoryOut",
    "JobOut",
    "OverrideIn",
    "PlanOut",
    "PostponeIn",
    "PricePoint",
    "PricesOut",
    "ProposalOut",
    "SeriesPoint",
    "SetpointScheduleOut",
    "StatusOut",
    "SummaryOut",
]


class ApiModel(BaseModel):
    """Strict about unknown fields (a typo is refused naming it)."""

    model_config = ConfigDict(extra="forbid")


class PricePoint(ApiModel):
    """A price slot."""

    start: datetime
    end: datetime
    price_per_kwh: float
    co2_g_per_kwh: float | None = None


class SeriesPoint(ApiModel):
    """A value from ``start`` for ``duration_s``."""

    start: datetime
    duration_s: float
    value: float


class StatusOut(ApiModel):
    """A device's last reported status."""

    state: str
    at: datetime
    power_w: float
    energy_wh: float
    programme: str | None = None
    offer_id: str | None = None
    assigned_start: datetime | None = None
    latest_end: datetime | None = None
    remaining_time_s: float | None = None


class JobOut(ApiModel):
    """A device's open (or latest) job as the CEM plans it."""

    offer_id: str
    phase: str
    programme: str | None = None
    earliest_start: datetime
    latest_start: datetime | None = Field(default=None, description="None for a charging session.")
    latest_end: datetime
    planned_start: datetime | None = None
    confirmed_start: datetime | None = None
    not_before: datetime | None = Field(default=None, description="The user postponed it to no earlier than this.")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    energy_wh: float = 0.0
    expected_cost: float | None = None


class DeviceOut(ApiModel):
    """A registered device with what it can do and where it stands."""

    device_id: str
    kind: str
    address: str
    functions: list[str]
    commands: list[str]
    max_power_w: float
    registered_at: datetime
    last_seen: datetime | None
    status: StatusOut | None
    details: dict[str, Any] | None = Field(
        default=None, description="The device's latest kind-specific status (battery, heat pump, PV…), as sent."
    )
    job: JobOut | None
    planned: bool = Field(description="Whether the current plan or proposal schedules the device.")
    held_until: datetime | None = Field(default=None, description="Left out of the plans until then (own control).")
    actions: list[str] = Field(description="The household actions that apply now: start_now, postpone, dont_run.")


class SetpointScheduleOut(ApiModel):
    """A power set-point schedule of the home plan for one device and circuit."""

    schedule_id: str
    circuit: str
    points: list[SeriesPoint]


class DevicePlanOut(ApiModel):
    """One device in a plan."""

    device_id: str
    kind: str
    start: datetime | None
    end: datetime | None
    sequence_id: str | None = None
    energy_wh: float
    cost: float
    power_w: list[float] = Field(description="Average power per plan slot [W].")
    setpoints: list[SetpointScheduleOut] = Field(default=[], description="Home-plan set points sent or to send.")


class PlanOut(ApiModel):
    """A plan (the adopted one, or the proposal waiting for the commit)."""

    source: Literal["plan", "proposal"]
    proposal_id: str | None = None
    committed: bool | None = None
    start: datetime
    end: datetime
    slot_duration_s: float
    slot_starts: list[datetime]
    currency: str
    site_power_w: list[float]
    price_per_kwh: list[float]
    export_price_per_kwh: list[float]
    total_cost: float
    devices: list[DevicePlanOut]
    pv_forecast: list[SeriesPoint] = Field(description="Sum of the generators' forecasts [W, negative].")
    violations: list[str]


class ProposalOut(ApiModel):
    """The proposal that waits for the user's commit (JWG1110), or none."""

    pending: bool
    proposal_id: str | None = None
    proposed_at: datetime | None = None
    committed_at: datetime | None = None
    plan: PlanOut | None = None


class CommitIn(ApiModel):
    """Commit the proposal ``proposal_id``."""

    proposal_id: str = Field(min_length=1, max_length=128)


class PostponeIn(ApiModel):
    """Postpone a device's run: to a time, or by a duration (exactly one)."""

    until: AwareDatetime | None = None
    by: timedelta | None = Field(default=None, description="ISO 8601 duration (PT2H) or seconds.")

    @model_validator(mode="after")
    def _one(self) -> PostponeIn:
        if (self.until is None) == (self.by is None):
            raise ValueError("give exactly one of until and by")
        return self


class OverrideIn(ApiModel):
    """Override the plan for a device."""

    mode: Literal["run_now", "dont_run", "release"]
    until: AwareDatetime | None = Field(default=None, description="End of a dont_run hold (default 24 h).")


class ConditionsIn(ApiModel):
    """The user's operating and time conditions for one appliance (JWG1110), as
    :class:`~flexcem.cem.home_book.OperatingConditions` without the device id (the path's)."""

    settings: dict[str, Any] = Field(
        description="A water heater's settings: ``set_point_c`` (20 < °C ≤ 95), ``level_percent`` (0 < % ≤ 100, "
        "default 100); an air conditioner's: ``on`` (default true), ``mode`` (cool, heat, dry, fan, auto; default "
        "cool), ``fan`` (auto, low, medium, high; default auto), ``set_point_c`` (16–32 °C, default 27). "
        "``device_id`` may be left out (the path's).",
        examples=[{"set_point_c": 90.0, "level_percent": 50.0}, {"mode": "cool", "fan": "auto", "set_point_c": 27.0}],
    )
    desired_start: AwareDatetime | None = Field(
        default=None, description="Desirable start time: the appliance is off in the plan before it; none: from now."
    )
    desired_finish: AwareDatetime | None = Field(
        default=None, description="Desirable finish time: the condition holds from then on; after desired_start."
    )
    weekly_profile: WeeklyTemperatureProfile | None = Field(
        default=None, description="Air conditioner only: the room's set point or band over the week (local time)."
    )
    device_id: str | None = Field(default=None, description="May be left out; when given, the path's device id.")


class ActionOut(ApiModel):
    """What an action did."""

    device_id: str
    action: str
    done: bool
    message: str
    not_before: datetime | None = None
    held_until: datetime | None = None


class EventOut(ApiModel):
    """One journal entry."""

    index: int
    at: datetime
    text: str


class EventPage(ApiModel):
    """A page of the journal, newest first."""

    total: int
    offset: int
    limit: int
    items: list[EventOut]


class PricesOut(ApiModel):
    """Consumption (and feed-in) prices over an interval."""

    currency: str | None
    start: datetime
    end: datetime
    slots: list[PricePoint]
    feed_in: list[PricePoint]


class ForecastOut(ApiModel):
    """What the CEM expects: generation, base load and the planned site power."""

    start: datetime
    end: datetime
    pv_forecast: list[SeriesPoint]
    base_load_forecast: list[SeriesPoint]
    planned_site_power: list[SeriesPoint]
    consumption_forecast: list[SeriesPoint] = Field(
        default_factory=list,
        description="Site consumption forecast [W], hourly: the plan where it covers an hour, else the same hour "
        "of the recent days (JWG10).",
    )


class DeviceCostOut(ApiModel):
    """A device's expected cost, and the saving against starting at once (no control) when it is known."""

    device_id: str
    planned_cost: float
    energy_wh: float
    uncontrolled_cost: float | None = None
    saving: float | None = None


class CostOut(ApiModel):
    """Expected costs of the current plan."""

    currency: str | None
    plan_total_cost: float | None
    devices: list[DeviceCostOut]
    saving: float | None = Field(description="Sum of the known savings of the planned jobs [currency].")
    saving_basis: str
    yearly_cost: dict[str, float] = Field(
        default_factory=dict,
        description="Expected cost of each device per year [currency/year], from its metered history at the "
        "tariff in force (JWG12).",
    )


class HistoryOut(ApiModel):
    """What happened over an interval."""

    source: str
    start: datetime
    end: datetime
    site_power: list[SeriesPoint] = Field(description="Metered site power [W] (meter readings).")
    planned_site_power: list[SeriesPoint] = Field(description="Site power the plans in force expected [W].")
    jobs: list[JobOut]
    device_ids: list[str] = Field(description="Device of each job, in the same order.")


class SummaryOut(ApiModel):
    """The CEM at a glance."""

    now: datetime
    timezone: str
    address: str
    currency: str | None
    objective: str
    commit_required: bool
    proposal_pending: bool
    emergency_active: bool
    plans_made: int
    devices: int
