"""The heat pump's agent (JWG112x, JWG1132, JWG1203): power schedules per circuit, comfort profiles, extra hot
water, status and log.

A schedule for the hot-water or space circuit sets that circuit's electric power slot by slot; otherwise the
unit's thermostat runs it (the fail-safe too: back on its own thermostat when the CEM is silent). A room
temperature profile sets the comfort band the thermostat keeps. An extra-hot-water request (JWG1121) heats
the tank to its maximum at once, overruling the hot-water schedule until the tank is full or the request lapses.

**Guards on top of the plan.** The CEM's schedules are a plan on a coarser model (15-minute slots, the state
described when planning) carried out open loop, so while it follows them the unit still keeps what must hold:

* the tank at ``min_c`` or above — the hot-water power is at least what ends the step there;
* the room inside the band of the CEM's temperature profile — the space power is at least what ends the step
  in the band (as the air conditioner, :mod:`flexcem.devices.air_conditioner_agent`);

so each circuit runs max(planned power, guard). The room's guard also works the other way: a planned space
power that would carry the room past the band's other edge (below its bottom when cooling, above its top when
heating) is cut to what ends the step at that edge — the least change that keeps the room in the band; it
never cuts hot water, so an extra-hot-water request or a ``start`` (store heat) is carried out whole. The
needs come before the plan's wishes within P_max: the tank's floor first (or the whole extra-hot-water
request, which the room never cuts), then the room's band, then the planned hot water and space power. A plan
that keeps both on its own is followed exactly. Switched
off (command ``off``) the unit draws nothing, guards included, until ``on``, ``start`` or an extra-hot-water
request.

The state is advanced lazily, as the air conditioner's: a step's powers are chosen at its start from the tank
and room as they are then, and the physics follows them up to whatever instant the agent next looks — the
step's end, a status, a description, or a schedule, profile, command or request arriving mid-step, which takes
effect at once (the rest of the step is chosen anew). What the unit reports is its tank and room *now*.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flexcem.bus import DeliveryTimeout, Endpoint, LinkClosed, MessageRefused, PeerUnsupported
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.heat_pump import DEFAULT_HEAT_PUMP, DEFAULT_HEAT_PUMP_TANK, HeatPumpModel
from flexcem.devices.home_agent import NextSlotEdge
from flexcem.devices.hot_water import HotWaterTank
from flexcem.devices.lazy_step_agent import LazyStepAgent
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


@dataclass
class _Step:
    """The step under way: electric powers [W] on the hot-water and space circuits held from ``start`` to
    ``end`` with the outdoor temperature [°C], hot-water draw [W thermal] and room gains [W] of its data hour;
    ``start`` moves on as the tank and room catch up."""

    start: datetime
    end: datetime
    hot_water_w: float
    space_w: float
    outdoor_c: float
    draw_w: float
    gains_w: float


class HeatPumpAgent(LazyStepAgent[_Step]):
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
        self._profile_edge = NextSlotEdge()
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
        """Heat pump, tank and room with their temperatures (now)."""
        self._catch_up(self.clock.now())
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
        """JWG1132 status (tank and room now)."""
        m = self.model
        now = self.clock.now()
        self._catch_up(now)
        return HeatPumpStatus(
            device_id=self.device_id,
            at=now,
            running=self.last_power_w > 0.0,
            hot_water_c=m.tank.temperature_c,
            hot_water_remaining_l=m.tank.remaining_l,
            power_w=self.last_power_w,
            cumulative_consumption_wh=m.consumed_wh,
            room_c=m.room.temperature_c if m.room is not None else None,
            following_schedule=self.enabled
            and (
                self.setpoint_w(now, Circuit.HOT_WATER) is not None or self.setpoint_w(now, Circuit.SPACE) is not None
            ),
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

        self._catch_up(self.clock.now())
        reason = self._switch_heater(command, boost, "a heat pump")
        self._choose_again()
        return reason

    async def _on_hot_water_request(self, request: HotWaterRequest, envelope: Envelope) -> SettingResult:
        self._check_for_me(request.device_id, envelope)
        self._catch_up(self.clock.now())
        if self.model.tank.full:
            return self._result("HotWaterRequest", "the tank is already full")
        self._boost(request.until, "extra hot water requested")
        return self._result("HotWaterRequest", None)

    def extra_hot_water(self, until: datetime | None = None) -> bool:
        """The user asks the heat pump itself for extra hot water (ad hoc, JWG1122): it heats at once, overriding
        any schedule, and tells the CEM; ``False`` when the tank is already full."""
        self._catch_up(self.clock.now())
        if self.model.tank.full:
            return False
        self._boost(until, "extra hot water asked at the device (ad hoc)")
        return True

    def _boost(self, until: datetime | None, why: str) -> None:
        self.enabled = self.model.boost = True
        self.boost_until = until
        self._event(why)
        self._choose_again()
        self._spawn(self._announce())

    async def _announce(self) -> None:
        """Tell the CEM the new operating status at once (JWG1122: "broadcasts its operation status")."""
        await self.registered.wait()
        try:
            await self.endpoint.deliver(self.cem_address, self.status())
        except (MessageRefused, PeerUnsupported, DeliveryTimeout, LinkClosed) as error:
            log.info("%s: status not delivered: %s", self.device_id, error)

    def _next_boundary(self, now: datetime) -> datetime:
        """As every home device's, and also where a comfort band changes or an extra-hot-water request lapses."""
        end = super()._next_boundary(now)
        if self.boost_until is not None and now < self.boost_until < end:
            end = self.boost_until
        edge = self._profile_edge.at(now, tuple(self.profiles.values()))
        if edge is not None and edge < end:
            end = edge
        return end

    def _step_physics(self, step: _Step, dt_h: float) -> None:
        self.model.step(
            step.hot_water_w,
            step.space_w,
            outdoor_c=step.outdoor_c,
            draw_w=step.draw_w,
            gains_w=step.gains_w,
            dt_h=dt_h,
        )

    def _begin(self, now: datetime, end: datetime) -> float:
        """Choose the circuits' powers from ``now`` to ``end`` from the tank and room now; the power drawn [W]."""
        m, k = self.model, self.data.index(now)
        dt_h = (end - now).total_seconds() / 3600.0
        outdoor, draw, gains = float(self.data.outdoor_c[k]), float(self.data.dhw_demand_w[k]), float(self.gains_w[k])
        if self.boost_until is not None and now >= self.boost_until:
            m.boost, self.boost_until = False, None
        hot_water, space = self._powers(now, outdoor, draw, gains, dt_h)
        hot_water, space = m.taken(hot_water, space, outdoor_c=outdoor, draw_w=draw, dt_h=dt_h)
        self._under_way = _Step(now, end, hot_water, space, outdoor, draw, gains)
        self.last_power_w = hot_water + space
        return self.last_power_w

    def _powers(self, now: datetime, outdoor: float, draw: float, gains: float, dt_h: float) -> tuple[float, float]:
        """Electric power [W] (hot water, space) for the step: the plan's where there is one, with the guards of
        the module's docstring on top, the unit's thermostat elsewhere, nothing when switched off."""
        m, top = self.model, self.model.parameters.power_max_w
        if not self.enabled:
            return 0.0, 0.0
        band = self.band_c(now)
        if band is not None:
            m.comfort_band_c = band
        own_hot_water, _ = m.thermostat(outdoor, draw, gains, dt_h)  # also moves the tank thermostat's hysteresis
        planned_hot_water = self.setpoint_w(now, Circuit.HOT_WATER)
        planned_space = self.setpoint_w(now, Circuit.SPACE)
        if m.boost or planned_hot_water is None:  # the user's extra hot water, or the tank on its own thermostat
            tank_need = hot_water = own_hot_water
        else:
            tank_need = m.tank_guard_w(outdoor, draw, dt_h)
            hot_water = max(planned_hot_water, tank_need)
        if planned_space is None:  # the room on the unit's own thermostat, with what hot water leaves
            return hot_water, m.room_guard_w(m.comfort_band_c, outdoor, gains, dt_h, top - hot_water)
        room_need = 0.0 if band is None else m.room_guard_w(band, outdoor, gains, dt_h, top - tank_need)
        room_cap = top if band is None else m.room_cap_w(band, outdoor, gains, dt_h)  # not past the far edge
        hot_water = min(hot_water, max(tank_need, top - room_need))  # the room's band before the plan's hot water
        return hot_water, min(max(min(planned_space, room_cap), room_need), top - hot_water)
