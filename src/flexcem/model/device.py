"""Devices as the CEM knows them: capabilities, registration and status (TR §3.4.7, JWG9, uc-home §12).

The CEM uses only what a device declares (story JWG9: "capability (type and functionality)"): its kind,
its functions, the commands it understands and its power limits. Status carries the state of the device
under flexible start ("on, off, waiting for start, remaining time, pause, finished").
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import Field, model_validator

from flexcem.model.base import FlexModel, Identifier, Instant, NonNegativeDuration, PositiveDuration
from flexcem.model.commands import CommandKind
from flexcem.model.states import DeviceState

__all__ = [
    "DeviceCapabilities",
    "DeviceFunction",
    "DeviceKind",
    "DeviceRegistration",
    "DeviceStatus",
    "StatusRequest",
]


class DeviceKind(StrEnum):
    """Kinds of smart device (TR Figure 1 and the home use cases)."""

    WASHING_MACHINE = "washing_machine"
    DISHWASHER = "dishwasher"
    TUMBLE_DRYER = "tumble_dryer"
    ELECTRIC_VEHICLE = "electric_vehicle"
    HEAT_PUMP = "heat_pump"
    WATER_HEATER = "water_heater"
    AIR_CONDITIONER = "air_conditioner"
    PV = "pv"
    BATTERY = "battery"
    FUEL_CELL = "fuel_cell"
    LIGHTING = "lighting"
    SMART_PLUG = "smart_plug"
    BASE_LOAD = "base_load"
    SMART_METER = "smart_meter"
    OTHER = "other"


class DeviceFunction(StrEnum):
    """Functions a device may declare; the CEM uses only declared ones."""

    FLEXIBLE_START = "flexible_start"
    CHARGING_SESSION = "charging_session"
    SLOT_SHIFT = "slot_shift"
    SIMPLE_COMMANDS = "simple_commands"
    STATUS_REPORT = "status_report"
    LOG_REPORT = "log_report"
    POWER_MEASUREMENT = "power_measurement"
    REACTIVE_POWER = "reactive_power"
    """An inverter that takes VAR modes and voltage-support requests (TR Table 1, WGSP2121)."""
    TEMPERATURE_PROFILE = "temperature_profile"


class DeviceCapabilities(FlexModel):
    """What a device is and can do (JWG9: type and functionality)."""

    device_id: Identifier
    kind: DeviceKind
    manufacturer: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=64)
    functions: tuple[DeviceFunction, ...] = Field(min_length=1, description="Declared functions.")
    commands: tuple[CommandKind, ...] = Field(default=(), description="Simple commands understood.")
    max_power_w: float = Field(gt=0.0, description="Highest electric power the device may draw [W].")
    min_power_w: float = Field(default=0.0, ge=0.0, description="Least power while running [W].")
    energy_capacity_wh: float | None = Field(default=None, gt=0.0, description="Storage capacity [Wh].")
    failsafe_after: PositiveDuration | None = Field(
        default=None, description="Silence after which the device goes to its fail-safe behaviour."
    )
    minimum_lead_time: NonNegativeDuration = Field(
        default=timedelta(seconds=60), description="Least notice the device needs before an assigned start."
    )

    @model_validator(mode="after")
    def _limits(self) -> DeviceCapabilities:
        if self.min_power_w > self.max_power_w:
            raise ValueError(f"min_power_w {self.min_power_w} exceeds max_power_w {self.max_power_w}")
        return self

    def supports(self, function: DeviceFunction) -> bool:
        """Whether the device declared ``function``."""
        return function in self.functions


class DeviceRegistration(FlexModel):
    """A device registers at its CEM with its capabilities (JWG1101 precondition, JWG9)."""

    capabilities: DeviceCapabilities


class DeviceStatus(FlexModel):
    """A device's status (uc-home §11 DeviceStatus), sent on every transition and on request."""

    device_id: Identifier
    state: DeviceState
    at: Instant = Field(description="When the status was taken.")
    offer_id: Identifier | None = Field(default=None, description="The job the status refers to.")
    programme: str | None = Field(default=None, max_length=64)
    power_w: float = Field(default=0.0, description="Present power [W]; consumption positive.")
    energy_wh: float = Field(default=0.0, ge=0.0, description="Energy drawn by the present job so far [Wh].")
    remaining_time: NonNegativeDuration | None = Field(
        default=None, description="Time until the job is finished (waiting and running)."
    )
    assigned_start: Instant | None = None
    latest_end: Instant | None = None
    flexible_start: bool = Field(default=False, description="Whether the job waits for a flexible start.")
    reason: str | None = Field(default=None, max_length=256, description="Why the job failed or was aborted.")


class StatusRequest(FlexModel):
    """The CEM asks a device for its present status."""

    device_id: Identifier
