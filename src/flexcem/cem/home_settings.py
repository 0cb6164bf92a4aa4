"""How the CEM plans the home's continuously running devices: horizon, default forecasts, stability, refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, model_validator

from flexcem.cem.consumption_cap import CapRule
from flexcem.model import (
    FlexModel,
    Identifier,
    NonNegativeDuration,
    PositiveDuration,
    Share,
    WeeklyTemperatureProfile,
)

__all__ = ["HomeSettings"]


class HomeSettings(FlexModel):
    """Whole-home planning settings (issue 4): battery, PV, heat pump, water heater, air conditioner, fuel cell."""

    horizon_min: PositiveDuration = Field(
        default=timedelta(hours=24),
        description="Shortest planning horizon from now; prices beyond the known tariff are assumed (PriceBook).",
    )
    horizon_max: PositiveDuration = Field(
        default=timedelta(hours=72), description="Longest planning horizon from now (a long tariff is cut here)."
    )
    default_outdoor_c: float = Field(
        default=20.0,
        ge=-50.0,
        le=60.0,
        description="Outdoor temperature assumed in every slot when no HomeForecasts is given [°C].",
    )
    default_hot_water_draw_w: float = Field(
        default=100.0,
        ge=0.0,
        description="Hot-water draw assumed in every slot when no HomeForecasts is given [W thermal] "
        "(100 W ≈ 2.4 kWh a day, a small household).",
    )
    default_room_gains_w: float = Field(
        default=0.0, ge=0.0, description="Internal and solar gains assumed when no HomeForecasts is given [W]."
    )
    room_low_c: float = Field(
        default=20.0, description="Lowest room temperature a heat pump keeps when it also serves a room [°C]."
    )
    room_high_c: float = Field(
        default=26.0, description="Highest room temperature a heat pump keeps when it also serves a room [°C]."
    )
    room_profile: WeeklyTemperatureProfile | None = Field(
        default=None,
        description="The band a heat pump keeps in the room it serves over the week (weekday and weekend pieces "
        "in the home's local time, CemSettings.timezone), in place of [room_low_c, room_high_c] wherever a piece "
        "is in force; none: [room_low_c, room_high_c] all the time.",
    )
    air_conditioner_profiles: dict[Identifier, WeeklyTemperatureProfile] = Field(
        default_factory=dict,
        description="Per air conditioner (device id), the home's standing weekly profile of its room (the CEM's "
        "configuration): used where the user's OperatingConditions give no weekly_profile of their own (or there "
        "are none), in place of the set point's band wherever a piece is in force.",
    )
    consumption_cap: CapRule | None = Field(
        default=None,
        description="Story JWG4: cap consumption at own generation between two local times every day; runs that "
        "would draw from the grid then are warned about (postpone or overrule). None: no cap.",
    )
    sell_threshold_per_kwh: float | None = Field(
        default=None,
        description="Story JWG13: sell to the grid only where the feed-in price is above this [tariff currency/kWh]; "
        "below it the plan gives exports no value (storage is not discharged into the grid; surplus PV still "
        "flows out when nothing can take it). None: every feed-in price counts.",
    )
    battery_min_level: Share | None = Field(
        default=None,
        description="Story JWG13: least state of charge to keep in every battery at all times [fraction of "
        "capacity] (soft: an 'energy_reserve' violation); None: the battery's own band only.",
    )
    gas_price_per_m3: float = Field(
        default=1.0, ge=0.0, description="Natural-gas price for fuel cells [tariff currency/m³]."
    )
    setpoint_tolerance_w: float = Field(
        default=50.0,
        ge=0.0,
        description="Plan stability: a new schedule whose power differs from the confirmed one by at most this "
        "in every common slot [W] is not sent; the device keeps the confirmed one.",
    )
    schedule_cover: NonNegativeDuration = Field(
        default=timedelta(hours=12),
        description="Plan stability: a confirmed schedule is kept only while it still reaches this far ahead "
        "(or as far as the new one).",
    )
    description_max_age: NonNegativeDuration = Field(
        default=timedelta(minutes=5),
        description="Before planning, the CEM asks a device for a fresh description when its last one is older.",
    )
    refusal_holdoff: NonNegativeDuration = Field(
        default=timedelta(hours=1),
        description="After a device refuses a schedule, it runs on its own control this long: the plans leave "
        "it out and send it nothing (no fighting its controller, JWG1111).",
    )
    replan_interval: PositiveDuration | None = Field(
        default=None,
        description="Re-plan the home this often as well as on every trigger; none: only on triggers "
        "(description, tariff, offer, user change, refusal).",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.horizon_min > self.horizon_max:
            raise ValueError(f"horizon_min {self.horizon_min} is longer than horizon_max {self.horizon_max}")
        if self.room_low_c > self.room_high_c:
            raise ValueError(f"room_low_c {self.room_low_c} is above room_high_c {self.room_high_c}")
        return self
