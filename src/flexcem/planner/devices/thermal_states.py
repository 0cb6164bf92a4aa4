"""Linear blocks shared by the thermal kinds: a first-order zone (tank or room) with a soft temperature band.

A zone's temperature T [°C] follows ``C·dT/dt = Q_in − Q_out − UA·(T − T_amb)/1000`` (docs/home-physics.md),
stepped exactly over each planning slot with :func:`flexcem.physics.tank_step_coefficients`::

    T[k+1] = a·T[k] + g·(Q_k/C + λ·T_amb,k),      a = decay, g = gain [h], λ = UA/(1000·C) [1/h]

with ``Q_k`` [kW] the sum of the heat inputs (COP·P, −EER·P, a fuel cell's heat minus its dump) and the
disturbance (gains, minus the hot-water draws). One column per slot holds T[k+1]; the band is soft:

    T[k+1] + below_k ≥ lower_k,   T[k+1] − above_k ≤ upper_k,   below, above ≥ 0

with ``TEMPERATURE_WEIGHT · Δt`` violation units per K of each (K·h outside the band, counting the
temperature at the end of each slot for the whole slot; within a slot the temperature is monotone, so the
slot ends are its extremes). A hot-water request adds ``T[j] + short ≥ min_c`` at the last slot boundary j
not after its time, ``REQUEST_WEIGHT`` per K short.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flexcem.physics import step, tank_step_coefficients
from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.context import PlanningContext
from flexcem.planner.devices.thermal_inputs import HotWaterRequest
from flexcem.planner.grid import FloatArray, IntArray
from flexcem.planner.result import Violation, ViolationKind

__all__ = ["REQUEST_WEIGHT", "TEMPERATURE_WEIGHT", "HeatInput", "ThermalZone"]

TEMPERATURE_WEIGHT = 1.0
"""Violation units per K·h a tank or room is outside its band."""
REQUEST_WEIGHT = 10.0
"""Violation units per K a tank is short of an extra-hot-water request at its time."""

_REPORT_K = 1e-4
"""Deviations below this [K] are solver noise, not violations."""


@dataclass(frozen=True)
class HeatInput:
    """Columns that put heat into a zone: ``kw_per_unit[k]`` kW thermal per unit of ``cols[k]`` (signed)."""

    cols: IntArray
    kw_per_unit: FloatArray


class ThermalZone:
    """Temperature columns, soft band and optional request of one tank or room."""

    def __init__(
        self,
        context: PlanningContext,
        *,
        label: str,
        violation: ViolationKind,
        heat_capacity_kwh_per_k: float,
        loss_w_per_k: float,
        initial_c: float,
        ambient_c: FloatArray,
        disturbance_kw: FloatArray,
        lower_c: FloatArray,
        upper_c: FloatArray,
        request: HotWaterRequest | None = None,
    ) -> None:
        self.context = context
        self.label = label
        self.violation = violation
        self.capacity = heat_capacity_kwh_per_k
        self.coefficients = tank_step_coefficients(heat_capacity_kwh_per_k, loss_w_per_k, context.slot_hours)
        self.rate = loss_w_per_k / 1000.0 / heat_capacity_kwh_per_k
        self.initial_c = initial_c
        self.ambient_c = ambient_c
        self.disturbance_kw = disturbance_kw
        self.lower = lower_c
        self.upper = upper_c
        self.request = request
        self.request_slot = -1
        if request is not None:
            offset = context.grid.offset_us(request.by)
            if offset >= 0:
                self.request_slot = min(max(1, offset // context.grid.slot_us), context.grid.count)

    def constant_k_per_h(self) -> FloatArray:
        """The input-free part of b per slot [K/h]: disturbance/C + λ·T_amb."""
        result: FloatArray = self.disturbance_kw / self.capacity + self.rate * self.ambient_c
        return result

    def build(self, builder: ModelBuilder, inputs: Sequence[HeatInput]) -> None:
        """Add the temperature columns, the step rows, the band slacks and their violation terms."""
        n = self.context.grid.count
        hours = self.context.slot_hours
        decay, gain = self.coefficients.decay, self.coefficients.gain
        self.t_cols = builder.add_columns(n, -np.inf, np.inf)
        rhs = gain * self.constant_k_per_h()
        rhs[0] += decay * self.initial_c
        rows = builder.add_rows(n, rhs, rhs)  # T[k+1] − a·T[k] − (g/C)·Q_k = g·b_k
        builder.add_entries(rows, self.t_cols, np.ones(n))
        builder.add_entries(rows[1:], self.t_cols[:-1], np.full(n - 1, -decay))
        for heat in inputs:
            builder.add_entries(rows, heat.cols, -gain / self.capacity * heat.kw_per_unit)
        self.below_slots = np.flatnonzero(np.isfinite(self.lower))
        self.above_slots = np.flatnonzero(np.isfinite(self.upper))
        self.below = builder.add_columns(self.below_slots.size)
        self.above = builder.add_columns(self.above_slots.size)
        if self.below_slots.size:
            low = builder.add_rows(self.below_slots.size, self.lower[self.below_slots], np.inf)
            builder.add_entries(low, self.t_cols[self.below_slots], np.ones(self.below_slots.size))
            builder.add_entries(low, self.below, np.ones(self.below_slots.size))
            builder.add_objective(Level.VIOLATION, self.below, TEMPERATURE_WEIGHT * hours)
        if self.above_slots.size:
            high = builder.add_rows(self.above_slots.size, -np.inf, self.upper[self.above_slots])
            builder.add_entries(high, self.t_cols[self.above_slots], np.ones(self.above_slots.size))
            builder.add_entries(high, self.above, -np.ones(self.above_slots.size))
            builder.add_objective(Level.VIOLATION, self.above, TEMPERATURE_WEIGHT * hours)
        self.short_col = -1
        if self.request is not None and self.request_slot >= 1:
            self.short_col = int(builder.add_columns(1)[0])
            row = builder.add_rows(1, self.request.min_c, np.inf)
            builder.add_entries([row[0], row[0]], [self.t_cols[self.request_slot - 1], self.short_col], [1.0, 1.0])
            builder.add_objective(Level.VIOLATION, [self.short_col], [REQUEST_WEIGHT])

    def simulate(self, heat_kw: FloatArray) -> FloatArray:
        """Temperatures at the slot boundaries [°C] (n + 1 values) for a net heat input per slot [kW]."""
        return step(self.initial_c, heat_kw / self.capacity + self.constant_k_per_h(), self.coefficients)

    def initial(self, x: FloatArray, heat_kw: FloatArray) -> None:
        """Temperature and slack columns that match a net heat input per slot [kW]."""
        temperatures = self.simulate(heat_kw)[1:]
        x[self.t_cols] = temperatures
        x[self.below] = np.maximum(self.lower[self.below_slots] - temperatures[self.below_slots], 0.0)
        x[self.above] = np.maximum(temperatures[self.above_slots] - self.upper[self.above_slots], 0.0)
        if self.short_col >= 0 and self.request is not None:
            x[self.short_col] = max(self.request.min_c - temperatures[self.request_slot - 1], 0.0)

    def temperatures(self, x: FloatArray) -> FloatArray:
        """Temperatures at the slot boundaries in solution ``x`` [°C]: the initial one, then the end of each slot."""
        return np.concatenate(([self.initial_c], x[self.t_cols]))

    def violations(self, x: FloatArray, device_id: str) -> list[Violation]:
        """One violation per run of slots below or above the band (K·h), and one for a missed request (K)."""
        grid = self.context.grid
        hours = self.context.slot_hours
        temperatures = x[self.t_cols]
        found: list[Violation] = []
        for side, deviation in (
            ("below", np.where(np.isfinite(self.lower), self.lower - temperatures, 0.0)),
            ("above", np.where(np.isfinite(self.upper), temperatures - self.upper, 0.0)),
        ):
            outside = deviation > _REPORT_K
            for first, last in _runs(outside):
                amount = float(np.sum(deviation[first:last]) * hours)
                worst = float(np.max(deviation[first:last]))
                start, end = grid.slot_start(first), grid.slot_start(last)
                found.append(
                    Violation(
                        constraint=self.violation,
                        device_id=device_id,
                        slot_start=start,
                        amount=amount,
                        unit="K·h",
                        message=f"{device_id}: the {self.label} is {side} its band from {start.isoformat()} to "
                        f"{end.isoformat()}, {amount:.2f} K·h in all, {worst:.2f} K at worst",
                    )
                )
        if self.request is not None and self.request_slot >= 1:
            reached = float(temperatures[self.request_slot - 1])
            short = self.request.min_c - reached
            if short > _REPORT_K:
                at = grid.at(float(grid.edges_us[self.request_slot]))
                found.append(
                    Violation(
                        constraint=ViolationKind.HOT_WATER_REQUEST,
                        device_id=device_id,
                        slot_start=grid.slot_start(self.request_slot - 1),
                        amount=short,
                        unit="K",
                        message=f"{device_id}: the {self.label} reaches {reached:.1f} °C at {at.isoformat()}, "
                        f"{short:.2f} K short of the {self.request.min_c:.1f} °C requested by "
                        f"{self.request.by.isoformat()}",
                    )
                )
        return found


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[first, last)`` index ranges where ``mask`` is true."""
    padded = np.concatenate(([False], mask.astype(bool), [False]))
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(changes[i]), int(changes[i + 1])) for i in range(0, changes.size, 2)]
