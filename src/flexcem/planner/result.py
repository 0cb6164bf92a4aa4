"""What the planner returns: a :class:`Plan` with one :class:`DevicePlan` per device and the violations.

Powers are per planning slot (time-weighted averages over the slot) in W, consumption positive and
generation negative; energies in Wh; costs in the problem's currency; CO2 in g.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, Field

from flexcem.model.base import Currency, FlexModel, Identifier, PositiveDuration
from flexcem.planner.grid import later, slot_starts

__all__ = ["DevicePlan", "Plan", "PlanStatus", "Violation", "ViolationKind"]


class PlanStatus(StrEnum):
    """How the plan was found."""

    OPTIMAL = "optimal"
    """Proven optimal within the MIP gap at every objective level."""
    TIME_LIMIT = "time_limit"
    """The time limit stopped the solver; the plan is the best found, its gap is reported."""
    FEASIBLE = "feasible"
    """The solver stopped for another reason (e.g. numerical trouble) with a feasible plan."""
    HEURISTIC = "heuristic"
    """The solver found nothing in time; the plan is the planner's simple starting plan."""


class ViolationKind(StrEnum):
    """Soft constraints the planner may violate rather than fail."""

    SITE_IMPORT_LIMIT = "site_import_limit"
    SITE_EXPORT_LIMIT = "site_export_limit"
    ENERGY_SHORTFALL = "energy_shortfall"
    LATEST_START = "latest_start"
    LATEST_END = "latest_end"
    SOC_BAND = "soc_band"
    """A storage's energy outside its state-of-charge band (only when it starts outside it) [Wh]."""
    FINAL_ENERGY = "final_energy"
    """A storage ends the horizon below its required final energy [Wh]."""
    ENERGY_RESERVE = "energy_reserve"
    """A storage's energy below its reserve [Wh]."""
    TANK_TEMPERATURE = "tank_temperature"
    """A hot-water tank outside its band [min_c, max_c] [K·h]."""
    ROOM_TEMPERATURE = "room_temperature"
    """A room outside its comfort band [K·h]."""
    HOT_WATER_REQUEST = "hot_water_request"
    """A tank short of the temperature an extra-hot-water request asks for at its time [K]."""
    GENERATOR_OFF = "generator_off"
    """A generator producing in a window in which it is to be off (its minimum on time keeps it on) [Wh]."""


class Violation(FlexModel):
    """A soft constraint the plan does not meet, and by how much."""

    constraint: ViolationKind = Field(description="Which constraint is violated.")
    device_id: Identifier | None = Field(default=None, description="The device concerned; none for the site.")
    slot_start: AwareDatetime | None = Field(
        default=None, description="Start of the planning slot concerned; none when not about one slot."
    )
    amount: float = Field(ge=0.0, description="By how much the constraint is violated, in `unit`.")
    unit: str = Field(description="Unit of `amount`: 'W' (site limits), 'Wh' (energy), 's' (lateness).")
    message: str = Field(description="A sentence for people.")


class DevicePlan(FlexModel):
    """The planned operation of one device."""

    device_id: Identifier = Field(description="The device.")
    kind: str = Field(description="Device kind, as in the input ('flexible_start', 'charging_session').")
    sequence_id: Identifier | None = Field(
        default=None, description="The chosen alternative power sequence (flexible starts only)."
    )
    start: AwareDatetime | None = Field(
        default=None,
        description="Chosen start; for a charging session the start of its first slot with power. "
        "None when the device does not run.",
    )
    end: AwareDatetime | None = Field(
        default=None, description="When the job ends (the last slot with power for a charging session)."
    )
    power_w: tuple[float, ...] = Field(
        description="Average power per planning slot [W]; consumption positive, generation negative."
    )
    energy_wh: float = Field(description="Energy over the horizon [Wh], signed like the power.")
    cost: float = Field(description="The device's energy times the import price of each slot [currency].")
    co2_g: float | None = Field(
        default=None,
        description="The device's energy times the CO2 intensity of each slot [g]; None without data.",
    )
    moved: bool | None = Field(
        default=None,
        description="True when the plan moves the job away from its committed start or sequence; None when "
        "nothing was committed.",
    )
    state: tuple[float, ...] | None = Field(
        default=None,
        description="Trajectory of the device's state (stored energy, a temperature, …) in `state_unit`, at "
        "the slot boundaries: slot_count + 1 values, the first at the start of the horizon, value k + 1 at "
        "the end of slot k. None for kinds without a state.",
    )
    state_quantity: str | None = Field(
        default=None,
        description="What `state` measures, e.g. 'stored_energy' (battery) or 'tank_temperature'; None "
        "without a state.",
    )
    state_unit: str | None = Field(
        default=None, description="Unit of `state`, e.g. 'Wh' or '°C'; None without a state."
    )
    curtailed_energy_wh: float | None = Field(
        default=None,
        description="Energy a curtailable generator could have produced but the plan curtails [Wh, ≥ 0]; None "
        "for other kinds.",
    )
    charge_power_w: tuple[float, ...] | None = Field(
        default=None,
        description="Charging power per slot [W ≥ 0] of a storage device; with `discharge_power_w` it shows a "
        "slot that charges and discharges in turn (to absorb surplus the site may not export), which the net "
        "`power_w` hides. None for other kinds.",
    )
    discharge_power_w: tuple[float, ...] | None = Field(
        default=None, description="Discharging power per slot [W ≥ 0] of a storage device; None for other kinds."
    )
    room_temperature_c: tuple[float, ...] | None = Field(
        default=None,
        description="Room temperature [°C] at the slot boundaries (slot_count + 1 values, like `state`) of a "
        "device that heats or cools a room (heat pump, air conditioner); None otherwise.",
    )
    hot_water_power_w: tuple[float, ...] | None = Field(
        default=None,
        description="Part of `power_w` that heats the hot-water tank, per slot [W] (heat pump with a tank); the "
        "rest heats or cools the room. None for other kinds.",
    )
    heat_dump_w: tuple[float, ...] | None = Field(
        default=None,
        description="Heat dumped because the tank cannot take it, per slot [W thermal] (fuel cell); None for "
        "other kinds.",
    )
    gas_m3: float | None = Field(
        default=None, description="Natural gas burnt over the horizon [m³] (fuel cell and its backup boiler)."
    )
    fuel_cost: float | None = Field(
        default=None,
        description="Cost of that gas [currency]; not part of `cost` nor of the plan's `total_cost`, which are "
        "electricity only.",
    )


