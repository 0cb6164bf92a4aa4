"""What the CEM tells a home device: power set points, temperature profiles and operating modes (JWG1110, JWG112x).

* :class:`PowerSetpointSchedule` — the power to hold in each slot [W at the site connection, consumption
  positive, generation negative]: a battery charges (+) or discharges (−), a heat pump or water heater draws,
  a fuel cell generates (−), a PV system generates at most |power| (curtailment). Outside the slots the device
  follows its own control.
* :class:`TemperatureProfile` — per slot a comfort band and optionally a set point (TR "temperature profile":
  "set point over time, slots with fixed temperature").
* :class:`AirConditionerSettings`, :class:`WaterHeaterSettings`, :class:`HotWaterRequest` — operating modes.

Each is answered by a :class:`SettingResult` (successful or unsuccessful with the reason).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, Percent
from flexcem.model.timeseries import PowerSeries, Slot, SlotSeries

__all__ = [
    "AcMode",
    "AirConditionerSettings",
    "Circuit",
    "FanSpeed",
    "HotWaterRequest",
    "PowerSetpointSchedule",
    "SettingResult",
    "TemperatureProfile",
    "TemperatureSlot",
    "WaterHeaterSettings",
    "Zone",
]


class Circuit(StrEnum):
    """Which part of a device a set point is for (a heat pump has a hot-water and a space circuit)."""

    MAIN = "main"
    HOT_WATER = "hot_water"
    SPACE = "space"


class PowerSetpointSchedule(FlexModel):
    """Power to hold per slot [W], consumption positive, generation negative; replaces any earlier schedule."""

    device_id: Identifier
    schedule_id: Identifier
    circuit: Circuit = Field(default=Circuit.MAIN, description="The circuit the powers are for.")
    schedule: PowerSeries


class Zone(StrEnum):
    """What a temperature profile is for."""

    ROOM = "room"
    HOT_WATER = "hot_water"


class TemperatureSlot(Slot):
    """A slot with a comfort band [low_c, high_c] and an optional set point inside it [°C]."""

    low_c: float = Field(ge=-20.0, le=120.0, description="Lowest comfortable temperature [°C].")
    high_c: float = Field(ge=-20.0, le=120.0, description="Highest comfortable temperature [°C].")
    set_point_c: float | None = Field(default=None, ge=-20.0, le=120.0, description="Preferred temperature [°C].")

    @model_validator(mode="after")
    def _band(self) -> Self:
        if self.low_c > self.high_c:
            raise ValueError(f"low_c {self.low_c} is above high_c {self.high_c}")
        if self.set_point_c is not None and not self.low_c <= self.set_point_c <= self.high_c:
            raise ValueError(f"set_point_c {self.set_point_c} is outside [low_c, high_c] [{self.low_c}, {self.high_c}]")
        return self

    @classmethod
    def around(cls, set_point_c: float, **slot: object) -> TemperatureSlot:
        """A set point s as the band [s − 1, s + 1] (docs/home-physics.md, air conditioner)."""
        band = {"low_c": set_point_c - 1.0, "high_c": set_point_c + 1.0, "set_point_c": set_point_c}
        return cls.model_validate({**slot, **band})


class TemperatureProfile(SlotSeries[TemperatureSlot]):
    """Comfort band per slot for a room or a hot-water tank; replaces any earlier profile of the zone."""

    device_id: Identifier
    profile_id: Identifier
    zone: Zone = Field(default=Zone.ROOM, description="What the temperatures are for.")


class AcMode(StrEnum):
    """Operating modes of an air conditioner (JWG1110 "A/C mode")."""

    COOL = "cool"
    HEAT = "heat"
    DRY = "dry"
    FAN = "fan"
    AUTO = "auto"


class FanSpeed(StrEnum):
    """Fan ("wind") speed of an air conditioner."""

    AUTO = "auto"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class AirConditionerSettings(FlexModel):
    """The user's or the CEM's settings of an air conditioner, e.g. cooling, wind auto, 27 °C."""

    device_id: Identifier
    on: bool = Field(default=True, description="Whether the unit runs.")
    mode: AcMode = AcMode.COOL
    fan: FanSpeed = FanSpeed.AUTO
    set_point_c: float = Field(default=27.0, ge=16.0, le=32.0, description="Room set point [°C].")


class WaterHeaterSettings(FlexModel):
    """Set point [°C] and level [%] of an electric water heater, e.g. 90 °C and 50 %."""

    device_id: Identifier
    set_point_c: float = Field(gt=20.0, le=95.0, description="Temperature to heat the water to [°C].")
    level_percent: Percent = Field(default=100.0, description="How much of the tank to heat [%].")

    @model_validator(mode="after")
    def _some_level(self) -> Self:
        if self.level_percent <= 0.0:
            raise ValueError("level_percent must be above 0")
        return self


class HotWaterRequest(FlexModel):
    """Extra hot water now from a heat pump (JWG1121): heat the tank to its maximum, overruling any schedule."""

    device_id: Identifier
    until: Instant | None = Field(default=None, description="When the request lapses; none: when the tank is full.")


class SettingResult(FlexModel):
    """A device's answer to a schedule, profile or setting: carried out or not, and why not."""

    device_id: Identifier
    ref: Identifier = Field(description="The schedule or profile id, or the setting's message type.")
    success: bool
    reason: str | None = Field(default=None, max_length=256, description="Why it was not carried out.")

    @model_validator(mode="after")
    def _reason_on_failure(self) -> Self:
        if not self.success and not self.reason:
            raise ValueError("an unsuccessful setting result must give a reason")
        return self
