"""Price and environment profiles (TR §3.4.6.3, Table 3; JWG1110, JWG1111, WGSP2112).

A retailer (Actor A) publishes prices per time slot together with environmental information (CO2 intensity,
renewable share) and says how binding they are: a **binding** price is what will be billed, a **forecast**
may still change. A correction is a newer profile (higher ``revision``) for part of the period; it replaces
the overlapping slots of earlier ones.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from flexcem.model.base import Currency, Identifier, Instant, Share
from flexcem.model.power_profile import Direction
from flexcem.model.timeseries import Slot, SlotSeries

__all__ = ["BindingLevel", "PriceEnvironmentProfile", "PriceSlot", "TariffKind"]


class BindingLevel(StrEnum):
    """How binding the prices of a profile are (TR Table 3, "binding level")."""

    BINDING = "binding"
    FORECAST = "forecast"


class TariffKind(StrEnum):
    """The variable price model behind a profile (TR Table 3, "variable price model")."""

    FIXED = "fixed"
    TIME_OF_USE = "time_of_use"
    DAY_AHEAD = "day_ahead"
    REAL_TIME = "real_time"
    CRITICAL_PEAK = "critical_peak"


class PriceSlot(Slot):
    """Price and environmental information for one slot."""

    price_per_kwh: float = Field(description="Energy price in the profile's currency per kWh; may be negative.")
    co2_g_per_kwh: float | None = Field(default=None, ge=0.0, description="CO2 intensity of the electricity [g/kWh].")
    renewable_share: Share | None = Field(default=None, description="Renewable share of the electricity (0–1).")


class PriceEnvironmentProfile(SlotSeries[PriceSlot]):
    """Prices per slot from one tariff, with their binding level (the TR's price & environment profile)."""

    profile_id: Identifier = Field(description="Identifier of the profile; corrections keep the same id.")
    revision: int = Field(default=0, ge=0, description="Corrections carry a higher revision.")
    issued_at: Instant = Field(description="When the retailer issued the profile.")
    currency: Currency = Field(default="EUR")
    binding: BindingLevel = Field(default=BindingLevel.BINDING)
    kind: TariffKind = Field(default=TariffKind.DAY_AHEAD)
    applies_to: Direction = Field(
        default=Direction.CONSUMPTION,
        description="Consumption: the price of imported energy; generation: the feed-in remuneration.",
    )
    tariff_name: str | None = Field(default=None, max_length=128)
