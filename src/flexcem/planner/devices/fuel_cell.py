"""Residential fuel cells (CHP): electricity for the site, heat into their own tank (JWG1111, JWG1133).

Formulation (kW, per planning slot k, Δt [h]):

* electric output ``p_k`` (generation: −p_k at the site balance) in {0} ∪ [P_min, P_max];
* with a minimum on or off time, a binary ``u_k`` (running) and start/stop columns ``s_k, d_k ∈ [0, 1]``:
  ``s_k − d_k = u_k − u_{k−1}`` (``u_{−1}`` the initial state), ``P_min·u_k ≤ p_k ≤ P_max·u_k``, and the
  standard minimum up/down rows ``Σ_{τ=k−U+1..k} s_τ ≤ u_k``, ``Σ_{τ=k−D+1..k} d_τ ≤ 1 − u_k`` with U, D the
  minimum times in slots (rounded up). A unit that has been on (off) for less than its minimum time at the
  start stays on (off) until it has served it. ``s, d`` need no integrality: with ``u`` integral they are;
  without minimum times ``p`` is semi-continuous (or continuous when P_min = 0) and there is no binary;
* heat ``p_k·η_th/η_el`` into the tank, less a dump ``0 ≤ dump_k ≤ p_k·η_th/η_el`` (the unit's radiator, for
  heat the tank cannot hold), plus an optional backup boiler ``0 ≤ b_k ≤ B_max`` [kW thermal];
* gas cost ``(p_k/η_el + b_k/η_b)·Δt / gas_kwh_per_m3 · gas_price_k`` in the cost level, so the plan runs
  the unit when the electricity it replaces (and the boiler gas its heat saves) is worth more than its gas.

The tank band is soft (K·h). The plan's ``fuel_cost`` and ``gas_m3`` report the gas; ``total_cost`` of the
plan stays electricity only.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from flexcem.model.home_parameters import FuelCellParameters
from flexcem.model.timeseries import Slot
from flexcem.planner.builder import ColumnKind, Level, ModelBuilder
from flexcem.planner.context import resample_slots
from flexcem.planner.devices.base import DeviceFormulation, FieldPath, PlannerDevice, SiteValue
from flexcem.planner.devices.heat_pump import tank_zone
from flexcem.planner.devices.thermal_inputs import GasPriceSlot, TankInput, check_no_overlap, uncovered
from flexcem.planner.devices.thermal_states import HeatInput
from flexcem.planner.grid import FloatArray, IntArray, touched_slots, watts
from flexcem.planner.objective import TIE_COMPLETION
from flexcem.planner.result import DevicePlan, Violation, ViolationKind

OFF_WEIGHT = 100.0
"""Violation units per kWh a generator produces in a window in which it is to be off."""

__all__ = ["FuelCellDevice", "FuelCellFormulation", "min_up_down_repair"]

_INTEGRAL = 1e-6


class FuelCellDevice(PlannerDevice):
    """A fuel-cell CHP unit with its hot-water tank."""

    kind: Literal["fuel_cell"] = Field(default="fuel_cell", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    """No window of its own: the problem's ``end`` (or another device) sets the horizon."""
    fuel_cell: FuelCellParameters = Field(description="Output range, efficiencies, minimum times, backup boiler.")
    tank: TankInput = Field(description="The tank its heat goes into, with the hot-water draws.")
    gas_prices: tuple[GasPriceSlot, ...] = Field(
        min_length=1, description="Gas price [currency/m³] per slot; must cover the horizon."
    )
    initially_on: bool = Field(default=False, description="Whether the unit is running at the start.")
    off: tuple[Slot, ...] = Field(
        default=(),
        description="Windows in which the unit is to be off (e.g. an export-reduction request, JWG1211): it "
        "produces nothing in every slot they touch, unless its minimum on time keeps it on (a violation, Wh).",
    )
    in_state_for_h: float | None = Field(
        default=None,
        ge=0.0,
        description="How long it has been in that state (on or off) at the start [h]; none: longer than its "
        "minimum on and off times.",
    )

    @field_validator("gas_prices")
    @classmethod
    def _gas(cls, slots: tuple[GasPriceSlot, ...]) -> tuple[GasPriceSlot, ...]:
        check_no_overlap(slots, "gas_prices")
        return slots

    def required_end(self, plan_start: datetime) -> datetime:
        """The extra-hot-water time if any."""
        return self.tank.required_end(plan_start)

    def horizon_errors(self, start: datetime, end: datetime) -> list[tuple[FieldPath, str]]:
        """Where the gas prices or the draws leave the horizon uncovered."""
        return uncovered(self.gas_prices, start, end, ("gas_prices",)) + self.tank.horizon_errors(start, end, "tank")


