"""What the household agreed with the grid side (the contract profile) and allows it to do (JWG8, JWG14, 2122)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field

from flexcem.model import Address, FlexModel, Identifier, NonNegativeDuration, PositiveDuration

__all__ = [
    "DirectControlGrant",
    "DirectControlKind",
    "DisasterSettings",
    "FlexPermission",
    "GridSettings",
    "StatusGrant",
]


class FlexPermission(FlexModel):
    """The user lets the grid adjust ``device_id`` for load management, for at most ``max_duration`` per event.

    For an air conditioner, ``comfort_range_c`` is how far its set point may move in the event's window (JWG14:
    "the customer lets the supplier raise the AC set point within a range") [K].
    """

    device_id: Identifier
    max_duration: PositiveDuration = Field(description="Longest event window the device takes part in.")
    comfort_range_c: float = Field(default=0.0, ge=0.0, le=10.0, description="Set-point range for the grid [K].")


class StatusGrant(FlexModel):
    """Grid actor ``reader`` may read the status and logs of ``devices`` (all devices when empty) (2114)."""

    reader: Address
    devices: tuple[Identifier, ...] = Field(default=(), description="The devices it may read; none: all.")

    def covers(self, device_id: str) -> bool:
        """Whether the grant covers ``device_id``."""
        return not self.devices or device_id in self.devices


class DirectControlKind(StrEnum):
    """The direct device controls of TR Table 1 the user may let the grid use (WGSP2121)."""

    HEAT_PUMP_SHUT_OFF = "heat_pump_shut_off"
    STORE_HEAT = "store_heat"
    VAR_MODE = "var_mode"
    VOLTAGE_SUPPORT = "voltage_support"
    BATTERY_DISPATCH = "battery_dispatch"


class DirectControlGrant(FlexModel):
    """The user lets the grid use direct control ``control`` on ``devices`` (all suitable devices when empty)."""

    control: DirectControlKind
    devices: tuple[Identifier, ...] = Field(default=(), description="The devices it may control; none: all.")

    def covers(self, device_id: str) -> bool:
        """Whether the grant covers ``device_id``."""
        return not self.devices or device_id in self.devices


class DisasterSettings(FlexModel):
    """The user's disaster preset (story JWG21): top-priority water heaters and batteries, run on a power alert."""

    auto_execute: bool = Field(default=False, description="Run the disaster plan on a severe power alert.")
    water_heaters: tuple[Identifier, ...] = Field(default=(), description="Water heaters run with the preset.")
    batteries: tuple[Identifier, ...] = Field(default=(), description="Batteries quick-charged.")
    set_point_c: float = Field(default=90.0, gt=20.0, le=95.0, description="Water heaters' preset [°C].")
    level_percent: float = Field(default=50.0, gt=0.0, le=100.0, description="Water heaters' preset level [%].")
    delay: NonNegativeDuration = Field(
        default=timedelta(0), description="n: the plan acts this long after the alert (JWG21: 10 AM + n)."
    )
    shutdown_lead: NonNegativeDuration = Field(
        default=timedelta(minutes=5), description="The normal shutdown is done this long before an announced cut."
    )

    @property
    def priority(self) -> tuple[str, ...]:
        """Every top-priority device."""
        return (*self.water_heaters, *self.batteries)


class GridSettings(FlexModel):
    """The CEM's part in the grid's traffic-light states and signals."""

    area: Identifier | None = Field(default=None, description="The grid area the site is in (traffic light).")
    load_management: tuple[FlexPermission, ...] = Field(
        default=(), description="Devices the grid may adjust for load management, and how far (JWG14)."
    )
    emergency_exempt: tuple[Identifier, ...] = Field(
        default=(), description="Devices the contract profile keeps on in an emergency (JWG8: e.g. a gas boiler)."
    )
    meter: Address | None = Field(default=None, description="The site's smart meter (load curves, JWG2121 19–21).")
    report_to: tuple[Address, ...] = Field(
        default=(), description="Grid actors that get the CEM's alarms (service provider, metering head-end)."
    )
    warnings_upstream: bool = Field(
        default=False, description="Send overload and device warnings to ``report_to`` too (2113, JWG11)."
    )
    status_readers: tuple[StatusGrant, ...] = Field(
        default=(), description="Grid actors allowed to read devices' status and logs (2114, JWG113x)."
    )
    status_max_age: PositiveDuration = Field(
        default=timedelta(minutes=15), description="A remembered status younger than this answers a request."
    )
    heartbeat_interval: PositiveDuration = Field(
        default=timedelta(minutes=15), description="How often each device is expected to report (JWG11)."
    )
    heartbeat_grace: PositiveDuration = Field(
        default=timedelta(minutes=5), description="Margin past the interval before a heartbeat counts as missed."
    )
    time_sync_interval: PositiveDuration = Field(
        default=timedelta(hours=6), description="How often the CEM asks the meter for its time (2141)."
    )
    time_alarm_threshold: PositiveDuration = Field(
        default=timedelta(seconds=30), description="Clock difference to the meter that raises an alarm (2142)."
    )
    direct_controls: tuple[DirectControlGrant, ...] = Field(
        default=(), description="Direct device controls of TR Table 1 the user allows the grid (WGSP2121)."
    )
    disaster: DisasterSettings = Field(
        default_factory=DisasterSettings, description="The disaster preset run on a severe power alert (JWG21)."
    )
    tariff_prices: dict[Identifier, float] = Field(
        default_factory=dict, description="The tariff list {tariff id: price [currency/kWh]} of 2143."
    )

    def may_read(self, reader: str, device_id: str) -> bool:
        """Whether ``reader`` may read ``device_id``'s status and logs."""
        return any(grant.reader == reader and grant.covers(device_id) for grant in self.status_readers)

    def allows(self, control: DirectControlKind, device_id: str) -> bool:
        """Whether the user lets the grid use ``control`` on ``device_id``."""
        return any(grant.control is control and grant.covers(device_id) for grant in self.direct_controls)

    def permission(self, device_id: str) -> FlexPermission | None:
        """The user's permission for ``device_id``, or ``None``."""
        return next((p for p in self.load_management if p.device_id == device_id), None)
