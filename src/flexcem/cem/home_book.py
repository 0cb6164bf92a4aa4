"""What the CEM knows of the home's continuously running devices: their latest descriptions and the user's
operating conditions (JWG1110 "the user inputs operating conditions … and time conditions").

A description is taken only from the registered device it describes (the sender's id is the device id, the
registry checks it), only when its kind fits the device's declared kind, and only when its state is not from
the future; otherwise it is refused naming the field, and the description already stored stays. An older
description than the one stored (by ``at``) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

from pydantic import AwareDatetime, Field, model_validator

from flexcem.bus import MessageRefused
from flexcem.cem.registry import DeviceRecord
from flexcem.model import (
    AirConditionerSettings,
    DeviceKind,
    FlexModel,
    GenerationForecast,
    HeaterKind,
    Identifier,
    LoadForecast,
    RoomClimateDescription,
    StorageDescription,
    ThermalStorageDescription,
    WaterHeaterSettings,
    WeeklyTemperatureProfile,
)

__all__ = ["Description", "DescriptionRecord", "HomeBook", "OperatingConditions"]

Description = (
    StorageDescription | ThermalStorageDescription | RoomClimateDescription | GenerationForecast | LoadForecast
)
"""The five messages by which a home device describes its flexibility."""

FUTURE_SKEW = timedelta(minutes=1)
"""How far in the future a description's ``at`` may lie (clock skew) [s]."""

_KINDS: dict[type[FlexModel], frozenset[DeviceKind]] = {
    StorageDescription: frozenset({DeviceKind.BATTERY, DeviceKind.ELECTRIC_VEHICLE}),
    ThermalStorageDescription: frozenset({DeviceKind.HEAT_PUMP, DeviceKind.WATER_HEATER, DeviceKind.FUEL_CELL}),
    RoomClimateDescription: frozenset({DeviceKind.AIR_CONDITIONER}),
    GenerationForecast: frozenset({DeviceKind.PV, DeviceKind.FUEL_CELL, DeviceKind.OTHER}),
    LoadForecast: frozenset({DeviceKind.BASE_LOAD, DeviceKind.SMART_METER, DeviceKind.SMART_PLUG, DeviceKind.OTHER}),
}
"""Which declared device kinds may send which description."""

_HEATERS = {
    DeviceKind.HEAT_PUMP: HeaterKind.HEAT_PUMP,
    DeviceKind.WATER_HEATER: HeaterKind.RESISTIVE,
    DeviceKind.FUEL_CELL: HeaterKind.FUEL_CELL,
}


class OperatingConditions(FlexModel):
    """The user's conditions for one appliance (JWG1110, story JWG18): its settings and time conditions.

    Water heater: set point and level (e.g. 90 °C, 50 %) to be reached by ``desired_finish`` (07:00), heating
    not before ``desired_start`` (05:00). Air conditioner: mode, wind and set point (cooling, auto, 27 °C), the
    cooling done by ``desired_finish`` (10:00) and not started before ``desired_start``: from the finish on (from
    the start without a finish) the room is within [set point − 1, set point + 1] °C.
    """

    device_id: Identifier
    settings: WaterHeaterSettings | AirConditionerSettings = Field(description="The appliance's settings.")
    desired_start: AwareDatetime | None = Field(
        default=None,
        description="Desirable start time: the plan has the appliance off before it (no element power; no "
        "compressor and no fan); none: it may run from now.",
    )
    desired_finish: AwareDatetime | None = Field(default=None, description="The condition holds from this time on.")
    weekly_profile: WeeklyTemperatureProfile | None = Field(
        default=None,
        description="Air conditioner only: the room's set point or band over the week (weekday and weekend "
        "pieces in the home's local time), in place of settings.set_point_c wherever a piece is in force (from "
        "the finish time on); none: the profile configured for the device (settings "
        "``air_conditioner_profiles``), else the set point all the time.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.settings.device_id != self.device_id:
            raise ValueError(f"settings.device_id {self.settings.device_id!r} is not device_id {self.device_id!r}")
        if self.desired_start and self.desired_finish and self.desired_finish <= self.desired_start:
            raise ValueError(f"desired_finish {self.desired_finish} is not after desired_start {self.desired_start}")
        if self.weekly_profile is not None and not isinstance(self.settings, AirConditionerSettings):
            raise ValueError("weekly_profile is for an air conditioner's room; these are water-heater settings")
        return self


@dataclass(frozen=True)
class DescriptionRecord:
    """A description as received: the message and when it arrived."""

    description: Description
    received_at: datetime


def _check(description: Description, record: DeviceRecord, now: datetime) -> None:
    kind = record.capabilities.kind
    allowed = _KINDS[type(description)]
    if kind not in allowed:
        raise MessageRefused(
            f"device {record.device_id} is registered as {kind.value}; a {type(description).__name__} is for "
            f"{', '.join(sorted(k.value for k in allowed))}",
            "device_id",
        )
    if description.at > now + FUTURE_SKEW:
        raise MessageRefused(f"at {description.at.isoformat()} lies in the future (now {now.isoformat()})", "at")
    if isinstance(description, ThermalStorageDescription) and description.heater is not _HEATERS[kind]:
        raise MessageRefused(
            f"heater {description.heater.value} does not fit a {kind.value} (expected {_HEATERS[kind].value})",
            "heater",
        )
    if isinstance(description, GenerationForecast | LoadForecast) and description.forecast.end <= now:
        raise MessageRefused(f"forecast ends at {description.forecast.end.isoformat()}, in the past", "forecast")


class HomeBook:
    """The latest description of each home device, and the user's operating conditions."""

    def __init__(self) -> None:
        self._descriptions: dict[str, DescriptionRecord] = {}
        self.conditions: dict[str, OperatingConditions] = {}

    def __len__(self) -> int:
        return len(self._descriptions)

    def take(self, description: Description, record: DeviceRecord, now: datetime) -> bool:
        """Check and store ``description`` of the registered device ``record``; whether it is news.

        Raises :class:`~flexcem.bus.MessageRefused` naming the field when it does not fit; the stored
        description is then unchanged.
        """
        _check(description, record, now)
        known = self._descriptions.get(record.device_id)
        if known is not None and description.at < known.description.at:
            return False
        if known is not None and known.description == description:
            return False
        self._descriptions[record.device_id] = DescriptionRecord(description, now)
        return True

    def get(self, device_id: str) -> Description | None:
        """The latest description of ``device_id``."""
        known = self._descriptions.get(device_id)
        return None if known is None else known.description

    def received_at(self, device_id: str) -> datetime | None:
        """When the latest description of ``device_id`` arrived."""
        known = self._descriptions.get(device_id)
        return None if known is None else known.received_at

    def descriptions(self) -> list[Description]:
        """Every device's latest description, by device id."""
        return [self._descriptions[key].description for key in sorted(self._descriptions)]

    def forget(self, device_id: str) -> None:
        """Drop what is known of ``device_id``."""
        self._descriptions.pop(device_id, None)
        self.conditions.pop(device_id, None)