def _slots(hours: float, slot_hours: float) -> int:
    return max(0, math.ceil(hours / slot_hours - 1e-9))


def min_up_down_repair(wanted: np.ndarray, initially_on: bool, in_state_slots: int, up: int, down: int) -> np.ndarray:
    """The on/off sequence closest to ``wanted`` (left to right) that keeps the minimum up/down times [slots].

    A switch is delayed until the current state has lasted its minimum; ``in_state_slots`` is how long the
    initial state has lasted before the first slot.
    """
    state = bool(initially_on)
    length = in_state_slots
    result = np.zeros(wanted.size, dtype=bool)
    for k, want in enumerate(wanted.astype(bool)):
        if want != state and length >= (up if state else down):
            state, length = want, 0
        result[k] = state
        length += 1
    return result


class FuelCellFormulation(DeviceFormulation[FuelCellDevice]):
    """Output, on/off with minimum times, heat into the tank, dump, backup boiler and gas cost."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the columns, rows and objective terms of the module docstring."""
        device, context = self.device, self.context
        fc = device.fuel_cell
        n, hours = context.grid.count, context.slot_hours
        self.upper, self.minimum = fc.power_max_w / 1000.0, fc.power_min_w / 1000.0
        self.heat_ratio = fc.thermal_efficiency / fc.electrical_efficiency
        self.up, self.down = _slots(fc.min_on_h, hours), _slots(fc.min_off_h, hours)
        long_enough = max(self.up, self.down)
        self.in_state = long_enough if device.in_state_for_h is None else int(device.in_state_for_h / hours + 1e-9)
        self.binary = fc.min_on_h > 0.0 or fc.min_off_h > 0.0
        gas_price = resample_slots(context.grid, device.gas_prices, [slot.price_per_m3 for slot in device.gas_prices])
        self.gas_price_per_kwh = gas_price / fc.gas_kwh_per_m3  # currency per kWh of gas

        if self.binary:
            self.p = builder.add_columns(n, 0.0, self.upper)
            self.u = builder.add_binaries(n)
            self._on_off_rows(builder)
        else:
            semi = self.minimum > 0.0
            kind = ColumnKind.SEMI_CONTINUOUS if semi else ColumnKind.CONTINUOUS
            self.p = builder.add_columns(n, self.minimum if semi else 0.0, self.upper, kind)
            self.u = np.zeros(0, dtype=np.int64)
        builder.add_entries(context.site_rows, self.p, -np.ones(n))
        self.off_slots = np.flatnonzero(touched_slots(context.grid, [(w.start, w.duration) for w in device.off]))
        self.off_excess = builder.add_columns(self.off_slots.size)  # p_k − e_k ≤ 0 where it is to be off
        if self.off_slots.size:
            off_rows = builder.add_rows(self.off_slots.size, -np.inf, 0.0)
            builder.add_entries(off_rows, self.p[self.off_slots], np.ones(self.off_slots.size))
            builder.add_entries(off_rows, self.off_excess, -np.ones(self.off_slots.size))
            builder.add_objective(Level.VIOLATION, self.off_excess, np.full(self.off_slots.size, OFF_WEIGHT * hours))
        self.dump = builder.add_columns(n)
        cap = builder.add_rows(n, -np.inf, 0.0)  # dump − ratio·p ≤ 0
        builder.add_entries(cap, self.dump, np.ones(n))
        builder.add_entries(cap, self.p, np.full(n, -self.heat_ratio))
        self.boiler = builder.add_columns(n, 0.0, fc.backup_boiler_power_max_w / 1000.0)
        gas_p = self.gas_price_per_kwh * hours / fc.electrical_efficiency
        gas_b = self.gas_price_per_kwh * hours / fc.backup_boiler_efficiency
        builder.add_objective(Level.COST, self.p, context.scales.cost(gas_p))
        builder.add_objective(Level.COST, self.boiler, context.scales.cost(gas_b))
        builder.add_objective(Level.COST, self.dump, context.scales.tie(np.full(n, TIE_COMPLETION * hours)))
        if self.greenest:
            assert context.co2 is not None
            builder.add_objective(Level.CO2, self.p, -context.scales.co2(context.co2 * hours))
        self.tank = tank_zone(device.tank, context)
        self.tank.build(
            builder,
            [
                HeatInput(self.p, np.full(n, self.heat_ratio)),
                HeatInput(self.dump, -np.ones(n)),
                HeatInput(self.boiler, np.ones(n)),
            ],
        )

    def _forced(self) -> tuple[int, bool]:
        """Slots at the start the unit must stay in its initial state, and that state."""
        on = self.device.initially_on
        need = self.up if on else self.down
        return max(0, need - self.in_state), on

    def _on_off_rows(self, builder: ModelBuilder) -> None:
        n = self.context.grid.count
        u, p = self.u, self.p
        initial = 1.0 if self.device.initially_on else 0.0
        self.s, self.d = builder.add_columns(n, 0.0, 1.0), builder.add_columns(n, 0.0, 1.0)
        forced, on = self._forced()
        if forced:
            fixed = builder.add_rows(min(forced, n), 1.0 if on else 0.0, 1.0 if on else 0.0)
            builder.add_entries(fixed, u[: fixed.size], np.ones(fixed.size))
        rhs = np.zeros(n)
        rhs[0] = -initial
        flow = builder.add_rows(n, rhs, rhs)  # s − d − u_k + u_{k−1} = 0
        builder.add_entries(flow, self.s, np.ones(n))
        builder.add_entries(flow, self.d, -np.ones(n))
        builder.add_entries(flow, u, -np.ones(n))
        builder.add_entries(flow[1:], u[:-1], np.ones(n - 1))
        bounds = builder.add_rows(n, -np.inf, 0.0)  # p − P_max·u ≤ 0
        builder.add_entries(bounds, p, np.ones(n))
        builder.add_entries(bounds, u, np.full(n, -self.upper))
        if self.minimum > 0.0:
            low = builder.add_rows(n, 0.0, np.inf)  # p − P_min·u ≥ 0
            builder.add_entries(low, p, np.ones(n))
            builder.add_entries(low, u, np.full(n, -self.minimum))
        for length, cols, sign, upper in ((self.up, self.s, -1.0, 0.0), (self.down, self.d, 1.0, 1.0)):
            if length <= 1:
                continue
            rows = builder.add_rows(n, -np.inf, upper)  # Σ window − u ≤ 0  /  Σ window + u ≤ 1
            builder.add_entries(rows, u, np.full(n, sign))
            for lag in range(length):
                builder.add_entries(rows[lag:], cols[: n - lag], np.ones(n - lag))

    def peak_kw(self) -> float:
        """The unit's maximum electric output [kW]."""
        return self.upper

    def _set_on_off(self, x: FloatArray, on: np.ndarray) -> None:
        previous = np.concatenate(([self.device.initially_on], on[:-1])).astype(np.float64)
        change = on.astype(np.float64) - previous
        x[self.u] = on.astype(np.float64)
        x[self.s] = np.maximum(change, 0.0)
        x[self.d] = np.maximum(-change, 0.0)

    def initial(self, x: FloatArray) -> None:
        """Stay in the initial state as long as the minimum times require, then off; tank to match."""
        n = self.context.grid.count
        on = np.zeros(n, dtype=bool)
        if self.binary:
            forced, initially_on = self._forced()
            on[:forced] = initially_on
            self._set_on_off(x, on)
        x[self.p] = np.where(on, self.minimum, 0.0)
        x[self.off_excess] = x[self.p][self.off_slots]
        x[self.dump] = 0.0
        x[self.boiler] = 0.0
        self.tank.initial(x, self.heat_ratio * x[self.p])

    def is_integral(self, x: FloatArray) -> bool:
        """Whether the on/off binaries are 0 or 1."""
        values = x[self.u]
        return bool(np.all(np.minimum(values, 1.0 - values) <= _INTEGRAL))

    def fractional_choice(self, x: FloatArray) -> tuple[IntArray, FloatArray, float] | None:
        """For diving: the most decided fractional on/off binary, with the fractional neighbours that round the
        same way (one LP solve per run of slots rather than per slot), fixed at that rounding."""
        if not self.binary:
            return None
        values = x[self.u]
        fractional = np.minimum(values, 1.0 - values) > _INTEGRAL
        if not fractional.any():
            return None
        candidates = np.flatnonzero(fractional)
        k = int(candidates[np.argmax(np.abs(values[candidates] - 0.5))])
        up = bool(values[k] >= 0.5)
        same = fractional & ((values >= 0.5) == up)
        lo, hi = k, k
        while lo > 0 and same[lo - 1]:
            lo -= 1
        while hi + 1 < values.size and same[hi + 1]:
            hi += 1
        cols = self.u[lo : hi + 1]
        return cols, np.full(cols.size, 1.0 if up else 0.0), float(max(values[k], 1.0 - values[k]))

    def round(self, x: FloatArray, load_kw: FloatArray, cost: FloatArray, site_value: SiteValue) -> None:
        """On where the relaxation is at least half on, repaired to keep the minimum times."""
        if not self.binary:
            return
        on = min_up_down_repair(x[self.u] >= 0.5, self.device.initially_on, self.in_state, self.up, self.down)
        self._set_on_off(x, on)
        x[self.p] = np.clip(x[self.p], np.where(on, self.minimum, 0.0), np.where(on, self.upper, 0.0))

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Site power per slot [kW]: minus the electric output."""
        power = np.array(x[self.p], dtype=np.float64)
        power[np.abs(power) < 1e-9] = 0.0
        return -power

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Output (negative), tank temperatures, dumped heat, gas and its cost, band violations."""
        device, hours = self.device, self.context.slot_hours
        fc = device.fuel_cell
        power = self.power_kw(x)
        output = -power
        boiler = np.maximum(x[self.boiler], 0.0)
        gas_kwh = (output / fc.electrical_efficiency + boiler / fc.backup_boiler_efficiency) * hours
        dump = np.maximum(x[self.dump], 0.0)
        dump[dump < 1e-9] = 0.0
        plan = DevicePlan(
            device_id=device.device_id,
            kind=device.kind,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            state=tuple(self.tank.temperatures(x).tolist()),
            state_quantity="tank_temperature",
            state_unit="°C",
            heat_dump_w=watts(dump),
            gas_m3=float(np.sum(gas_kwh) / fc.gas_kwh_per_m3),
            fuel_cost=float(np.sum(gas_kwh * self.gas_price_per_kwh)),
        )
        return plan, self.tank.violations(x, device.device_id) + self._off_violations(x)

    def _off_violations(self, x: FloatArray) -> list[Violation]:
        """Slots where the unit produces although it is to be off [Wh]."""
        found = []
        hours = self.context.slot_hours
        for k, excess in zip(self.off_slots, x[self.off_excess], strict=True):
            if excess * 1000.0 * hours > 0.01:
                slot_start = self.context.grid.slot_start(int(k))
                found.append(
                    Violation(
                        constraint=ViolationKind.GENERATOR_OFF,
                        device_id=self.device.device_id,
                        slot_start=slot_start,
                        amount=float(excess) * 1000.0 * hours,
                        unit="Wh",
                        message=f"{self.device.device_id} produces {excess * 1000.0:.0f} W in the slot from "
                        f"{slot_start.isoformat()} although it is to be off (its minimum on time)",
                    )
                )
        return found
