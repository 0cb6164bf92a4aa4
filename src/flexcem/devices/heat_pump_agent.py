"""The heat pump's agent (JWG112x, JWG1132, JWG1203): power schedules per circuit, comfort profiles, extra hot
water, status and log.

A schedule for the hot-water or space circuit sets that circuit's electric power slot by slot; otherwise the
unit's thermostat runs it (the fail-safe too: back on its own thermostat when the CEM is silent). A room
temperature profile sets the comfort band the thermostat keeps. An extra-hot-water request (JWG1121) heats
the tank to its maximum at once, overruling the hot-water schedule until the tank is full or the request lapses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.room import DEFAULT_ROOM, room_gains_w
from flexcem.model import (
    Circuit,
    CommandKind,
    DeviceCapabilities,
    DeviceKind,
    Envelope,
    HeaterKind,
    HeatPumpLog,
    HeatPumpStatus,
    HotWaterRequest,
    PowerSetpointSchedule,
    SettingResult,
    SimpleCommand,
    TemperatureProfile,
    ThermalStorageDescription,
    Zone,
)

__all__ = ["HeatPumpAgent"]

log = logging.getLogger("flexcem.devices.heat_pump")


class HeatPumpAgent(HomeDeviceAgent):
    """An air-to-water heat pump with its tank (and optionally a room) on the bus."""

    kind = DeviceKind.HEAT_PUMP
    log_type = HeatPumpLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        model: HeatPumpModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self.model = model or HeatPumpModel(DEFAULT_HEAT_PUMP, HotWaterTank(DEFAULT_HEAT_PUMP_TANK, 50.0))
        room = self.model.room.parameters if self.model.room is not None else DEFAULT_ROOM
        self.gains_w = room_gains_w(data, room)
        self.enabled = True
        self.boost_until: datetime | None = None
        self.last_power_w = 0.0
        endpoint.on(HotWaterRequest, self._on_hot_water_request)

    def capabilities(self) -> DeviceCapabilities:
        """Power schedules, temperature profiles, on/off, status and log."""
        p = self.model.parameters
        return self._declare(
            "heat-pump-sim",
            (CommandKind.ON, CommandKind.OFF, CommandKind.START),
            p.power_max_w,
            min_power_w=p.power_min_w,
            temperature_profile=True,
        )

    def description(self) -> ThermalStorageDescription:
        """Heat pump, tank and room with their temperatures."""
        m = self.model
        return ThermalStorageDescription(
            device_id=self.device_id,
            at=self.clock.now(),
            heater=HeaterKind.HEAT_PUMP,
            tank=m.tank.parameters,
            temperature_c=m.tank.temperature_c,
            heater_power_max_w=m.parameters.power_max_w,
            heat_pump=m.parameters,
            running=self.last_power_w > 0.0,
            room=m.room.parameters if m.room is not None else None,
            room_temperature_c=m.room.temperature_c if m.room is not None else None,
        )

    def status(self) -> HeatPumpStatus:
        """JWG1132 status."""
        m = self.model
        now = self.clock.now()
        return HeatPumpStatus(
            device_id=self.device_id,
            at=now,
            running=self.last_power_w > 0.0,
            hot_water_c=m.tank.temperature_c,
            hot_water_remaining_l=m.tank.remaining_l,
            power_w=self.last_power_w,
            cumulative_consumption_wh=m.consumed_wh,
            room_c=m.room.temperature_c if m.room is not None else None,
            following_schedule=any(self.setpoint_w(now, c) is not None for c in (Circuit.HOT_WATER, Circuit.SPACE)),
            extra_hot_water=m.boost,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        if schedule.circuit is Circuit.SPACE and self.model.room is None:
            return "this heat pump serves no room"
        if schedule.circuit is Circuit.MAIN:
            return "give the circuit: hot_water or space"
        limit = self.model.parameters.power_max_w
        for index, slot in enumerate(schedule.schedule.slots):
            if not 0.0 <= slot.power_w <= limit + 1e-6:
                return f"slot {index} asks {slot.power_w:.0f} W, outside [0, {limit:.0f}] W"
        return None

    def _check_profile(self, profile: TemperatureProfile) -> str | None:
        if profile.zone is Zone.ROOM and self.model.room is None:
            return "this heat pump serves no room"
        if profile.zone is Zone.HOT_WATER:
            return "the hot-water temperature is the tank's own (give a hot_water schedule or a HotWaterRequest)"
        return None

    def _apply_command(self, command: SimpleCommand) -> str | None:
        def boost() -> None:
            self.model.boost = True

        return self._switch_heater(command, boost, "a heat pump")

    async def _on_hot_water_request(self, request: HotWaterRequest, envelope: Envelope) -> SettingResult:
        self._check_for_me(request.device_id, envelope)
        if self.model.tank.full:
            return self._result("HotWaterRequest", "the tank is already full")
        self._boost(request.until, "extra hot water requested")
        return self._result("HotWaterRequest", None)

    def extra_hot_water(self, until: datetime | None = None) -> bool:
        """The user asks the heat pump itself for extra hot water (ad hoc, JWG1122): it heats at once, overriding
        any schedule, and tells the CEM; ``False`` when the tank is already full."""
        if self.model.tank.full:
            return False
        self._boost(until, "extra hot water asked at the device (ad hoc)")
        return True

    def _boost(self, until: datetime | None, why: str) -> None:
        self.enabled = self.model.boost = True
        self.boost_until = until
        self._event(why)
        self._spawn(self._announce())

    async def _announce(self) -> None:
        """Tell the CEM the new operating status at once (JWG1122: "broadcasts its operation status")."""
        await self.registered.wait()
        try:
            await self.endpoint.deliver(self.cem_address, self.status())
        except (MessageRefused, PeerUnsupported, DeliveryTimeout, LinkClosed) as error:
            log.info("%s: status not delivered: %s", self.device_id, error)

    def _advance(self, now: datetime, dt_h: float) -> float:
        m, k = self.model, self.data.index(now)
        outdoor, draw, gains = float(self.data.outdoor_c[k]), float(self.data.dhw_demand_w[k]), float(self.gains_w[k])
        if self.boost_until is not None and now >= self.boost_until:
            m.boost, self.boost_until = False, None
        band = self.band_c(now)
        if band is not None:
            m.comfort_band_c = band
        own_hot_water, own_space = m.thermostat(outdoor, draw, gains, dt_h) if self.enabled else (0.0, 0.0)
        hot_water = self.setpoint_w(now, Circuit.HOT_WATER)
        space = self.setpoint_w(now, Circuit.SPACE)
        hot_water = own_hot_water if hot_water is None or m.boost else hot_water
        space = own_space if space is None else space
        step = m.step(hot_water, space, outdoor_c=outdoor, draw_w=draw, gains_w=gains, dt_h=dt_h)
        self.last_power_w = step.power_w
        return step.power_w
