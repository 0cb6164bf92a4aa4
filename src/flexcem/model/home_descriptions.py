"""How a home device announces its flexibility: its physical parameters and present state (JWG9, JWG112x).

A storage, thermal or generating device sends one of these after its :class:`~flexcem.model.DeviceRegistration`
and again when asked (a :class:`~flexcem.model.FlexibilityRequest`): the planner builds its constraints from the
parameters (docs/home-physics.md) and starts from the state. Units are in the field names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant
from flexcem.model.home_control import AirConditionerSettings
from flexcem.model.home_parameters import (
    BatteryParameters,
    FuelCellParameters,
    HeatPumpParameters,
    PvParameters,
    RoomParameters,
    TankParameters,
)
from flexcem.model.timeseries import PowerSeries

__all__ = [
    "GenerationForecast",
    "HeaterKind",
    "LoadForecast",
    "RoomClimateDescription",
    "StorageDescription",
    "ThermalStorageDescription",
]


class StorageDescription(FlexModel):
    """A battery's flexibility: its parameters and the energy it holds now (JWG112x, JWG1131)."""

    device_id: Identifier
    at: Instant = Field(description="When the state was taken.")
    parameters: BatteryParameters
    energy_wh: float = Field(ge=0.0, description="Energy stored now [Wh].")

    @model_validator(mode="after")
    def _within_capacity(self) -> Self:
        if self.energy_wh > self.parameters.capacity_wh:
            raise ValueError(f"energy_wh {self.energy_wh} exceeds parameters.capacity_wh {self.parameters.capacity_wh}")
        return self


class HeaterKind(StrEnum):
    """What heats a hot-water tank."""

    HEAT_PUMP = "heat_pump"
    RESISTIVE = "resistive"
    FUEL_CELL = "fuel_cell"


class ThermalStorageDescription(FlexModel):
    """A hot-water tank and what heats it — heat pump, electric element or fuel cell — with its present state.

    A heat pump that also serves a room gives the room's parameters and temperature.
    """

    device_id: Identifier
    at: Instant = Field(description="When the state was taken.")
    heater: HeaterKind
    tank: TankParameters
    temperature_c: float = Field(ge=-20.0, le=120.0, description="Tank water temperature now [°C].")
    heater_power_max_w: float = Field(gt=0.0, description="Most electric power in (heater) or out (fuel cell) [W].")
    heat_pump: HeatPumpParameters | None = Field(default=None, description="COP model, for a heat pump.")
    fuel_cell: FuelCellParameters | None = Field(default=None, description="Efficiencies and run times, fuel cell.")
    running: bool = Field(default=False, description="Whether the heater or fuel cell runs now.")
    running_since: Instant | None = Field(default=None, description="Last start (running) or stop (not running).")
    room: RoomParameters | None = Field(default=None, description="The room a heat pump also heats or cools.")
    room_temperature_c: float | None = Field(default=None, ge=-20.0, le=60.0, description="Room temperature [°C].")

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.heater is HeaterKind.HEAT_PUMP and self.heat_pump is None:
            raise ValueError("heat_pump parameters are required when heater is heat_pump")
        if self.heater is HeaterKind.FUEL_CELL and self.fuel_cell is None:
            raise ValueError("fuel_cell parameters are required when heater is fuel_cell")
        if (self.room is None) != (self.room_temperature_c is None):
            raise ValueError("room and room_temperature_c go together")
        return self


class RoomClimateDescription(FlexModel):
    """An air conditioner: its heat-pump model, the room it conditions, the room's temperature and its settings."""

    device_id: Identifier
    at: Instant = Field(description="When the state was taken.")
    unit: HeatPumpParameters = Field(description="Electric power range and COP/EER model of the unit.")
    room: RoomParameters
    room_temperature_c: float = Field(ge=-20.0, le=60.0, description="Room temperature now [°C].")
    settings: AirConditionerSettings
    fan_power_w: float = Field(default=0.0, ge=0.0, description="The indoor fan's power while the unit is on [W].")


class GenerationForecast(FlexModel):
    """A generator's forecast output, generation negative [W] per slot (JWG1134, JWG121x).

    A curtailable generator may be asked for any output between zero and the forecast.
    """

    device_id: Identifier
    at: Instant = Field(description="When the forecast was made.")
    parameters: PvParameters | None = Field(default=None, description="The PV system, when it is one.")
    curtailable: bool = Field(description="Whether the output can be limited or switched off.")
    forecast: PowerSeries

    @field_validator("forecast")
    @classmethod
    def _generation(cls, forecast: PowerSeries) -> PowerSeries:
        for index, slot in enumerate(forecast.slots):
            if slot.power_w > 0.0:
                raise ValueError(f"slot {index} has power_w {slot.power_w} > 0; generation is negative")
        return forecast


class LoadForecast(FlexModel):
    """A load that cannot be controlled (the base load), consumption positive [W] per slot."""

    device_id: Identifier
    at: Instant = Field(description="When the forecast was made.")
    forecast: PowerSeries

    @field_validator("forecast")
    @classmethod
    def _consumption(cls, forecast: PowerSeries) -> PowerSeries:
        for index, slot in enumerate(forecast.slots):
            if slot.power_w < 0.0:
                raise ValueError(f"slot {index} has power_w {slot.power_w} < 0; a load consumes")
        return forecast
