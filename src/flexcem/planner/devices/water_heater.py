"""Electric water heaters: a resistive element (COP 1) in a hot-water tank (JWG1110, JWG1132).

Formulation: the element's average power per slot ``p_k ∈ [0, P_max]`` [kW] (its thermostat cycles within
a slot, so any average is reachable; an LP), all of it heat into the tank
(:class:`~flexcem.planner.devices.thermal_states.ThermalZone`), whose band [min_c, max_c] is soft; max_c is
the user's set point (e.g. 90 °C) and an extra-hot-water request ("90 °C by 07:00") is soft too. With
``not_before`` (the user's desirable start time, JWG1110) the element's power is 0 in every slot that starts
before it (a bound, not a soft constraint: always feasible, the tank's bands are soft).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import numpy as np
from pydantic import AwareDatetime, Field

from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.devices.base import DeviceFormulation, FieldPath, PlannerDevice
from flexcem.planner.devices.heat_pump import tank_zone
from flexcem.planner.devices.thermal_inputs import TankInput
from flexcem.planner.devices.thermal_states import HeatInput
from flexcem.planner.grid import FloatArray, TimeGrid, watts
from flexcem.planner.result import DevicePlan, Violation

__all__ = ["WaterHeaterDevice", "WaterHeaterFormulation", "first_slot_from"]


def first_slot_from(grid: TimeGrid, instant: datetime | None) -> int:
    """Index of the first slot of ``grid`` that starts at or after ``instant`` (0 without one, ``grid.count``
    when none does): the slots before it start before ``instant``."""
    if instant is None:
        return 0
    slot_us = grid.slot_us
    return min(grid.count, max(0, -(-grid.offset_us(instant) // slot_us)))


class WaterHeaterDevice(PlannerDevice):
    """A resistive water heater with its tank."""

    kind: Literal["water_heater"] = Field(default="water_heater", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    """No window of its own: the problem's ``end`` (or another device) sets the horizon."""
    power_max_w: float = Field(gt=0.0, description="Power of the heating element [W] (heat = power, COP 1).")
    tank: TankInput = Field(description="The tank; its max_c is the set point (e.g. 90 °C).")
    not_before: AwareDatetime | None = Field(
        default=None,
        description="No power in any slot that starts before this (the user's desirable start time, JWG1110); "
        "none: from the start of the horizon.",
    )

    def required_end(self, plan_start: datetime) -> datetime:
        """The extra-hot-water time if any."""
        return self.tank.required_end(plan_start)

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """Where the draws leave the horizon uncovered."""
        return self.tank.horizon_errors(start, end, "tank")


class WaterHeaterFormulation(DeviceFormulation[WaterHeaterDevice]):
    """Element power per slot and the tank's temperatures."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the power columns, the tank block and the objective terms."""
        device, context = self.device, self.context
        n = context.grid.count
        self.upper = device.power_max_w / 1000.0
        upper = np.full(n, self.upper)
        upper[: first_slot_from(context.grid, device.not_before)] = 0.0
        self.cols = builder.add_columns(n, 0.0, upper)
        builder.add_entries(context.site_rows, self.cols, np.ones(n))
        if self.greenest:
            assert context.co2 is not None
            builder.add_objective(Level.CO2, self.cols, context.scales.co2(context.co2 * context.slot_hours))
        self.tank = tank_zone(device.tank, context)
        self.tank.build(builder, [HeatInput(self.cols, np.ones(n))])

    def peak_kw(self) -> float:
        """The element's power [kW]."""
        return self.upper

    def initial(self, x: FloatArray) -> None:
        """Off throughout; temperatures and slacks to match."""
        x[self.cols] = 0.0
        self.tank.initial(x, np.zeros(self.context.grid.count))

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Element power per slot [kW]."""
        power = np.array(x[self.cols], dtype=np.float64)
        power[np.abs(power) < 1e-9] = 0.0
        return power

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Power, tank temperatures and band violations."""
        power = self.power_kw(x)
        plan = DevicePlan(
            device_id=self.device.device_id,
            kind=self.device.kind,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * self.context.slot_hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            state=tuple(self.tank.temperatures(x).tolist()),
            state_quantity="tank_temperature",
            state_unit="°C",
        )
        return plan, self.tank.violations(x, self.device.device_id)
