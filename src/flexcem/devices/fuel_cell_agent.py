"""The fuel cell's agent (JWG1111, JWG1133, JWG1202, JWG1211): on/off and output commands it may refuse,
generation schedules, status and log.

The controller is responsible for the unit and may override the CEM (JWG1111): a command or a schedule that
would break the minimum on or off time, start with a full tank or ask for an output the stack cannot give is
answered unsuccessful with the reason. A schedule's slot power −P [W] is the output to generate. Without a
command or schedule — and in the fail-safe — it runs heat-led: it starts at full output when the tank falls
below ``min_c + 5 K`` and stops when the tank is full.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flexcem.bus import Endpoint
from flexcem.data.citylearn import CityLearnData
from flexcem.devices.fuel_cell import DEFAULT_FUEL_CELL, DEFAULT_FUEL_CELL_TANK, FuelCellModel
from flexcem.devices.home_agent import HomeDeviceAgent
from flexcem.devices.hot_water import HotWaterTank
from flexcem.model import (
    CommandKind,
    DeviceCapabilities,
    DeviceKind,
    FuelCellLog,
    FuelCellStatus,
    HeaterKind,
    PowerSetpointSchedule,
    SimpleCommand,
    ThermalStorageDescription,
)

__all__ = ["FuelCellAgent"]

HEAT_LED_START_K = 5.0
"""Heat-led control starts when the tank is this far above ``min_c`` or colder [K]."""


class FuelCellAgent(HomeDeviceAgent):
    """A fuel-cell CHP unit on the bus."""

    kind = DeviceKind.FUEL_CELL
    log_type = FuelCellLog

    def __init__(
        self,
        endpoint: Endpoint,
        cem_address: str,
        data: CityLearnData,
        model: FuelCellModel | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint, cem_address, data, **kwargs)
        self.model = model or FuelCellModel(DEFAULT_FUEL_CELL, HotWaterTank(DEFAULT_FUEL_CELL_TANK, 50.0))
        self.commanded = False

    def capabilities(self) -> DeviceCapabilities:
        """On/off and output changes (it may refuse), status and log."""
        p = self.model.parameters
        return self._declare(
            "fuel-cell-sim",
            (CommandKind.ON, CommandKind.OFF, CommandKind.INCREASE, CommandKind.DECREASE),
            p.power_max_w,
            min_power_w=p.power_min_w,
        )

    def description(self) -> ThermalStorageDescription:
        """Unit, tank and whether it runs since when."""
        m = self.model
        return ThermalStorageDescription(
            device_id=self.device_id,
            at=self.clock.now(),
            heater=HeaterKind.FUEL_CELL,
            tank=m.tank.parameters,
            temperature_c=m.tank.temperature_c,
            heater_power_max_w=m.parameters.power_max_w,
            fuel_cell=m.parameters,
            running=m.running,
            running_since=m.since,
        )

    def status(self) -> FuelCellStatus:
        """JWG1133 status."""
        m = self.model
        return FuelCellStatus(
            device_id=self.device_id,
            at=self.clock.now(),
            running=m.running,
            hot_water_c=m.tank.temperature_c,
            tank_heat_mj=m.tank.heat_mj,
            hot_water_remaining_l=m.tank.remaining_l,
            generated_power_w=m.output_w,
            cumulative_generated_wh=m.generated_wh,
            gas_flow_m3_per_h=m.gas_flow_m3_per_h,
            cumulative_gas_m3=m.gas_m3,
            cumulative_dumped_heat_wh=m.dumped_wh,
        )

    def _check_schedule(self, schedule: PowerSetpointSchedule) -> str | None:
        p, m = self.model.parameters, self.model
        running, since = m.running, m.since
        for index, slot in enumerate(schedule.schedule.slots):
            output = -slot.power_w
            if output < -1e-6 or output > p.power_max_w + 1e-6 or 1e-6 < output < p.power_min_w - 1e-6:
                allowed = f"{p.power_min_w:.0f}–{p.power_max_w:.0f} W"
                return f"slot {index}: output {output:.0f} W is neither 0 nor within {allowed}"
            if (output > 1e-6) != running:
                held = None if since is None else slot.start - since
                least = timedelta(hours=p.min_on_h if running else p.min_off_h)
                if held is not None and held < least - timedelta(seconds=1):
                    what = "stops" if running else "starts"
                    return f"slot {index} {what} it {held} after the last change; the minimum is {least}"
                running, since = output > 1e-6, slot.start
        self.commanded = False
        return None

    def _apply_command(self, command: SimpleCommand) -> str | None:
        m, p, now = self.model, self.model.parameters, self.clock.now()
        kind = command.command
        if kind is CommandKind.ON:
            target = command.power_w if command.power_w is not None else p.power_max_w
        elif kind in {CommandKind.OFF, CommandKind.STOP}:
            target = 0.0
        elif kind is CommandKind.INCREASE:
            target = min(p.power_max_w, max(m.output_w, 0.0) + (command.power_w or 0.0))
            target = max(target, p.power_min_w)
        elif kind is CommandKind.DECREASE:
            target = max(0.0, m.output_w - (command.power_w or 0.0))
            if 0.0 < target < p.power_min_w:
                target = p.power_min_w
        else:
            return f"{kind.value} is not supported by a fuel cell"
        reason = m.command(now, target)
        if reason is None:
            self.commanded = True
            self._drop_schedules()
        return reason

    def _heat_led(self, now: datetime) -> None:
        m = self.model
        if not m.running and m.tank.temperature_c < m.tank.parameters.min_c + HEAT_LED_START_K:
            m.command(now, m.parameters.power_max_w)
        elif m.running and m.tank.full:
            m.command(now, 0.0)

    def _advance(self, now: datetime, dt_h: float) -> float:
        m = self.model
        setpoint = self.setpoint_w(now)
        if setpoint is not None:
            reason = m.command(now, max(0.0, -setpoint)) if abs(-setpoint - m.output_w) > 1e-6 else None
            if reason is not None:
                self._event(f"schedule not followed: {reason}")
        elif self.failsafe or not self.commanded:
            self.commanded = False
            self._heat_led(now)
        draw = self.data.value_at(self.data.dhw_demand_w, now)
        return -m.step(draw_w=draw, dt_h=dt_h)
