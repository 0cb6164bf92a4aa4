"""The electric water heater's agent (JWG1110): set point and level settings, power schedules, status and log.

The user's operating conditions (e.g. 90 °C, 50 %) arrive as :class:`~flexcem.model.WaterHeaterSettings`; the
CEM's plan as a power schedule (the element's power per slot, cut at the set point). Without a schedule — and
in the fail-safe — the heater's own control keeps the tank at its set point and level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.water_heater import DEFAULT_WATER_HEATER_TANK, WaterHeaterModel
from flexcem.model import (
    CommandKind,
    DeviceCapabilities,
    DeviceKind,
    Envelope,
    HeaterKind,
    PowerSetpointSchedule,
    SettingResult,
    SimpleCommand,
    ThermalStorageDescription,
    WaterHeaterLog,
    WaterHeaterSettings,
    WaterHeaterStatus,
)

__all__ = ["WaterHeaterAgent"]


class WaterHeaterAgent(HomeDeviceAgent):
    """An electric storage water heater on the bus."""

    kind = DeviceKind.WATER_HEATER
    log_type = WaterHeaterLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        model: WaterHeaterModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self.model = model or WaterHeaterModel(HotWaterTank(DEFAULT_WATER_HEATER_TANK, 60.0))
        self.enabled = True
        self.last_power_w = 0.0
        endpoint.on(WaterHeaterSettings, self._on_settings)

    def capabilities(self) -> DeviceCapabilities:
        """Power schedules, settings, on/off, status and log."""
        return self._declare(
            "water-heater-sim", (CommandKind.ON, CommandKind.OFF, CommandKind.START), self.model.element_w
        )

    def description(self) -> ThermalStorageDescription:
        """Tank, element and water temperature."""
        m = self.model
        return ThermalStorageDescription(
            device_id=self.device_id,
            at=self.clock.now(),
            heater=HeaterKind.RESISTIVE,
            tank=m.tank.parameters,
            temperature_c=m.tank.temperature_c,
            heater_power_max_w=m.element_w,
            running=self.last_power_w > 0.0,
        )

    def status(self) -> WaterHeaterStatus:
        """Settings, temperature, level, remaining water, power and energy."""
        m = self.model
        return WaterHeaterStatus(
            device_id=self.device_id,
            at=self.clock.now(),
            heating=self.last_power_w > 0.0,
            set_point_c=m.set_point_c,
            level_setting_percent=m.level_percent,
            hot_water_c=m.tank.temperature_c,
            level_percent=m.tank.level_percent,
            hot_water_remaining_l=m.tank.remaining_l,
            power_w=self.last_power_w,
            cumulative_consumption_wh=m.consumed_wh,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        for index, slot in enumerate(schedule.schedule.slots):
            if not 0.0 <= slot.power_w <= self.model.element_w + 1e-6:
                return f"slot {index} asks {slot.power_w:.0f} W, outside [0, {self.model.element_w:.0f}] W"
        return None

    async def _on_settings(self, settings: WaterHeaterSettings, envelope: Envelope) -> SettingResult:
        self._check_for_me(settings.device_id, envelope)
        try:
            self.model.configure(settings.set_point_c, settings.level_percent)
        except ValueError as error:
            return self._result("WaterHeaterSettings", str(error))
        self._event(f"set point {settings.set_point_c:.0f} °C, level {settings.level_percent:.0f} %")
        return self._result("WaterHeaterSettings", None)

    def _apply_command(self, command: SimpleCommand) -> str | None:
        def heat() -> None:
            self.model.heating = True

        return self._switch_heater(command, heat, "a water heater")

    def _advance(self, now: datetime, dt_h: float) -> float:
        draw = self.data.value_at(self.data.dhw_demand_w, now)
        power = self.setpoint_w(now)
        if power is None:
            power = self.model.thermostat(draw, dt_h) if self.enabled else 0.0
        self.last_power_w = self.model.step(power, draw_w=draw, dt_h=dt_h)
        return self.last_power_w
