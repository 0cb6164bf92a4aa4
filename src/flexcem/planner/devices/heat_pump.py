"""Heat pumps: one unit that heats a hot-water tank and/or heats or cools a room (JWG112x, JWG1203).

Formulation (powers in kW, per planning slot k):

* one electric power column per service: ``w_k`` (hot water, COP from ``supply_hot_water_c``), ``h_k``
  (space heating, COP from ``supply_space_heating_c``), ``c_k`` (space cooling, EER from
  ``supply_cooling_c``); the COP/EER of each slot comes from its outdoor temperature
  (:func:`flexcem.physics.carnot_cop`, :func:`flexcem.physics.cooling_eer`);
* the unit serves them in turn within a slot (its diverter valve and mode switch): ``w + h + c ≤ P_max``;
  with ``power_min_w > 0`` the total is one semi-continuous column in {0} ∪ [P_min, P_max] instead (a
  single service is that column itself) — the only discrete choice, and only then;
* the tank gets ``COP_w,k·w_k`` and loses the draws; the room gets ``COP_h,k·h_k − EER_k·c_k`` plus its gains
  and exchanges heat with outdoors (:class:`~flexcem.planner.devices.thermal_states.ThermalZone`);
* the tank band [min_c, max_c] and the comfort band are soft (K·h), the extra-hot-water request too (K).

Heating and cooling in one slot is never cheaper than the one net service, so ``space_mode`` "auto" needs
no binary while prices are positive; at a negative price the plan may alternate within a slot, which a real
unit can do.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from flexcem.model.home_parameters import HeatPumpParameters
from flexcem.physics import carnot_cop, cooling_eer
from flexcem.planner.builder import ColumnKind, Level, ModelBuilder
from flexcem.planner.context import PlanningContext, resample_slots
from flexcem.planner.devices.base import DeviceFormulation, FieldPath, PlannerDevice
from flexcem.planner.devices.thermal_inputs import (
    RoomInput,
    TankInput,
    TemperatureSlot,
    check_no_overlap,
    comfort_bounds,
    uncovered,
)
from flexcem.planner.devices.thermal_states import HeatInput, ThermalZone
from flexcem.planner.grid import FloatArray, IntArray, watts
from flexcem.planner.result import DevicePlan, Violation, ViolationKind

__all__ = ["HeatPumpDevice", "HeatPumpFormulation", "SpaceMode", "outdoor_c", "room_zone", "tank_zone"]

SpaceMode = Literal["heating", "cooling", "auto"]


class HeatPumpDevice(PlannerDevice):
    """An air-source heat pump with a hot-water tank, a room, or both."""

    kind: Literal["heat_pump"] = Field(default="heat_pump", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    """No window of its own: the problem's ``end`` (or another device) sets the horizon."""
    heat_pump: HeatPumpParameters = Field(description="Electric power range and COP model of the unit.")
    outdoor: tuple[TemperatureSlot, ...] = Field(
        min_length=1, description="Outdoor temperature forecast [°C] per slot; must cover the horizon."
    )
    tank: TankInput | None = Field(default=None, description="The hot-water tank it heats; none: space only.")
    room: RoomInput | None = Field(default=None, description="The room it heats or cools; none: hot water only.")
    space_mode: SpaceMode = Field(
        default="heating", description="What it may do to the room: 'heating', 'cooling' or 'auto' (both)."
    )

    @field_validator("outdoor")
    @classmethod
    def _outdoor(cls, outdoor: tuple[TemperatureSlot, ...]) -> tuple[TemperatureSlot, ...]:
        check_no_overlap(outdoor, "outdoor")
        return outdoor

    @model_validator(mode="after")
    def _serves_something(self) -> Self:
        if self.tank is None and self.room is None:
            raise ValueError("a heat pump needs a tank, a room or both")
        return self

    def required_end(self, plan_start: datetime) -> datetime:
        """The extra-hot-water time if any (the horizon is otherwise set by ``end`` or other devices)."""
        return plan_start if self.tank is None else self.tank.required_end(plan_start)

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """Where the outdoor forecast, the draws, the comfort band or the gains leave the horizon uncovered."""
        errors = uncovered(self.outdoor, start, end, ("outdoor",))
        if self.tank is not None:
            errors += self.tank.horizon_errors(start, end, "tank")
        if self.room is not None:
            errors += self.room.horizon_errors(start, end, "room")
        return errors


def tank_zone(tank: TankInput, context: PlanningContext) -> ThermalZone:
    """The tank's temperature block: draws as a heat loss, band [min_c, max_c], the request if any."""
    grid = context.grid
    parameters = tank.parameters
    draws_kw = resample_slots(grid, tank.draws, [slot.heat_w / 1000.0 for slot in tank.draws])
    return ThermalZone(
        context,
        label="tank",
        violation=ViolationKind.TANK_TEMPERATURE,
        heat_capacity_kwh_per_k=parameters.heat_capacity_kwh_per_k,
        loss_w_per_k=parameters.loss_w_per_k,
        initial_c=tank.initial_c,
        ambient_c=np.full(grid.count, parameters.ambient_c),
        disturbance_kw=-draws_kw,
        lower_c=np.full(grid.count, parameters.min_c),
        upper_c=np.full(grid.count, parameters.max_c),
        request=tank.extra_hot_water,
    )


