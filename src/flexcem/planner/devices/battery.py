"""Stationary storage battery: charge and discharge power per slot, stored energy by the exact step.

Formulation (docs/home-physics.md, "Storage battery"), for the planning slots k = 0 … n−1 (power kW, energy
kWh, Δt h):

* ``pc_k ∈ [0, Pc_max]``, ``pd_k ∈ [0, Pd_max]`` — charge and discharge power at the AC side (slot averages);
* ``E_{k+1} = d·E_k + g·(η_c·pc_k − pd_k/η_d)`` — stored energy at the end of slot k, with
  ``d, g = flexcem.physics.battery_step_coefficients(σ, Δt)`` (the exact step for power held over the slot)
  and ``E_0`` the initial energy;
* ``soc_min·C ≤ E_{k+1} ≤ soc_max·C`` — column bounds. A battery that starts outside its band cannot be in it
  at once: the boundaries it cannot reach even at full power get a slack (``E + u ≥ soc_min·C`` or
  ``E − u ≤ soc_max·C``) charged per kWh·h in the violation level and reported as ``soc_band``; all others
  are hard;
* ``pc_k/Pc_max + pd_k/Pd_max ≤ 1`` — a slot may hold both only as time sharing (charge, then discharge);
  the plan does both only when dissipating energy pays (negative prices, or an export limit with fixed
  PV and a full battery);
* ``E_n + s ≥ E_final`` (default ``E_final = min(E_0, soc_max·C)``, so that the battery is not emptied for
  free) with the shortfall ``s`` charged per kWh (``final_energy``);
* ``E_k + r_k ≥ R_k`` at every boundary next to a reserve slot, ``r_k`` charged per kWh·h
  (``energy_reserve``); within a slot the energy is monotone, so both ends at ``R`` keep it above ``R``;
* site: ``pc_k − pd_k + P_sb``.

**Standby** ``P_sb`` (the system's own consumption: battery management, inverter control) is drawn from the
site at all times (docs/home-physics.md), a constant load in every slot — linear and exact.

Tie-break: ``TIE_COMPLETION`` per kWh of throughput (``pc + pd``), so that among plans of equal cost the
battery does not cycle for nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal, Self

import numpy as np
from pydantic import Field, model_validator

from flexcem.model.base import Share
from flexcem.model.home_parameters import BatteryParameters
from flexcem.model.timeseries import Slot
from flexcem.physics import battery_step_coefficients
from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.devices.base import DeviceFormulation, FieldPath, PlannerDevice, field_errors, overlap_message
from flexcem.planner.grid import FloatArray, IntArray, watts
from flexcem.planner.objective import FINAL_ENERGY_WEIGHT, RESERVE_WEIGHT, SOC_BAND_WEIGHT, TIE_COMPLETION
from flexcem.planner.result import DevicePlan, Violation, ViolationKind

__all__ = ["BatteryDevice", "BatteryFormulation", "ReserveSlot"]

_IDLE_KW = 1e-6
"""Below this charge plus discharge power [kW] (1 mW) a slot counts as idle (standby drawn)."""
_REACH_KWH = 1e-6
"""Margin [kWh] by which a band limit must be reachable at full power for its bound to be hard."""
_REPORT_WH = 0.01
"""Energy [Wh] below which a deviation is solver noise, not a violation."""


class ReserveSlot(Slot):
    """A time during which the battery must keep at least some energy stored (e.g. for backup)."""

    energy_wh: float = Field(ge=0.0, description="Least energy to keep stored throughout the slot [Wh].")


class BatteryDevice(PlannerDevice):
    """A stationary battery whose charge and discharge power the planner chooses per slot."""

    kind: Literal["battery"] = Field(default="battery", description="Device kind tag.")
    windowed: ClassVar[bool] = False
    parameters: BatteryParameters = Field(description="Capacity, band, power limits, efficiencies, standby.")
    initial_energy_wh: float | None = Field(
        default=None,
        ge=0.0,
        description="Energy stored at the start of the horizon [Wh]; give this or initial_soc.",
    )
    initial_soc: Share | None = Field(
        default=None, description="State of charge at the start of the horizon [fraction of capacity]."
    )
    final_energy_wh: float | None = Field(
        default=None,
        ge=0.0,
        description="Least energy stored at the end of the horizon [Wh]; default: the initial energy (capped "
        "at soc_max × capacity). Soft: a shortfall is a 'final_energy' violation.",
    )
    reserve: tuple[ReserveSlot, ...] = Field(
        default=(),
        description="Least energy to keep stored during given times [Wh] (soft: 'energy_reserve' violations); "
        "slots may leave gaps (no reserve there) but not overlap.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        errors: list[tuple[FieldPath, str]] = []
        capacity = self.parameters.capacity_wh
        top = self.parameters.soc_max * capacity
        if (self.initial_energy_wh is None) == (self.initial_soc is None):
            errors.append((("initial_energy_wh",), "give exactly one of initial_energy_wh and initial_soc"))
        elif self.initial_energy_wh is not None and self.initial_energy_wh > capacity:
            errors.append(
                (
                    ("initial_energy_wh",),
                    f"initial_energy_wh {self.initial_energy_wh} exceeds parameters.capacity_wh {capacity}",
                )
            )
        if self.final_energy_wh is not None and self.final_energy_wh > top * (1.0 + 1e-12):
            errors.append(
                (
                    ("final_energy_wh",),
                    f"final_energy_wh {self.final_energy_wh} is above soc_max × capacity_wh = {top:g} Wh",
                )
            )
        for index, slot in enumerate(self.reserve):
            if slot.energy_wh > top * (1.0 + 1e-12):
                errors.append(
                    (
                        ("reserve", index, "energy_wh"),
                        f"reserve.{index}.energy_wh {slot.energy_wh} is above soc_max × capacity_wh = {top:g} Wh",
                    )
                )
        overlap = overlap_message(self.reserve, "reserve")
        if overlap is not None:
            errors.append((("reserve",), overlap))
        if errors:
            raise field_errors(type(self).__name__, errors)
        return self

    @property
    def initial_wh(self) -> float:
        """Energy stored at the start [Wh]."""
        if self.initial_energy_wh is not None:
            return self.initial_energy_wh
        return float(self.initial_soc or 0.0) * self.parameters.capacity_wh

    @property
    def final_wh(self) -> float:
        """Least energy at the end [Wh]: ``final_energy_wh`` or the initial energy capped at the band."""
        if self.final_energy_wh is not None:
            return self.final_energy_wh
        return min(self.initial_wh, self.parameters.soc_max * self.parameters.capacity_wh)

    def required_end(self, plan_start: datetime) -> datetime:
        """A battery has no window: it needs no horizon of its own."""
        return plan_start


class BatteryFormulation(DeviceFormulation[BatteryDevice]):
    """Charge, discharge and energy columns; exact-step rows; soft band (where unavoidable), final, reserve."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the columns, the energy and time-sharing rows, the soft rows and the objective terms."""
        device, context = self.device, self.context
        par = device.parameters
        n = context.grid.count
        hours = context.slot_hours
        step = battery_step_coefficients(par.self_discharge_per_h, hours)
        self.decay, self.gain = step.decay, step.gain
        self.eta_c, self.eta_d = par.charge_efficiency, par.discharge_efficiency
        self.pc_max, self.pd_max = par.charge_power_max_w / 1000.0, par.discharge_power_max_w / 1000.0
        self.standby = par.standby_w / 1000.0
        capacity = par.capacity_wh / 1000.0
        self.lo, self.hi = par.soc_min * capacity, par.soc_max * capacity
        self.e0 = device.initial_wh / 1000.0
        self.final = device.final_wh / 1000.0
        self.reserve_kwh = self._reserve_per_boundary()
        self.below, self.above = self._unreachable()

        self.pc = builder.add_columns(n, 0.0, self.pc_max)
        self.pd = builder.add_columns(n, 0.0, self.pd_max)
        lower = np.full(n, self.lo)
        upper = np.full(n, self.hi)
        lower[self.below] = 0.0
        upper[self.above] = max(self.hi, self.e0)
        self.e = builder.add_columns(n, lower, upper)

        # E_{k+1} − d·E_k − g·η_c·pc_k + (g/η_d)·pd_k = 0, with E_0 on the right-hand side.
        rhs = np.zeros(n)
        rhs[0] = self.decay * self.e0
        dynamics = builder.add_rows(n, rhs, rhs)
        builder.add_entries(dynamics, self.e, np.ones(n))
        builder.add_entries(dynamics[1:], self.e[:-1], np.full(n - 1, -self.decay))
        builder.add_entries(dynamics, self.pc, np.full(n, -self.gain * self.eta_c))
        builder.add_entries(dynamics, self.pd, np.full(n, self.gain / self.eta_d))
        sharing = builder.add_rows(n, -np.inf, 1.0)
        builder.add_entries(sharing, self.pc, np.full(n, 1.0 / self.pc_max))
        builder.add_entries(sharing, self.pd, np.full(n, 1.0 / self.pd_max))

        rows = context.site_rows
        builder.add_entries(rows, self.pc, np.ones(n))
        builder.add_entries(rows, self.pd, -np.ones(n))
        self.one = builder.add_columns(1, 1.0, 1.0)  # a constant 1: the standby load in every slot
        builder.add_entries(rows, np.full(n, self.one[0]), np.full(n, self.standby))

        self.u_below = self._slacks(builder, self.below, self.lo, 1.0, SOC_BAND_WEIGHT * hours)
        self.u_above = self._slacks(builder, self.above, -self.hi, -1.0, SOC_BAND_WEIGHT * hours)
        self.reserved = np.flatnonzero(self.reserve_kwh > self.lo + _REACH_KWH)
        self.u_reserve = self._slacks(
            builder, self.reserved, self.reserve_kwh[self.reserved], 1.0, RESERVE_WEIGHT * hours
        )
        self.shortfall = self._slacks(builder, np.array([n - 1]), self.final, 1.0, FINAL_ENERGY_WEIGHT)

        if self.greenest:
            assert context.co2 is not None
            grams = context.scales.co2(context.co2 * hours)
            builder.add_objective(Level.CO2, self.pc, grams)
            builder.add_objective(Level.CO2, self.pd, -grams)
        tie = context.scales.tie(TIE_COMPLETION * hours)
        builder.add_objective(Level.COST, self.pc, tie)
        builder.add_objective(Level.COST, self.pd, tie)

    def _slacks(
        self, builder: ModelBuilder, slots: IntArray, bound: float | FloatArray, sign: float, weight: float
    ) -> IntArray:
        """Slack columns ``u ≥ 0`` with ``sign·E_{k+1} + u ≥ bound`` for the given slots, ``weight`` per kWh."""
        if slots.size == 0:
            return np.zeros(0, dtype=np.int64)
        m = slots.size
        cols = builder.add_columns(m)
        rows = builder.add_rows(m, bound, np.inf)
        builder.add_entries(rows, self.e[slots], np.full(m, sign))
        builder.add_entries(rows, cols, np.ones(m))
        builder.add_objective(Level.VIOLATION, cols, weight)
        return cols

    def _reserve_per_boundary(self) -> FloatArray:
        """Reserve [kWh] at the end of each slot: the largest reserve slot touching the slot or the next."""
        grid = self.context.grid
        n = grid.count
        edges = grid.edges_us
        result = np.zeros(n)
        for slot in self.device.reserve:
            a = float(grid.offset_us(slot.start))
            b = a + slot.duration.total_seconds() * 1e6
            this = (edges[:-1] < b) & (edges[1:] > a)  # slot k overlaps the reserve
            touching = this.copy()
            touching[:-1] |= this[1:]  # ... or slot k + 1 does
            result[touching] = np.maximum(result[touching], slot.energy_wh / 1000.0)
        return result

    def _unreachable(self) -> tuple[IntArray, IntArray]:
        """Slots at whose end the band cannot be reached even at full power (a start outside the band)."""
        n = self.context.grid.count
        below: list[int] = []
        above: list[int] = []
        if self.e0 < self.lo + _REACH_KWH:
            energy = self.e0
            for k in range(n):
                energy = self.decay * energy + self.gain * self.eta_c * self.pc_max
                if energy >= self.lo + _REACH_KWH:
                    break
                below.append(k)
        if self.e0 > self.hi - _REACH_KWH:
            energy = self.e0
            for k in range(n):
                energy = self.decay * energy - self.gain * self.pd_max / self.eta_d
                if energy <= self.hi - _REACH_KWH:
                    break
                above.append(k)
        return np.array(below, dtype=np.int64), np.array(above, dtype=np.int64)

    def peak_kw(self) -> float:
        """The larger power limit plus the standby [kW]."""
        return max(self.pc_max, self.pd_max) + self.standby

    def initial(self, x: FloatArray) -> None:
        """Hold the energy, brought into the band and up to the reserve (and the final energy at the end)."""
        n = self.context.grid.count
        x[self.one] = 1.0
        energy = self.e0
        decay, gain, eta_c, eta_d = float(self.decay), float(self.gain), float(self.eta_c), float(self.eta_d)
        lo, hi, pc_max, pd_max = float(self.lo), float(self.hi), float(self.pc_max), float(self.pd_max)
        charge, discharge, stored = [0.0] * n, [0.0] * n, [0.0] * n  # Python floats: the same IEEE arithmetic
        for k, reserve in enumerate(self.reserve_kwh.tolist()):
            target = max(energy, lo, reserve, self.final if k == n - 1 else 0.0)
            target = min(target, hi)
            drive = (target - decay * energy) / gain  # η_c·pc − pd/η_d wanted [kW]
            pc = min(drive / eta_c, pc_max) if drive > 0 else 0.0
            pd = min(-drive * eta_d, pd_max) if drive < 0 else 0.0
            energy = decay * energy + gain * (eta_c * pc - pd / eta_d)
            charge[k], discharge[k], stored[k] = pc, pd, energy
        x[self.pc], x[self.pd], x[self.e] = charge, discharge, stored
        e = x[self.e]
        x[self.u_below] = np.maximum(self.lo - e[self.below], 0.0)
        x[self.u_above] = np.maximum(e[self.above] - self.hi, 0.0)
        x[self.u_reserve] = np.maximum(self.reserve_kwh[self.reserved] - e[self.reserved], 0.0)
        x[self.shortfall] = max(self.final - float(e[-1]), 0.0)

    def flows_kw(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Charge and discharge power per slot [kW] (solver noise below 1 mW cleared)."""
        pc = np.array(x[self.pc], dtype=np.float64)
        pd = np.array(x[self.pd], dtype=np.float64)
        pc[pc < _IDLE_KW] = 0.0
        pd[pd < _IDLE_KW] = 0.0
        return pc, pd

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Site power per slot [kW]: charge − discharge + the standby (what the device draws)."""
        pc, pd = self.flows_kw(x)
        result: FloatArray = pc - pd + self.standby
        return result

    def energy_kwh(self, x: FloatArray) -> FloatArray:
        """Stored energy at the slot boundaries [kWh]: the initial energy, then the end of every slot."""
        return np.concatenate(([self.e0], x[self.e]))

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """Power, stored-energy trajectory, energy, cost, CO2 and the band, reserve and final violations."""
        device = self.device
        power = self.power_kw(x)
        stored = self.energy_kwh(x)
        charge, discharge = self.flows_kw(x)
        plan = DevicePlan(
            device_id=device.device_id,
            kind=device.kind,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * self.context.slot_hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            state=tuple(np.round(stored * 1000.0, 6).tolist()),
            state_quantity="stored_energy",
            state_unit="Wh",
            charge_power_w=watts(charge),
            discharge_power_w=watts(discharge),
        )
        return plan, self._violations(stored[1:])

    def _violations(self, energy: FloatArray) -> list[Violation]:
        """Band, reserve and final-energy violations of the energies at the end of each slot [kWh]."""
        device, grid = self.device, self.context.grid
        name = device.device_id
        tolerance = max(_REPORT_WH, 1e-6 * device.parameters.capacity_wh) / 1000.0
        found: list[Violation] = []

        def add(kind: ViolationKind, k: int | None, short_kwh: float, message: str) -> None:
            found.append(
                Violation(
                    constraint=kind,
                    device_id=name,
                    slot_start=None if k is None else grid.slot_start(k),
                    amount=short_kwh * 1000.0,
                    unit="Wh",
                    message=message,
                )
            )

        for k in np.flatnonzero(energy < self.lo - tolerance):
            add(
                ViolationKind.SOC_BAND,
                int(k),
                self.lo - float(energy[k]),
                f"{name} holds {energy[k] * 1000.0:.0f} Wh at the end of the slot from "
                f"{grid.slot_start(int(k)).isoformat()}, below soc_min ({self.lo * 1000.0:.0f} Wh): it starts "
                f"at {self.e0 * 1000.0:.0f} Wh and cannot charge faster",
            )
        for k in np.flatnonzero(energy > self.hi + tolerance):
            add(
                ViolationKind.SOC_BAND,
                int(k),
                float(energy[k]) - self.hi,
                f"{name} holds {energy[k] * 1000.0:.0f} Wh at the end of the slot from "
                f"{grid.slot_start(int(k)).isoformat()}, above soc_max ({self.hi * 1000.0:.0f} Wh): it starts "
                f"at {self.e0 * 1000.0:.0f} Wh and cannot discharge faster",
            )
        for k in np.flatnonzero(energy < self.reserve_kwh - tolerance):
            add(
                ViolationKind.ENERGY_RESERVE,
                int(k),
                float(self.reserve_kwh[k] - energy[k]),
                f"{name} holds {energy[k] * 1000.0:.0f} Wh at the end of the slot from "
                f"{grid.slot_start(int(k)).isoformat()}, below its reserve of {self.reserve_kwh[k] * 1000.0:.0f} Wh",
            )
        if energy[-1] < self.final - tolerance:
            add(
                ViolationKind.FINAL_ENERGY,
                None,
                self.final - float(energy[-1]),
                f"{name} ends the horizon with {energy[-1] * 1000.0:.0f} Wh, "
                f"{(self.final - energy[-1]) * 1000.0:.0f} Wh below its final energy of {self.final * 1000.0:.0f} Wh",
            )
        return found
