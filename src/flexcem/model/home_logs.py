"""Logs of the mixed energy system's devices (JWG113x, uc-home §8): time-ordered histories of their status.

A :class:`~flexcem.model.LogRequest` is answered with the device kind's log: the entries the device recorded
in the requested period, oldest first, each a full status (so every history field of §8 — power, current,
voltage, temperatures, litres, gas — is there with its unit), and the period covered. Validators hold what a
log promises: one device, strictly increasing times inside the period, cumulative counters that never
decrease.
"""

from __future__ import annotations

from typing import ClassVar, Generic, Self, TypeVar

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant
from flexcem.model.home_status import (
    AirConditionerStatus,
    BatteryStatus,
    FuelCellStatus,
    HeatPumpStatus,
    PvStatus,
    WaterHeaterStatus,
)

__all__ = [
    "AirConditionerLog",
    "BatteryLog",
    "FuelCellLog",
    "HeatPumpLog",
    "PvLog",
    "StatusLog",
    "WaterHeaterLog",
]

EntryT = TypeVar(
    "EntryT", BatteryStatus, HeatPumpStatus, FuelCellStatus, PvStatus, WaterHeaterStatus, AirConditionerStatus
)


class StatusLog(FlexModel, Generic[EntryT]):
    """History of one device over ``[start, end)``; subclasses fix the entry type and name the counters."""

    counters: ClassVar[tuple[str, ...]] = ()

    device_id: Identifier
    start: Instant = Field(description="Beginning of the period the log covers.")
    end: Instant = Field(description="End of the period (exclusive).")
    entries: tuple[EntryT, ...] = Field(default=(), description="Status entries, oldest first.")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end <= self.start:
            raise ValueError(f"end {self.end.isoformat()} is not after start {self.start.isoformat()}")
        previous: EntryT | None = None
        for index, entry in enumerate(self.entries):
            if entry.device_id != self.device_id:
                raise ValueError(f"entries.{index}.device_id {entry.device_id!r} is not {self.device_id!r}")
            if not self.start <= entry.at < self.end:
                raise ValueError(f"entries.{index}.at {entry.at.isoformat()} is outside [start, end)")
            if previous is not None:
                if entry.at <= previous.at:
                    raise ValueError(f"entries.{index}.at is not after entries.{index - 1}.at; logs are time-ordered")
                for name in self.counters:
                    if getattr(entry, name) < getattr(previous, name):
                        raise ValueError(f"entries.{index}.{name} decreases; cumulative counters never decrease")
            previous = entry
        return self


class BatteryLog(StatusLog[BatteryStatus]):
    """JWG1131 log: cumulative charge/discharge [Wh]; history of power [W], current [A], voltage [V]."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_charge_wh", "cumulative_discharge_wh")


class HeatPumpLog(StatusLog[HeatPumpStatus]):
    """JWG1132 log: cumulative consumption [Wh]; history of hot-water temperature [°C], remaining [L], power [W]."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_consumption_wh",)


class FuelCellLog(StatusLog[FuelCellStatus]):
    """JWG1133 log: cumulative generation [Wh] and gas [m³]; history of hot water, tank heat, generated power."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_generated_wh", "cumulative_gas_m3", "cumulative_dumped_heat_wh")


class PvLog(StatusLog[PvStatus]):
    """JWG1134 log: cumulative generated and exported energy [Wh]; history of generated and exported power [W]."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_generated_wh", "cumulative_exported_wh")


class WaterHeaterLog(StatusLog[WaterHeaterStatus]):
    """Water-heater log: cumulative consumption [Wh]; history of temperature, level and power."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_consumption_wh",)


class AirConditionerLog(StatusLog[AirConditionerStatus]):
    """Air-conditioner log: cumulative consumption [Wh]; history of room temperature, settings and power."""

    counters: ClassVar[tuple[str, ...]] = ("cumulative_consumption_wh",)
