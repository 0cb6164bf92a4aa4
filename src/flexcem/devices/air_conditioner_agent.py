"""The air conditioner's agent (JWG1110): mode/fan/set-point settings, temperature profiles, power schedules,
status and log.

The user's (or CEM's) settings — e.g. cooling, wind auto, 27 °C — arrive as
:class:`~flexcem.model.AirConditionerSettings`; a room temperature profile replaces the set point by a band per
slot; a power schedule sets the compressor's power per slot (the CEM's plan). Without a schedule — and in the
fail-safe — the unit's own control holds the set point (or the profile's band).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.room import DEFAULT_ROOM, Room, room_gains_w
from flexcem.model import (
    AirConditionerLog,
    AirConditionerSettings,
    AirConditionerStatus,
    CommandKind,
    DeviceCapabilities,
    DeviceKind,
    Envelope,
    PowerSetpointSchedule,
    RoomClimateDescription,
    SettingResult,
    SimpleCommand,
    TemperatureProfile,
    Zone,
)

__all__ = ["AirConditionerAgent"]


class AirConditionerAgent(HomeDeviceAgent):
    """A split air conditioner and its room on the bus."""

    kind = DeviceKind.AIR_CONDITIONER
    log_type = AirConditionerLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        model: AirConditionerModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self.model = model or AirConditionerModel(DEFAULT_AIR_CONDITIONER, Room(DEFAULT_ROOM, 26.0))
        self.gains_w = room_gains_w(data, self.model.room.parameters)
        self.last_power_w = 0.0
        endpoint.on(AirConditionerSettings, self._on_settings)

    def settings(self) -> AirConditionerSettings:
        """The settings in force."""
        m = self.model
        return AirConditionerSettings(
            device_id=self.device_id, on=m.on, mode=m.mode, fan=m.fan, set_point_c=m.set_point_c
        )

    def capabilities(self) -> DeviceCapabilities:
        """Power schedules, settings and temperature profiles, on/off, status and log."""
        return self._declare(
            "air-conditioner-sim",
            (CommandKind.ON, CommandKind.OFF),
            self.model.parameters.power_max_w,
            temperature_profile=True,
        )

    def description(self) -> RoomClimateDescription:
        """Unit, room, room temperature and settings."""
        m = self.model
        return RoomClimateDescription(
            device_id=self.device_id,
            at=self.clock.now(),
            unit=m.parameters,
            room=m.room.parameters,
            room_temperature_c=m.room.temperature_c,
            settings=self.settings(),
            fan_power_w=FAN_POWER_W[m.fan],
        )

    def status(self) -> AirConditionerStatus:
        """Settings, room and outdoor temperature, power and energy."""
        m, now = self.model, self.clock.now()
        return AirConditionerStatus(
            device_id=self.device_id,
            at=now,
            on=m.on,
            mode=m.mode,
            fan=m.fan,
            set_point_c=m.set_point_c,
            room_c=m.room.temperature_c,
            outdoor_c=self.data.value_at(self.data.outdoor_c, now),
            power_w=self.last_power_w,
            cumulative_consumption_wh=m.consumed_wh,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        limit = self.model.parameters.power_max_w
        for index, slot in enumerate(schedule.schedule.slots):
            if not 0.0 <= slot.power_w <= limit + 1e-6:
                return f"slot {index} asks {slot.power_w:.0f} W, outside [0, {limit:.0f}] W"
        return None

    def _check_profile(self, profile: TemperatureProfile) -> str | None:
        return None if profile.zone is Zone.ROOM else "an air conditioner has no hot water"

    async def _on_settings(self, settings: AirConditionerSettings, envelope: Envelope) -> SettingResult:
        self._check_for_me(settings.device_id, envelope)
        m = self.model
        m.on, m.mode, m.fan, m.set_point_c = settings.on, settings.mode, settings.fan, settings.set_point_c
        self._event(f"{settings.mode.value}, fan {settings.fan.value}, {settings.set_point_c:.1f} °C")
        return self._result("AirConditionerSettings", None)

    def _apply_command(self, command: SimpleCommand) -> str | None:
        if command.command not in {CommandKind.ON, CommandKind.OFF}:
            return f"{command.command.value} is not supported by an air conditioner"
        self.model.on = command.command is CommandKind.ON
        if not self.model.on:
            self.schedules.clear()
        return None

    def _advance(self, now: datetime, dt_h: float) -> float:
        k = self.data.index(now)
        outdoor, gains = float(self.data.outdoor_c[k]), float(self.gains_w[k])
        setpoint = self.setpoint_w(now)
        if setpoint is not None:  # the site power, the fan's included: the compressor gets the rest
            power = max(0.0, setpoint - self.model.fan_w())
        else:
            power = self.model.thermostat(outdoor_c=outdoor, gains_w=gains, dt_h=dt_h, band=self.band_c(now))
        self.last_power_w = self.model.step(power, outdoor_c=outdoor, gains_w=gains, dt_h=dt_h)
        return self.last_power_w