class Plan(FlexModel):
    """A schedule for every device over the planning horizon, with its cost and violations."""

    start: AwareDatetime = Field(description="Beginning of the first planning slot.")
    slot_duration: PositiveDuration = Field(description="Length of every planning slot (ISO 8601).")
    slot_count: int = Field(ge=1, description="Number of planning slots.")
    currency: Currency = Field(description="ISO 4217 currency of prices and costs.")
    site_power_w: tuple[float, ...] = Field(
        description="Site power per slot [W]: committed load plus every device; import positive, export negative."
    )
    committed_power_w: tuple[float, ...] = Field(description="Committed load per slot [W] (average).")
    price_per_kwh: tuple[float, ...] = Field(
        description="Import price per slot [currency/kWh]: time-weighted average of the input prices."
    )
    export_price_per_kwh: tuple[float, ...] = Field(
        description="Export remuneration per slot [currency/kWh] (0 where none was given)."
    )
    co2_g_per_kwh: tuple[float, ...] | None = Field(
        default=None, description="CO2 intensity per slot [g/kWh]; None when the prices carry none."
    )
    devices: tuple[DevicePlan, ...] = Field(description="One plan per input device, in input order.")
    total_cost: float = Field(
        description="Site energy cost [currency]: Σ import × price × Δt − Σ export × export price × Δt."
    )
    total_co2_g: float | None = Field(default=None, description="CO2 of the site's imports [g]; None without CO2 data.")
    move_cost: float = Field(
        default=0.0,
        description="Move penalties charged for jobs moved from their committed start [currency].",
    )
    violations: tuple[Violation, ...] = Field(default=(), description="Soft constraints the plan violates.")
    warnings: tuple[str, ...] = Field(default=(), description="Notes about the input, e.g. missing CO2 data.")
    status: PlanStatus = Field(description="How the plan was found: optimal, time_limit, feasible or heuristic.")
    mip_gap: float = Field(ge=0.0, description="Relative MIP gap of the last solve (0 when proven optimal).")
    solves: tuple[str, ...] = Field(
        default=(),
        description="How each objective level was solved, as 'level:method' with level blend, violation, "
        "co2 or cost and method relaxation (integral LP), rounding (rounded LP within the gap), fixed_mip (the "
        "MILP with the rounded choices fixed), branching (the planner's branch and bound on the LP), mip or lp.",
    )
    build_time_s: float = Field(ge=0.0, description="Time to build the model [s].")
    solve_time_s: float = Field(ge=0.0, description="Time in the solver and extracting the plan [s].")

    @property
    def end(self) -> datetime:
        """End of the horizon."""
        return later(self.start, self.slot_count * self.slot_duration)

    @property
    def slot_starts(self) -> tuple[datetime, ...]:
        """Start of every planning slot (computed once per grid; kept beside the fields with the grid it was
        computed for, so that a copy with another grid computes its own)."""
        key = (self.start, self.slot_duration, self.slot_count)
        cached = self.__dict__.get("_slot_starts")
        if cached is None or cached[0] != key:
            cached = (key, slot_starts(*key))
            self.__dict__["_slot_starts"] = cached
        starts: tuple[datetime, ...] = cached[1]
        return starts

    @property
    def feasible(self) -> bool:
        """Whether the plan meets every soft constraint."""
        return not self.violations

    def device(self, device_id: str) -> DevicePlan:
        """The plan of one device; :class:`KeyError` when there is none."""
        for plan in self.devices:
            if plan.device_id == device_id:
                return plan
        raise KeyError(device_id)

    def violations_of(self, constraint: ViolationKind | str) -> tuple[Violation, ...]:
        """The violations of one kind of constraint."""
        return tuple(violation for violation in self.violations if violation.constraint == constraint)
