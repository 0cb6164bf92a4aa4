"""Status of the mixed energy system's devices (JWG113x, uc-home §8), with the report's fields and units.

A :class:`~flexcem.model.StatusRequest` to a battery, heat pump, fuel cell, PV system, water heater or air
conditioner is answered with the kind's status below; a :class:`LogRequest` with its log
(:mod:`flexcem.model.home_logs`). Power is signed as at the site (consumption positive) unless the field says
"generated" or "exported", which are positive amounts. Cumulative counters never decrease.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, Percent
from flexcem.model.home_control import AcMode, FanSpeed

__all__ = [
    "AirConditionerStatus",
    "BatteryMode",
    "BatteryStatus",
    "FuelCellStatus",
    "HeatPumpStatus",
    "LogRequest",
    "PvStatus",
    "WaterHeaterStatus",
]


class LogRequest(FlexModel):
    """The CEM asks a device for its history over ``[start, end)`` (all it keeps when open)."""

    device_id: Identifier
    start: Instant | None = Field(default=None, description="Earliest entry wanted.")
    end: Instant | None = Field(default=None, description="Entries before this instant.")

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        return self

    def covers(self, instant: datetime) -> bool:
        """Whether ``instant`` lies in the requested period."""
        return (self.start is None or instant >= self.start) and (self.end is None or instant < self.end)


class BatteryMode(StrEnum):
    """What a battery is doing."""

    CHARGING = "charging"
    DISCHARGING = "discharging"
    STANDBY = "standby"


class BatteryStatus(FlexModel):
    """JWG1131 status: cumulative charge/discharge [Wh], remaining energy [kWh, %], power [W], current [A], DC [V]."""

    device_id: Identifier
    at: Instant
    mode: BatteryMode
    cumulative_charge_wh: float = Field(ge=0.0, description="AC energy taken in since commissioning [Wh].")
    cumulative_discharge_wh: float = Field(ge=0.0, description="AC energy given out since commissioning [Wh].")
    remaining_energy_kwh: float = Field(ge=0.0, description="Energy stored now [kWh].")
    remaining_percent: Percent = Field(description="State of charge [% of capacity].")
    power_w: float = Field(description="AC power [W]: + charging, − discharging.")
    current_a: float = Field(description="DC current [A]: + charging, − discharging.")
    voltage_v: float = Field(gt=0.0, description="DC voltage [V].")


class HeatPumpStatus(FlexModel):
    """JWG1132 status: hot-water temperature [°C], hot water remaining [L], power [W], cumulative consumption [Wh]."""

    device_id: Identifier
    at: Instant
    running: bool
    hot_water_c: float = Field(description="Tank water temperature [°C].")
    hot_water_remaining_l: float = Field(ge=0.0, description="Hot water left at the lowest useful temperature [L].")
    power_w: float = Field(ge=0.0, description="Electric power [W].")
    cumulative_consumption_wh: float = Field(ge=0.0, description="Electric energy used since commissioning [Wh].")
    room_c: float | None = Field(default=None, description="Temperature of the room it serves [°C].")
    following_schedule: bool = Field(default=False, description="Whether it follows the CEM's schedule now.")
    extra_hot_water: bool = Field(
        default=False,
        description="Whether it heats extra hot water on request (JWG1121), overriding any schedule until the "
        "tank is full; asked at the device itself, this is the ad-hoc operation of JWG1122.",
    )


class FuelCellStatus(FlexModel):
    """JWG1133 status: hot water [°C, MJ, L], generated power [W], cumulative generation [Wh], gas [m³/h, m³]."""

    device_id: Identifier
    at: Instant
    running: bool
    hot_water_c: float = Field(description="Tank water temperature [°C].")
    tank_heat_mj: float = Field(ge=0.0, description="Heat stored in the tank above cold water [MJ].")
    hot_water_remaining_l: float = Field(ge=0.0, description="Hot water left at the lowest useful temperature [L].")
    generated_power_w: float = Field(ge=0.0, description="Electric output [W].")
    cumulative_generated_wh: float = Field(ge=0.0, description="Electric energy generated since commissioning [Wh].")
    gas_flow_m3_per_h: float = Field(ge=0.0, description="Momentary gas consumption [m³/h].")
    cumulative_gas_m3: float = Field(ge=0.0, description="Gas used since commissioning [m³].")
    cumulative_dumped_heat_wh: float = Field(default=0.0, ge=0.0, description="Heat the full tank could not take [Wh].")


class PvStatus(FlexModel):
    """JWG1134 status: generated and exported power [W], cumulative generated and exported energy [Wh]."""

    device_id: Identifier
    at: Instant
    generated_power_w: float = Field(ge=0.0, description="AC output [W].")
    exported_power_w: float = Field(ge=0.0, description="Power fed into the grid [W].")
    cumulative_generated_wh: float = Field(ge=0.0, description="Energy generated since commissioning [Wh].")
    cumulative_exported_wh: float = Field(ge=0.0, description="Energy exported since commissioning [Wh].")
    limit_w: float | None = Field(default=None, ge=0.0, description="Curtailment limit in force [W].")

    @model_validator(mode="after")
    def _exports_what_it_makes(self) -> Self:
        if self.exported_power_w > self.generated_power_w + 1e-6:
            raise ValueError(
                f"exported_power_w {self.exported_power_w} exceeds generated_power_w {self.generated_power_w}"
            )
        return self


class WaterHeaterStatus(FlexModel):
    """An electric water heater: settings, water temperature [°C], level [%], remaining [L], power [W], energy [Wh]."""

    device_id: Identifier
    at: Instant
    heating: bool
    set_point_c: float = Field(description="Set point [°C].")
    level_setting_percent: Percent = Field(description="Level to heat to [%].")
    hot_water_c: float = Field(description="Tank water temperature [°C].")
    level_percent: Percent = Field(description="Charge level now [%].")
    hot_water_remaining_l: float = Field(ge=0.0, description="Hot water left at the lowest useful temperature [L].")
    power_w: float = Field(ge=0.0, description="Electric power [W].")
    cumulative_consumption_wh: float = Field(ge=0.0, description="Electric energy used since commissioning [Wh].")


class AirConditionerStatus(FlexModel):
    """An air conditioner: settings, room and outdoor temperature [°C], power [W], cumulative consumption [Wh]."""

    device_id: Identifier
    at: Instant
    on: bool
    mode: AcMode
    fan: FanSpeed
    set_point_c: float = Field(description="Set point [°C].")
    room_c: float = Field(description="Room temperature [°C].")
    outdoor_c: float = Field(description="Outdoor temperature [°C].")
    power_w: float = Field(ge=0.0, description="Electric power [W].")
    cumulative_consumption_wh: float = Field(ge=0.0, description="Electric energy used since commissioning [Wh].")
