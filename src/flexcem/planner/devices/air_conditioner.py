"""Air conditioners: an air-to-air heat pump that cools (or heats) one room (JWG1110).

Formulation (kW, per planning slot k): cooling power ``c_k`` with EER from the outdoor temperature
(:func:`flexcem.physics.cooling_eer`, evaporator at ``supply_cooling_c``) and/or heating power ``h_k`` with
COP (:func:`flexcem.physics.carnot_cop`, condenser at ``supply_space_heating_c``), as ``mode`` allows;
``c + h ≤ P_max`` (in "auto" it alternates within a slot); with ``power_min_w > 0`` the total is
semi-continuous in {0} ∪ [P_min, P_max]. The room (:class:`~flexcem.planner.devices.thermal_states.ThermalZone`)
gets ``COP·h − EER·c`` plus its gains and exchanges heat with outdoors; its comfort band is soft (K·h). A
user's set point s is the band [s − 1, s + 1] (``ComfortSlot.set_point_c``). The indoor fan runs whenever the
unit is on: ``fan_power_w`` is a constant load in every slot, in the plan's power and cost. With
``not_before`` (the user's desirable start time, JWG1110) the unit is off in every slot that starts before it:
no compressor power (a row per such slot: the services sum to 0) and no fan.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import numpy as np
from pydantic import AwareDatetime, Field, field_validator

from flexcem.model.home_parameters import HeatPumpParameters
from flexcem.planner.builder import ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.devices.base import FieldPath, PlannerDevice
from flexcem.planner.devices.heat_pump import HeatPumpDevice, HeatPumpFormulation, SpaceMode
from flexcem.planner.devices.thermal_inputs import RoomInput, TemperatureSlot, check_no_overlap, uncovered
from flexcem.planner.devices.water_heater import first_slot_from
from flexcem.planner.grid import FloatArray
from flexcem.planner.result import DevicePlan, Violation

__all__ = ["AirConditionerDevice", "AirConditionerFormulation"]

_MODES: dict[str, SpaceMode] = {"cool": "cooling", "heat": "heating", "auto": "auto"}


class AirConditionerDevice(PlannerDevice):
    """A room air conditioner."""

    kind: Literal["air_conditioner"] = Field(default="air_conditioner", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    """No window of its own: the problem's ``end`` (or another device) sets the horizon."""
    unit: HeatPumpParameters = Field(
        description="Electric power range and EER/COP model (supply_hot_water_c is not used)."
    )
    outdoor: tuple[TemperatureSlot, ...] = Field(
        min_length=1, description="Outdoor temperature forecast [°C] per slot; must cover the horizon."
    )
    room: RoomInput = Field(description="The room, its temperature now, gains and comfort band or set points.")
    mode: Literal["cool", "heat", "auto"] = Field(
        default="cool", description="User's mode: 'cool', 'heat' or 'auto' (the planner cools or heats)."
    )
    fan_power_w: float = Field(
        default=0.0,
        ge=0.0,
        description="The indoor fan's power while the unit is on [W], drawn in every slot from ``not_before``.",
    )
    not_before: AwareDatetime | None = Field(
        default=None,
        description="The unit is off (compressor and fan) in every slot that starts before this (the user's "
        "desirable start time, JWG1110); none: on from the start of the horizon.",
    )

    @field_validator("outdoor")
    @classmethod
    def _outdoor(cls, outdoor: tuple[TemperatureSlot, ...]) -> tuple[TemperatureSlot, ...]:
        check_no_overlap(outdoor, "outdoor")
        return outdoor

    def required_end(self, plan_start: datetime) -> datetime:
        """Nothing to finish: the horizon is set by ``end`` or other devices."""
        return plan_start

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """Where the outdoor forecast, the comfort band or the gains leave the horizon uncovered."""
        return uncovered(self.outdoor, start, end, ("outdoor",)) + self.room.horizon_errors(start, end, "room")

    def as_heat_pump(self) -> HeatPumpDevice:
        """The same unit as a heat pump without a tank (the formulation is the heat pump's)."""
        return HeatPumpDevice(
            device_id=self.device_id,
            incentive=self.incentive,
            heat_pump=self.unit,
            outdoor=self.outdoor,
            room=self.room,
            space_mode=_MODES[self.mode],
        )


class AirConditionerFormulation(HeatPumpFormulation):
    """The heat pump's room formulation; the plan keeps the kind 'air_conditioner'."""

    def __init__(self, device: AirConditionerDevice, context: PlanningContext) -> None:
        super().__init__(device.as_heat_pump(), context)
        self.original = device
        self.fan_kw = device.fan_power_w / 1000.0
        self.first = first_slot_from(context.grid, device.not_before)
        """The first slot the unit may run in (those before it start before ``not_before``)."""
        self.fan = np.zeros(context.grid.count)
        self.fan[self.first :] = self.fan_kw

    def build(self, builder: ModelBuilder) -> None:
        """The heat pump's columns and rows, the fan as a constant load on the site rows from the first slot the
        unit may run in, and before it a row per slot that keeps the services at 0."""
        super().build(builder)
        n = self.context.grid.count
        self.one = builder.add_columns(1, 1.0, 1.0)  # a constant 1: the fan in every slot it runs in
        builder.add_entries(
            self.context.site_rows[self.first :], np.full(n - self.first, self.one[0]), self.fan[self.first :]
        )
        if self.first:
            off = builder.add_rows(self.first, 0.0, 0.0)  # Σ services = 0 before not_before (each is ≥ 0)
            for cols in self.cols.values():
                builder.add_entries(off, cols[: self.first], np.ones(self.first))

    def initial(self, x: FloatArray) -> None:
        """The heat pump's starting point, with the fan's constant column."""
        super().initial(x)
        x[self.one] = 1.0

    def peak_kw(self) -> float:
        """The unit's and the fan's maximum electric power [kW]."""
        return super().peak_kw() + self.fan_kw

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Compressor and fan power per slot [kW]."""
        return super().power_kw(x) + self.fan

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """The heat pump's plan under the kind 'air_conditioner'."""
        plan, violations = super().extract(x)
        return plan.model_copy(update={"kind": self.original.kind}), violations
