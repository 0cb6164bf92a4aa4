"""The storage battery's agent (JWG112x, JWG1131): set-point schedules, charge/discharge/standby, status and log.

It follows the CEM's schedule slot by slot: a set point is the battery's power at the site connection, its own
consumption included (docs/home-physics.md), so it charges (+) or discharges (−) at set point − standby, cut
to what the battery can do; a
Charge, Discharge or Standby command holds until the next schedule arrives. Without either — no schedule, or
the fail-safe after the CEM went silent — it stays idle.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.battery import DEFAULT_BATTERY, BatteryModel
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.model import (
    BatteryLog,
    BatteryMode,
    BatteryStatus,
    CommandKind,
    DeviceCapabilities,
    DeviceKind,
    Envelope,
    PowerSetpointSchedule,
    SettingResult,
    SimpleCommand,
    StorageDescription,
)

__all__ = ["BatteryAgent"]


class BatteryAgent(HomeDeviceAgent):
    """A home battery on the bus."""

    kind = DeviceKind.BATTERY
    log_type = BatteryLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        model: BatteryModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self._ahead: list[tuple[datetime, float, float]] = []
        """Steps worked out ahead (:meth:`_plan_ahead`): each start, AC power asked [W] and length [h]."""
        self._model = model or BatteryModel(DEFAULT_BATTERY, energy_wh=0.5 * DEFAULT_BATTERY.capacity_wh)
        self.manual_w: float | None = None

    @property
    def model(self) -> BatteryModel:
        """The battery, stepped up to now (:meth:`_settle`)."""
        self._settle(self.clock.now())
        return self._model

    @model.setter
    def model(self, model: BatteryModel) -> None:
        self._settle(self.clock.now())
        self._model = model
        self._cut_ahead()

    def capabilities(self) -> DeviceCapabilities:
        """Charge, discharge, standby, status and log."""
        p = self.model.parameters
        return self._declare(
            "battery-sim",
            (CommandKind.CHARGE, CommandKind.DISCHARGE, CommandKind.STANDBY),
            max(p.charge_power_max_w, p.discharge_power_max_w),
            energy_capacity_wh=p.capacity_wh,
        )

    def description(self) -> StorageDescription:
        """Parameters and stored energy."""
        return StorageDescription(
            device_id=self.device_id,
            at=self.clock.now(),
            parameters=self.model.parameters,
            energy_wh=self.model.energy_wh,
        )

    def status(self) -> BatteryStatus:
        """JWG1131 status."""
        m = self.model
        mode = BatteryMode.STANDBY
        if m.power_w > 1e-6:
            mode = BatteryMode.CHARGING
        elif m.power_w < -1e-6:
            mode = BatteryMode.DISCHARGING
        return BatteryStatus(
            device_id=self.device_id,
            at=self.clock.now(),
            mode=mode,
            cumulative_charge_wh=m.charged_wh,
            cumulative_discharge_wh=m.discharged_wh,
            remaining_energy_kwh=m.energy_wh / 1000.0,
            remaining_percent=min(100.0, max(0.0, 100.0 * m.soc)),
            power_w=m.power_w,
            current_a=m.current_a,
            voltage_v=m.voltage_v,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        p = self.model.parameters
        low, high = -p.discharge_power_max_w + p.standby_w, p.charge_power_max_w + p.standby_w
        for index, slot in enumerate(schedule.schedule.slots):
            if not low - 1e-6 <= slot.power_w <= high + 1e-6:
                return (
                    f"slot {index} asks {slot.power_w:.0f} W at the site, outside [{low:.0f}, {high:.0f}] W "
                    f"(charge and discharge limits plus the {p.standby_w:.0f} W the system uses itself)"
                )
        self.manual_w = None
        return None

    def _apply_command(self, command: SimpleCommand) -> str | None:
        self._settle(self.clock.now())
        try:
            return self._command(command)
        finally:
            self._cut_ahead()

    def _command(self, command: SimpleCommand) -> str | None:
        """Carry out a battery command (from the next step on); the reason when it cannot be."""
        p = self.model.parameters
        kind = command.command
        if kind is CommandKind.CHARGE:
            if self.model.soc >= p.soc_max - 1e-6:
                return f"the battery is full ({100 * self.model.soc:.0f} %)"
            self.manual_w = min(command.power_w or p.charge_power_max_w, p.charge_power_max_w)
        elif kind is CommandKind.DISCHARGE:
            if self.model.soc <= p.soc_min + 1e-6:
                return f"the battery is empty ({100 * self.model.soc:.0f} %)"
            self.manual_w = -min(command.power_w or p.discharge_power_max_w, p.discharge_power_max_w)
        elif kind in {CommandKind.STANDBY, CommandKind.OFF, CommandKind.STOP}:
            self.manual_w = 0.0
        else:
            return f"{kind.value} is not supported by a battery"
        self._drop_schedules()
        return None

    def _requested_w(self, now: datetime) -> float:
        """The AC power [W, + charging] asked of the battery for a step from ``now``: the schedule's set point
        less the standby, else the manual command's power, else nothing."""
        setpoint = self.setpoint_w(now)
        if setpoint is not None:
            return setpoint - self._model.parameters.standby_w
        return 0.0 if self.failsafe or self.manual_w is None else self.manual_w

    def _advance(self, now: datetime, dt_h: float) -> float:
        return self._model.step(self._requested_w(now), dt_h).site_power_w

    # ---------------------------------------------------------------------------- steps worked out ahead

    def _plan_ahead(self, start: datetime, next_log: datetime) -> datetime:
        """The steps from ``start`` to the next status log that draw the same site power as the step under way —
        a battery holding a slot's set point — worked out now on a copy of the battery, each as the step loop
        would at its start (boundaries, fail-safe check, request); each is taken on the battery itself as it
        begins (:meth:`_settle`); the loop wakes at the first step that changes the power, logs or goes
        fail-safe."""
        m = self._model
        model = BatteryModel(m.parameters, m.energy_wh, m.charged_wh, m.discharged_wh, m.power_w, m.dc_power_w)
        shown, at = self.power.power_w, start
        try:
            while at < next_log:
                if not self.failsafe and at - self._last_heard > self.failsafe_after:
                    break
                end = min(self._next_boundary(at), next_log)
                requested, dt_h = self._requested_w(at), (end - at).total_seconds() / 3600.0
                if abs(model.step(requested, dt_h).site_power_w - shown) >= 1e-9:  # the power log must show it
                    break
                self._ahead.append((at, requested, dt_h))
                at = end
        except ValueError:  # past the end of the data: the loop meets it when it gets there
            pass
        return at

    def _settle(self, now: datetime) -> None:
        """Take the steps worked out ahead that have begun by ``now``, in order, as the loop would have."""
        while self._ahead and self._ahead[0][0] <= now:
            at, requested, dt_h = self._ahead.pop(0)
            self.power.set(at, self._model.step(requested, dt_h).site_power_w)

    def _cut_ahead(self) -> None:
        if not self._ahead:
            return
        resume = self._ahead[0][0]
        self._ahead.clear()
        if self._runner is not None:
            self._runner.cancel()
        self._runner = self._spawn(self._run(resume))

    async def power_off(self) -> None:
        """Stop (the steps begun so far taken, none after) and leave the bus."""
        self._settle(self.clock.now())
        self._ahead.clear()
        await super().power_off()

    def _before_control_change(self) -> None:
        self._settle(self.clock.now())

    def _after_control_change(self) -> None:
        self._cut_ahead()

    async def _on_schedule(self, schedule: PowerSetpointSchedule, envelope: Envelope) -> SettingResult:
        """A schedule applies from the next step on (the steps worked out ahead with the old one are dropped)."""
        self._settle(self.clock.now())
        result = await super()._on_schedule(schedule, envelope)
        self._cut_ahead()
        return result
