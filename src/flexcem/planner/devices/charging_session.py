"""Charging sessions: an energy need with a deadline whose power the planner shapes slot by slot (an EV).

Formulation, for the planning slots k that overlap ``[earliest_start, latest_end)`` (the fraction f_k of
each slot inside the window scales its energy):

* ``p_k`` [kW] — the charging power while inside the window, semi-continuous: 0 or between
  ``min_power_w`` and the limit (``max_power_w`` and the first point of the curve);
* ``e_k`` [kWh] — the cumulative energy at the END of slot k: ``e_k = e_{k-1} + f_k·Δt·p_k``;
* ``s`` [kWh] — the shortfall: ``e_last + s = energy_wh`` (``s`` is charged in the violation level);
* taper: for each sloped segment ``a + b·E`` of the (concave, non-increasing) power curve,
  ``p_k ≤ a + b·e_k``. Using the energy at the end of the slot is conservative: within the slot the
  delivered energy is lower and the curve's limit higher, so a charger that draws min(plan, curve(E)) really
  delivers the planned energy. Past the last point of the curve the last segment is extended, which is
  conservative too.

The site sees the slot average ``f_k·p_k``.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import AwareDatetime, Field, field_validator, model_validator

from flexcem.model.flexibility import (
    ChargeCurvePoint,
    ChargingSessionOffer,
    IncentiveProgram,
    charge_limit_at,
    check_charge_curve,
)
from flexcem.planner.builder import ColumnKind, Level, ModelBuilder
from flexcem.planner.devices.base import DeviceFormulation, PlannerDevice
from flexcem.planner.grid import FloatArray, watts
from flexcem.planner.objective import SHORTFALL_WEIGHT, TIE_COMPLETION
from flexcem.planner.result import DevicePlan, Violation, ViolationKind

__all__ = ["ChargingSessionDevice", "ChargingSessionFormulation"]

_ACTIVE_KW = 1e-6
"""Below this power [kW] a slot counts as not charging."""


class ChargingSessionDevice(PlannerDevice):
    """An energy need with a deadline and a charger whose power the planner chooses per slot."""

    kind: Literal["charging_session"] = Field(default="charging_session", description="Device kind tag.")
    earliest_start: AwareDatetime = Field(description="Charging may begin at this instant (plug-in).")
    latest_end: AwareDatetime = Field(description="The energy must be delivered by this instant (departure).")
    energy_wh: float = Field(gt=0.0, description="Energy to deliver by latest_end [Wh].")
    max_power_w: float = Field(gt=0.0, description="Charger power limit [W].")
    min_power_w: float = Field(
        default=0.0,
        ge=0.0,
        description="Least power while charging [W]: the charger draws 0 or at least this.",
    )
    power_curve: tuple[ChargeCurvePoint, ...] = Field(
        default=(),
        description="Power limit [W] against the energy delivered in the session [Wh] (the taper near full); "
        "concave and non-increasing; empty means max_power_w throughout.",
    )

    @field_validator("power_curve")
    @classmethod
    def _concave_curve(cls, curve: tuple[ChargeCurvePoint, ...]) -> tuple[ChargeCurvePoint, ...]:
        return check_charge_curve(curve)

    @model_validator(mode="after")
    def _consistent(self) -> ChargingSessionDevice:
        if self.latest_end <= self.earliest_start:
            raise ValueError(
                f"latest_end {self.latest_end.isoformat()} is not after earliest_start "
                f"{self.earliest_start.isoformat()}"
            )
        if self.min_power_w > self.max_power_w:
            raise ValueError(f"min_power_w {self.min_power_w} exceeds max_power_w {self.max_power_w}")
        return self

    @classmethod
    def from_offer(
        cls, offer: ChargingSessionOffer, incentive: IncentiveProgram = IncentiveProgram.CHEAPEST
    ) -> ChargingSessionDevice:
        """The planner's view of a device's charging-session offer (``incentive`` when the offer has none)."""
        return cls(
            device_id=offer.device_id,
            earliest_start=offer.earliest_start,
            latest_end=offer.latest_end,
            energy_wh=offer.energy_wh,
            max_power_w=offer.max_power_w,
            min_power_w=offer.min_power_w,
            power_curve=offer.power_curve,
            incentive=offer.incentive or incentive,
        )

    def required_end(self, plan_start: datetime) -> datetime:
        """The session must end by ``latest_end``."""
        return self.latest_end

    def limit_at(self, delivered_wh: float) -> float:
        """Most the charger may draw [W] after ``delivered_wh`` of the session (the curve interpolated)."""
        return charge_limit_at(self.power_curve, self.max_power_w, delivered_wh)

    def upper_kw(self) -> float:
        """The flat limit [kW]: max_power_w, or the start of the curve when lower."""
        limit = self.max_power_w if not self.power_curve else min(self.max_power_w, self.power_curve[0].max_power_w)
        return limit / 1000.0

    def taper_segments(self) -> list[tuple[float, float]]:
        """Sloped segments of the curve as (a [kW], b [kW/kWh]): ``p ≤ a + b·E`` with E in kWh."""
        segments = []
        curve = self.power_curve
        for index in range(1, len(curve)):
            left, right = curve[index - 1], curve[index]
            slope = (right.max_power_w - left.max_power_w) / (right.energy_wh - left.energy_wh)  # W/Wh = 1/h
            if slope < 0.0:
                intercept = left.max_power_w - slope * left.energy_wh
                segments.append((intercept / 1000.0, slope))
        return segments


class ChargingSessionFormulation(DeviceFormulation[ChargingSessionDevice]):
    """Semi-continuous power per slot, cumulative energy, taper rows and an energy shortfall slack."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the power, energy and shortfall columns, the energy and taper rows and the objective terms."""
        device, context = self.device, self.context
        grid = context.grid
        self.window = (
            max(grid.offset_us(device.earliest_start), 0),
            min(grid.offset_us(device.latest_end), grid.end_us),
        )
        self.first, self.fraction = grid.overlap_fractions(*self.window)
        n = self.fraction.size
        self.need_kwh = device.energy_wh / 1000.0
        self.upper = device.upper_kw()
        self.minimum = device.min_power_w / 1000.0
        if self.minimum > self.upper:
            self.upper = 0.0  # the charger can never run above its minimum
        self.segments = device.taper_segments()
        self.hours = self.fraction * context.slot_hours  # kWh per kW in each slot
        if n == 0:
            self.p_cols = np.zeros(0, dtype=np.int64)
            self.e_cols = np.zeros(0, dtype=np.int64)
            self.shortfall_col = -1
            return
        semi = 0.0 < self.minimum <= self.upper
        self.p_cols = builder.add_columns(
            n,
            self.minimum if semi else 0.0,
            self.upper,
            ColumnKind.SEMI_CONTINUOUS if semi else ColumnKind.CONTINUOUS,
        )
        self.shortfall_col = int(builder.add_columns(1, 0.0, self.need_kwh)[0])
        slots = self.first + np.arange(n)
        builder.add_entries(context.site_rows[slots], self.p_cols, self.fraction)
        if self.segments:
            self.e_cols = builder.add_columns(n, 0.0, self.need_kwh)
            flow = builder.add_rows(n, 0.0, 0.0)  # e_k - e_{k-1} - h_k p_k = 0
            builder.add_entries(flow, self.e_cols, np.ones(n))
            builder.add_entries(flow[1:], self.e_cols[:-1], -np.ones(n - 1))
            builder.add_entries(flow, self.p_cols, -self.hours)
            total = builder.add_rows(1, self.need_kwh, self.need_kwh)
            builder.add_entries([total[0], total[0]], [self.e_cols[-1], self.shortfall_col], [1.0, 1.0])
            for intercept, slope in self.segments:
                taper = builder.add_rows(n, -np.inf, intercept)
                builder.add_entries(taper, self.p_cols, np.ones(n))
                builder.add_entries(taper, self.e_cols, -slope * np.ones(n))
        else:
            self.e_cols = np.zeros(0, dtype=np.int64)
            total = builder.add_rows(1, self.need_kwh, self.need_kwh)
            builder.add_entries(np.full(n + 1, total[0]), [*self.p_cols, self.shortfall_col], [*self.hours, 1.0])

        builder.add_objective(Level.VIOLATION, [self.shortfall_col], [SHORTFALL_WEIGHT])
        if self.greenest:
            assert context.co2 is not None
            builder.add_objective(Level.CO2, self.p_cols, context.scales.co2(self.hours * context.co2[slots]))
        slot_end = np.minimum(grid.edges_us[slots + 1], float(self.window[1]))
        completion = TIE_COMPLETION * self.hours * context.completion_fraction(slot_end)
        builder.add_objective(Level.COST, self.p_cols, context.scales.tie(completion))

    def peak_kw(self) -> float:
        """The charger's flat limit [kW]."""
        return self.upper

    def initial(self, x: FloatArray) -> None:
        """Charge as early and as fast as the limits allow (a feasible starting point)."""
        if self.p_cols.size == 0:
            return
        delivered = 0.0
        powers = np.zeros(self.p_cols.size)
        for k, hours in enumerate(self.hours):
            remaining = self.need_kwh - delivered
            if remaining <= 1e-12 or hours <= 0.0:
                continue
            cap = self.upper
            for intercept, slope in self.segments:
                cap = min(cap, (intercept + slope * delivered) / (1.0 - slope * hours))
            power = min(cap, remaining / hours)
            if power < self.minimum or power <= 0.0:
                continue
            powers[k] = power
            delivered += power * hours
        x[self.p_cols] = powers
        energies = np.cumsum(powers * self.hours)
        if self.e_cols.size:
            x[self.e_cols] = np.minimum(energies, self.need_kwh)
        x[self.shortfall_col] = max(0.0, self.need_kwh - float(energies[-1]))

    def charging_kw(self, x: FloatArray) -> FloatArray:
        """Charging power while inside the window, per overlapping slot [kW] (tiny values cleared)."""
        power = np.array(x[self.p_cols], dtype=np.float64)
        power[np.abs(power) < _ACTIVE_KW] = 0.0
        return power

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Average power per planning slot [kW]."""
        power = np.zeros(self.context.grid.count)
        power[self.first : self.first + self.fraction.size] = self.charging_kw(x) * self.fraction
        return power

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Power per slot, first and last charging instants, energy, cost, CO2 and any shortfall."""
        device, grid = self.device, self.context.grid
        power = self.power_kw(x)
        active = np.flatnonzero(self.charging_kw(x) > 0.0) + self.first
        start = end = None
        if active.size:
            start = grid.at(max(float(grid.edges_us[active[0]]), float(self.window[0])))
            end = grid.at(min(float(grid.edges_us[active[-1] + 1]), float(self.window[1])))
        delivered_wh = float(np.sum(power) * self.context.slot_hours * 1000.0)
        plan = DevicePlan(
            device_id=device.device_id,
            kind=device.kind,
            start=start,
            end=end,
            power_w=watts(power),
            energy_wh=delivered_wh,
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
        )
        shortfall = device.energy_wh - delivered_wh
        violations = []
        if shortfall > 0.01 and not math.isclose(shortfall, 0.0, abs_tol=1e-6 * device.energy_wh):
            violations.append(
                Violation(
                    constraint=ViolationKind.ENERGY_SHORTFALL,
                    device_id=device.device_id,
                    amount=shortfall,
                    unit="Wh",
                    message=f"{device.device_id} receives {delivered_wh:.0f} Wh of the "
                    f"{device.energy_wh:.0f} Wh it needs by latest_end {device.latest_end.isoformat()}: "
                    f"{shortfall:.0f} Wh short",
                )
            )
        return plan, violations
