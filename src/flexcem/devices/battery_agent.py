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
    PowerSetpointSchedule,
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
        self.model = model or BatteryModel(DEFAULT_BATTERY, energy_wh=0.5 * DEFAULT_BATTERY.capacity_wh)
        self.manual_w: float | None = None

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

    def _advance(self, now: datetime, dt_h: float) -> float:
        setpoint = self.setpoint_w(now)
        if setpoint is not None:
            requested = setpoint - self.model.parameters.standby_w
        else:
            requested = 0.0 if self.failsafe or self.manual_w is None else self.manual_w
        return self.model.step(requested, dt_h).site_power_w