def room_zone(room: RoomInput, outdoor_c: FloatArray, context: PlanningContext) -> ThermalZone:
    """The room's temperature block: gains, outdoor exchange, comfort band."""
    grid = context.grid
    gains_kw = resample_slots(grid, room.gains, [slot.heat_w / 1000.0 for slot in room.gains])
    lower, upper = comfort_bounds(grid, room.comfort)
    return ThermalZone(
        context,
        label="room",
        violation=ViolationKind.ROOM_TEMPERATURE,
        heat_capacity_kwh_per_k=room.parameters.heat_capacity_kwh_per_k,
        loss_w_per_k=room.parameters.loss_w_per_k,
        initial_c=room.initial_c,
        ambient_c=outdoor_c,
        disturbance_kw=gains_kw,
        lower_c=lower,
        upper_c=upper,
    )


def outdoor_c(outdoor: tuple[TemperatureSlot, ...], context: PlanningContext) -> FloatArray:
    """Outdoor temperature per planning slot [°C] (time-weighted average)."""
    return resample_slots(context.grid, outdoor, [slot.temperature_c for slot in outdoor])


class HeatPumpFormulation(DeviceFormulation[HeatPumpDevice]):
    """Power per service and slot, tank and room temperatures, soft bands."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the power columns, the time-share or semi-continuous total, the zones and the objective terms."""
        device, context = self.device, self.context
        n = context.grid.count
        hp = device.heat_pump
        self.upper = hp.power_max_w / 1000.0
        self.minimum = hp.power_min_w / 1000.0
        t_out = outdoor_c(device.outdoor, context)
        services: dict[str, FloatArray] = {}  # name → kW thermal per kW electric (signed, into its zone)
        if device.tank is not None:
            services["hot_water"] = carnot_cop(t_out, hp.supply_hot_water_c, hp.carnot_efficiency, hp.cop_max)
        if device.room is not None:
            if device.space_mode in ("heating", "auto"):
                services["heating"] = carnot_cop(t_out, hp.supply_space_heating_c, hp.carnot_efficiency, hp.cop_max)
            if device.space_mode in ("cooling", "auto"):
                services["cooling"] = -cooling_eer(t_out, hp.supply_cooling_c, hp.carnot_efficiency, hp.cop_max)
        self.factor = services
        single_semi = self.minimum > 0.0 and len(services) == 1
        kind = ColumnKind.SEMI_CONTINUOUS if single_semi else ColumnKind.CONTINUOUS
        self.cols: dict[str, IntArray] = {
            name: builder.add_columns(n, self.minimum if single_semi else 0.0, self.upper, kind) for name in services
        }
        columns = list(self.cols.values())
        if len(columns) > 1:
            semi = self.minimum > 0.0
            share = builder.add_rows(n, 0.0 if semi else -np.inf, 0.0 if semi else self.upper)
            for cols in columns:
                builder.add_entries(share, cols, np.ones(n))
            self.total: IntArray | None = None
            if self.minimum > 0.0:  # Σ services − total = 0, total ∈ {0} ∪ [P_min, P_max]
                self.total = builder.add_columns(n, self.minimum, self.upper, ColumnKind.SEMI_CONTINUOUS)
                builder.add_entries(share, self.total, -np.ones(n))
        else:
            self.total = None
        for cols in columns:
            builder.add_entries(context.site_rows, cols, np.ones(n))
            if self.greenest:
                assert context.co2 is not None
                builder.add_objective(Level.CO2, cols, context.scales.co2(context.co2 * context.slot_hours))

        self.tank = None if device.tank is None else tank_zone(device.tank, context)
        self.room = None if device.room is None else room_zone(device.room, t_out, context)
        if self.tank is not None:
            self.tank.build(builder, [HeatInput(self.cols["hot_water"], services["hot_water"])])
        if self.room is not None:
            inputs = [HeatInput(self.cols[name], services[name]) for name in ("heating", "cooling") if name in services]
            self.room.build(builder, inputs)

    def peak_kw(self) -> float:
        """The unit's maximum electric power [kW]."""
        return self.upper

    def initial(self, x: FloatArray) -> None:
        """Off throughout (feasible: the bands are soft); temperatures and slacks to match."""
        n = self.context.grid.count
        for cols in self.cols.values():
            x[cols] = 0.0
        if self.total is not None:
            x[self.total] = 0.0
        if self.tank is not None:
            self.tank.initial(x, np.zeros(n))
        if self.room is not None:
            self.room.initial(x, np.zeros(n))

    def service_kw(self, x: FloatArray, name: str) -> FloatArray:
        """Electric power of one service per slot [kW] (zeros when the unit does not have it)."""
        if name not in self.cols:
            return np.zeros(self.context.grid.count)
        power = np.array(x[self.cols[name]], dtype=np.float64)
        power[np.abs(power) < 1e-9] = 0.0
        return power

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Electric power per slot [kW]: the sum of the services."""
        total = np.zeros(self.context.grid.count)
        for name in self.cols:
            total += self.service_kw(x, name)
        return total

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Power, its hot-water part, tank and room temperatures, and the band violations."""
        device = self.device
        power = self.power_kw(x)
        violations: list[Violation] = []
        tank_c = room_c = None
        if self.tank is not None:
            tank_c = self.tank.temperatures(x)
            violations += self.tank.violations(x, device.device_id)
        if self.room is not None:
            room_c = self.room.temperatures(x)
            violations += self.room.violations(x, device.device_id)
        state = tank_c if tank_c is not None else room_c
        assert state is not None
        plan = DevicePlan(
            device_id=device.device_id,
            kind=device.kind,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * self.context.slot_hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            state=tuple(state.tolist()),
            state_quantity="tank_temperature" if tank_c is not None else "room_temperature",
            state_unit="°C",
            room_temperature_c=None if room_c is None else tuple(room_c.tolist()),
            hot_water_power_w=None if self.tank is None else watts(self.service_kw(x, "hot_water")),
        )
        return plan, violations
