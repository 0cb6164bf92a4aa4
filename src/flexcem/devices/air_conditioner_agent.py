"""The air conditioner's agent (JWG1110): mode/fan/set-point settings, temperature profiles, power schedules,
status and log.

The user's (or CEM's) settings — e.g. cooling, wind auto, 27 °C — arrive as
:class:`~flexcem.model.AirConditionerSettings`; a room temperature profile replaces the set point by a band per
slot; a power schedule sets the compressor's power per slot (the CEM's plan). Without a schedule — and in the
fail-safe — the unit's own control holds the set point (or the profile's band). With both a schedule and a
profile the compressor runs the larger of the plan's power and what its control needs to keep the band, and
no more than what ends the step at the band's other edge (cooling no lower than its bottom, heating no higher
than its top): the plan was made on a coarser model of the room and is carried out open loop, and these are the
least changes to it that keep the room in the band. The user's settings (off, fan mode, a lower fan speed)
still limit the compressor before either.

The room is advanced lazily: a step's power is chosen at its start from the room as it is then, and the room
follows it up to whatever instant the agent next looks at it — the step's end, a status, a description, or a
schedule, profile, setting or command arriving mid-step, which then takes effect at once (the rest of the step
is chosen anew). So what the unit reports is the room *now*, never the end of a step under way, and the CEM's
plan starts from the temperature it assumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.air_conditioner import DEFAULT_AIR_CONDITIONER, FAN_POWER_W, AirConditionerModel
from flexcem.devices.lazy_step_agent import LazyStepAgent
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


@dataclass
class _Step:
    """The step under way: compressor power [W] held from ``start`` to ``end`` with the outdoor [°C] and gains
    [W] of its data hour; ``start`` moves on as the room catches up."""

    start: datetime
    end: datetime
    power_w: float
    outdoor_c: float
    gains_w: float


class AirConditionerAgent(LazyStepAgent[_Step]):
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
        """Power schedules, settings and temperature profiles, on/off, status and log; the maximum power is the
        site's, the fan's included (as in its schedules and status), at the fan's highest speed. The description
        keeps the compressor's P_max (``unit``) and the present fan's power (``fan_power_w``) apart."""
        return self._declare(
            "air-conditioner-sim",
            (CommandKind.ON, CommandKind.OFF),
            self.model.site_power_max_w(),
            temperature_profile=True,
        )

    def description(self) -> RoomClimateDescription:
        """Unit, room, room temperature (now) and settings."""
        self._catch_up(self.clock.now())
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
        """Settings, room and outdoor temperature, power and energy (now)."""
        m, now = self.model, self.clock.now()
        self._catch_up(now)
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
        limit = self.model.parameters.power_max_w + FAN_POWER_W[self.model.fan]  # the site power, the fan's included
        for index, slot in enumerate(schedule.schedule.slots):
            if not 0.0 <= slot.power_w <= limit + 1e-6:
                return f"slot {index} asks {slot.power_w:.0f} W, outside [0, {limit:.0f}] W"
        return None

    def _check_profile(self, profile: TemperatureProfile) -> str | None:
        return None if profile.zone is Zone.ROOM else "an air conditioner has no hot water"

    async def _on_settings(self, settings: AirConditionerSettings, envelope: Envelope) -> SettingResult:
        self._check_for_me(settings.device_id, envelope)
        self._catch_up(self.clock.now())
        m = self.model
        m.on, m.mode, m.fan, m.set_point_c = settings.on, settings.mode, settings.fan, settings.set_point_c
        self._event(f"{settings.mode.value}, fan {settings.fan.value}, {settings.set_point_c:.1f} °C")
        self._choose_again()
        return self._result("AirConditionerSettings", None)

    def _apply_command(self, command: SimpleCommand) -> str | None:
        if command.command not in {CommandKind.ON, CommandKind.OFF}:
            return f"{command.command.value} is not supported by an air conditioner"
        self._catch_up(self.clock.now())
        self.model.on = command.command is CommandKind.ON
        if not self.model.on:
            self._drop_schedules()
        self._choose_again()
        return None

    def _step_physics(self, step: _Step, dt_h: float) -> None:
        self.model.step(step.power_w, outdoor_c=step.outdoor_c, gains_w=step.gains_w, dt_h=dt_h)

    def _begin(self, now: datetime, end: datetime) -> float:
        """Choose the compressor power from ``now`` to ``end`` from the room now; the electric power drawn [W]."""
        dt_h = (end - now).total_seconds() / 3600.0
        k = self.data.index(now)
        outdoor, gains = float(self.data.outdoor_c[k]), float(self.gains_w[k])
        setpoint = self.setpoint_w(now)
        band = self.band_c(now)
        if setpoint is not None:  # the site power, the fan's included: the compressor gets the rest
            power = max(0.0, setpoint - self.model.fan_w())
            if band is not None:
                # the schedule is a plan on a coarser model of the room: the unit's own control still keeps the
                # comfort band of the CEM's profile, adding what the room needs when the plan falls short and
                # taking off what would carry it past the band's other edge (over-cooling or over-heating)
                guard = self.model.thermostat(outdoor_c=outdoor, gains_w=gains, dt_h=dt_h, band=band)
                cap = self.model.band_cap_w(band, outdoor_c=outdoor, gains_w=gains, dt_h=dt_h)
                power = max(min(power, cap), guard)
        else:
            power = self.model.thermostat(outdoor_c=outdoor, gains_w=gains, dt_h=dt_h, band=band)
        self._under_way = _Step(start=now, end=end, power_w=power, outdoor_c=outdoor, gains_w=gains)
        fan = self.model.fan_w()
        if setpoint is not None and setpoint < fan and power <= 0.0:
            fan = 0.0  # a slot the CEM left (nearly) empty, and the band needs nothing: the unit idles, fan too
        self.last_power_w = min(max(power, 0.0), self.model.compressor_max_w()) + fan
        return self.last_power_w
