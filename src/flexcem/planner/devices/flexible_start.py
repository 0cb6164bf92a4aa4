"""Flexible-start jobs: a programme that runs as a whole once started (washer, dishwasher, dryer).

Formulation: one binary per (alternative, candidate start); exactly one is chosen. The candidate starts of
an alternative are ``earliest_start`` (or the planning start, when the window opened in the past), every
planning-slot boundary in ``(earliest_start, latest_start]`` and the committed start, each kept only when
the alternative ends by ``latest_end``. An alternative without any such start gets one *late* candidate at
the earliest possible start, charged in the violation level by how late it starts or ends.

The power of a candidate in planning slot k is the time-weighted average of the sequence's
piecewise-constant power over the slot, computed exactly from the sequence's cumulative energy (vectorised
over all candidates of an alternative).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import AwareDatetime, Field, field_validator, model_validator

from flexcem.model.base import Identifier
from flexcem.model.flexibility import FlexibleStartOffer, IncentiveProgram
from flexcem.model.power_profile import PowerSequence, check_unique_sequence_ids
from flexcem.planner.builder import Level, ModelBuilder
from flexcem.planner.devices.base import DeviceFormulation, PlannerDevice, SiteValue
from flexcem.planner.grid import MICROSECOND, US_PER_HOUR, FloatArray, IntArray, TimeGrid, later, watts
from flexcem.planner.objective import LATENESS_WEIGHT, TIE_COMPLETION
from flexcem.planner.result import DevicePlan, Violation, ViolationKind

__all__ = ["CandidateSet", "FlexibleStartDevice", "FlexibleStartFormulation", "candidate_set"]


class FlexibleStartDevice(PlannerDevice):
    """A job with a flexible start and alternative power sequences; the planner picks one and its start."""

    kind: Literal["flexible_start"] = Field(default="flexible_start", description="Device kind tag.")
    earliest_start: AwareDatetime = Field(description="The job may start at this instant or later.")
    latest_start: AwareDatetime = Field(description="The job must have started by this instant.")
    latest_end: AwareDatetime = Field(description="The job must be complete by this instant.")
    alternatives: tuple[PowerSequence, ...] = Field(
        min_length=1, description="Alternative power sequences; the planner chooses exactly one."
    )
    committed_start: AwareDatetime | None = Field(
        default=None, description="The start currently assigned (plan stability); none when not yet planned."
    )
    committed_sequence_id: Identifier | None = Field(
        default=None, description="The sequence currently assigned (plan stability)."
    )
    move_penalty: float = Field(
        default=0.0,
        ge=0.0,
        description="Charged [currency] when the plan moves the job away from its committed start or sequence.",
    )

    @field_validator("alternatives")
    @classmethod
    def _unique_sequences(cls, alternatives: tuple[PowerSequence, ...]) -> tuple[PowerSequence, ...]:
        return check_unique_sequence_ids(alternatives)

    @model_validator(mode="after")
    def _window(self) -> FlexibleStartDevice:
        if self.latest_start < self.earliest_start:
            raise ValueError(
                f"latest_start {self.latest_start.isoformat()} is before earliest_start "
                f"{self.earliest_start.isoformat()}"
            )
        for index, sequence in enumerate(self.alternatives):
            if later(self.earliest_start, sequence.duration) > self.latest_end:
                raise ValueError(
                    f"alternatives.{index} ({sequence.sequence_id}) runs {sequence.duration} and cannot "
                    f"end by latest_end {self.latest_end.isoformat()} even when started at earliest_start "
                    f"{self.earliest_start.isoformat()}"
                )
        ids = [sequence.sequence_id for sequence in self.alternatives]
        if self.committed_sequence_id is not None and self.committed_sequence_id not in ids:
            raise ValueError(
                f"committed_sequence_id {self.committed_sequence_id!r} is not one of the alternatives {ids}"
            )
        return self

    @classmethod
    def from_offer(
        cls, offer: FlexibleStartOffer, incentive: IncentiveProgram = IncentiveProgram.CHEAPEST
    ) -> FlexibleStartDevice:
        """The planner's view of a device's flexible-start offer (``incentive`` when the offer has none)."""
        return cls(
            device_id=offer.device_id,
            earliest_start=offer.earliest_start,
            latest_start=offer.latest_start,
            latest_end=offer.latest_end,
            alternatives=offer.profile.alternatives,
            incentive=offer.incentive or incentive,
        )

    @property
    def longest(self) -> PowerSequence:
        """The alternative that runs longest."""
        return max(self.alternatives, key=lambda sequence: sequence.duration)

    def required_end(self, plan_start: datetime) -> datetime:
        """``latest_end``, or later when the window opened in the past and a late run must fit the horizon."""
        return max(self.latest_end, later(max(self.earliest_start, plan_start), self.longest.duration))


@dataclass(frozen=True)
class CandidateSet:
    """Every candidate (alternative, start) of one device, with its power per planning slot."""

    alternative: IntArray
    """Index of the alternative of each candidate."""
    start_us: IntArray
    """Start of each candidate [µs after the grid start]."""
    duration_us: IntArray
    """Running time of each candidate's alternative [µs]."""
    late_start_us: IntArray
    """How far each candidate starts after latest_start [µs] (0 unless the window is impossible)."""
    late_end_us: IntArray
    """How far each candidate ends after latest_end [µs] (0 unless the window is impossible)."""
    moved: npt.NDArray[np.bool_]
    """Whether each candidate moves the job from its committed start or sequence."""
    entry_candidate: IntArray
    """Power layout (COO): candidate of each entry."""
    entry_slot: IntArray
    """Power layout (COO): planning slot of each entry."""
    entry_kw: FloatArray
    """Power layout (COO): signed average power [kW] of the candidate in the slot."""

    @property
    def size(self) -> int:
        """Number of candidates."""
        return int(self.start_us.size)

    @property
    def end_us(self) -> IntArray:
        """End of each candidate [µs after the grid start]."""
        result: IntArray = self.start_us + self.duration_us
        return result

    def dense_kw(self, slot_count: int) -> FloatArray:
        """Power [kW] as a (candidates × slots) matrix."""
        matrix = np.zeros((self.size, slot_count))
        np.add.at(matrix, (self.entry_candidate, self.entry_slot), self.entry_kw)
        return matrix

    def energy_kwh(self, slot_hours: float) -> FloatArray:
        """Signed energy of each candidate [kWh]."""
        energy = np.zeros(self.size)
        np.add.at(energy, self.entry_candidate, self.entry_kw * slot_hours)
        return energy


def _sequence_layout(
    sequence: PowerSequence, starts_us: IntArray, grid: TimeGrid
) -> tuple[IntArray, IntArray, FloatArray]:
    """Average power [kW] of ``sequence`` started at each of ``starts_us`` per planning slot (COO)."""
    durations = np.array([slot.duration // MICROSECOND for slot in sequence.slots], dtype=np.float64)
    powers_kw = np.array([slot.power_w for slot in sequence.slots]) * (sequence.sign / 1000.0)
    bounds = np.concatenate(([0.0], np.cumsum(durations)))
    cumulative_kwh = np.concatenate(([0.0], np.cumsum(powers_kw * durations / US_PER_HOUR)))
    total_us = int(bounds[-1])
    slot_us = grid.slot_us
    first = starts_us // slot_us
    last = -(-(starts_us + total_us) // slot_us)  # ceil
    width = int(np.max(last - first))
    slots = first[:, None] + np.arange(width)[None, :]
    lo = (slots * slot_us - starts_us[:, None]).astype(np.float64)
    energy = np.interp(lo + slot_us, bounds, cumulative_kwh) - np.interp(lo, bounds, cumulative_kwh)
    power = energy / grid.slot_hours
    # A grid slot inside one phase gets the phase's power exactly (no rounding from the differences).
    phase = np.clip(np.searchsorted(bounds, lo, side="right") - 1, 0, powers_kw.size - 1)
    whole = (lo >= 0.0) & (lo + slot_us <= bounds[phase + 1])
    power[whole] = powers_kw[phase[whole]]
    keep = (slots < last[:, None]) & (slots < grid.count) & (power != 0.0)
    rows, _ = np.nonzero(keep)
    return rows.astype(np.int64), slots[keep].astype(np.int64), power[keep]


def candidate_set(device: FlexibleStartDevice, grid: TimeGrid) -> CandidateSet:
    """All candidate starts of ``device`` on ``grid`` and their power layout."""
    slot_us = grid.slot_us
    earliest = max(grid.offset_us(device.earliest_start), 0)
    latest_start = grid.offset_us(device.latest_start)
    latest_end = grid.offset_us(device.latest_end)
    committed = None if device.committed_start is None else grid.offset_us(device.committed_start)
    boundaries = np.arange(earliest // slot_us + 1, latest_start // slot_us + 1, dtype=np.int64) * slot_us
    base = np.concatenate((np.array([earliest] if earliest <= latest_start else [], dtype=np.int64), boundaries))

    parts: dict[str, list[IntArray]] = {key: [] for key in ("alt", "start", "dur", "lstart", "lend", "moved")}
    entries: list[tuple[IntArray, IntArray, FloatArray]] = []
    count = 0
    for index, sequence in enumerate(device.alternatives):
        duration = sequence.duration // MICROSECOND
        starts = base[base + duration <= latest_end]
        may_keep = device.committed_sequence_id in (None, sequence.sequence_id)
        if (
            committed is not None
            and may_keep
            and earliest <= committed <= latest_start
            and committed + duration <= latest_end
        ):
            starts = np.union1d(starts, np.array([committed], dtype=np.int64))
        late_start = np.zeros(starts.size, dtype=np.int64)
        late_end = np.zeros(starts.size, dtype=np.int64)
        if starts.size == 0:  # impossible window: run as early as possible, late
            starts = np.array([earliest], dtype=np.int64)
            late_start = np.array([max(0, earliest - latest_start)], dtype=np.int64)
            late_end = np.array([max(0, earliest + duration - latest_end)], dtype=np.int64)
        moved = np.zeros(starts.size, dtype=np.int64)
        if committed is not None:
            moved |= (starts != committed).astype(np.int64)
        if device.committed_sequence_id not in (None, sequence.sequence_id):
            moved[:] = 1
        parts["alt"].append(np.full(starts.size, index, dtype=np.int64))
        parts["start"].append(starts)
        parts["dur"].append(np.full(starts.size, duration, dtype=np.int64))
        parts["lstart"].append(late_start)
        parts["lend"].append(late_end)
        parts["moved"].append(moved)
        rows, slots, kw = _sequence_layout(sequence, starts, grid)
        entries.append((rows + count, slots, kw))
        count += starts.size
    joined = {key: np.concatenate(value) for key, value in parts.items()}
    return CandidateSet(
        alternative=joined["alt"],
        start_us=joined["start"],
        duration_us=joined["dur"],
        late_start_us=joined["lstart"],
        late_end_us=joined["lend"],
        moved=joined["moved"].astype(bool),
        entry_candidate=np.concatenate([entry[0] for entry in entries]),
        entry_slot=np.concatenate([entry[1] for entry in entries]),
        entry_kw=np.concatenate([entry[2] for entry in entries]),
    )


class FlexibleStartFormulation(DeviceFormulation[FlexibleStartDevice]):
    """One binary per candidate (alternative, start), exactly one chosen."""

    def build(self, builder: ModelBuilder) -> None:
        """Add the candidate binaries, the choice row, the site power and the objective terms."""
        context = self.context
        self.candidates = cands = candidate_set(self.device, context.grid)
        self.dense: FloatArray | None = None
        self.cols = cols = builder.add_binaries(cands.size)
        choice = builder.add_rows(1, 1.0, 1.0)
        builder.add_entries(np.full(cands.size, choice[0]), cols, np.ones(cands.size))
        builder.add_entries(context.site_rows[cands.entry_slot], cols[cands.entry_candidate], cands.entry_kw)

        lateness_h = (cands.late_start_us + cands.late_end_us) / US_PER_HOUR
        if np.any(lateness_h > 0):
            builder.add_objective(Level.VIOLATION, cols, LATENESS_WEIGHT * lateness_h)
        if self.greenest:
            assert context.co2 is not None
            grams = np.zeros(cands.size)
            np.add.at(
                grams,
                cands.entry_candidate,
                cands.entry_kw * context.co2[cands.entry_slot] * context.slot_hours,
            )
            builder.add_objective(Level.CO2, cols, context.scales.co2(grams))
        energy = np.abs(cands.energy_kwh(context.slot_hours))
        completion = context.scales.tie(
            TIE_COMPLETION * np.maximum(energy, 0.01) * context.completion_fraction(cands.end_us.astype(np.float64))
        )
        move = context.scales.cost(self.device.move_penalty) * cands.moved
        builder.add_objective(Level.COST, cols, completion + move)

    def peak_kw(self) -> float:
        """Highest phase power of any alternative [kW]."""
        return max(slot.power_w for sequence in self.device.alternatives for slot in sequence.slots) / 1000.0

    def initial(self, x: FloatArray) -> None:
        """Choose the least late candidate, earliest first."""
        lateness = self.candidates.late_start_us + self.candidates.late_end_us
        x[self.cols] = 0.0
        x[self.cols[int(np.argmin(lateness))]] = 1.0

    def chosen(self, x: FloatArray) -> int:
        """Index of the chosen candidate in solution ``x``."""
        return int(np.argmax(x[self.cols]))

    def is_integral(self, x: FloatArray) -> bool:
        """Whether every candidate binary is 0 or 1 (within 1e-6)."""
        values = x[self.cols]
        return bool(np.all(np.minimum(values, 1.0 - values) <= 1e-6))

    def fractional_choice(self, x: FloatArray) -> tuple[IntArray, FloatArray, float] | None:
        """The candidate binaries fixed to the relaxation's favourite candidate, if they are fractional."""
        if self.is_integral(x):
            return None
        values = x[self.cols]
        best = int(np.argmax(values))
        fixed = np.zeros(self.cols.size)
        fixed[best] = 1.0
        return self.cols, fixed, float(values[best])

    def round(self, x: FloatArray, load_kw: FloatArray, cost: FloatArray, site_value: SiteValue) -> None:
        """Choose the candidate that is best for the site given ``load_kw`` (a greedy step)."""
        if self.dense is None:
            self.dense = self.candidates.dense_kw(self.context.grid.count)
        values = site_value(load_kw[None, :] + self.dense) + cost[self.cols]
        x[self.cols] = 0.0
        x[self.cols[int(np.argmin(values))]] = 1.0

    def move_cost(self, x: FloatArray) -> float:
        """``move_penalty`` when the chosen candidate moves the job, else 0 [currency]."""
        return self.device.move_penalty if bool(self.candidates.moved[self.chosen(x)]) else 0.0

    def power_kw(self, x: FloatArray) -> FloatArray:
        """Average power per slot [kW] of the chosen candidate."""
        cands = self.candidates
        mask = cands.entry_candidate == self.chosen(x)
        power = np.zeros(self.context.grid.count)
        np.add.at(power, cands.entry_slot[mask], cands.entry_kw[mask])
        return power

    def extract(self, x: FloatArray) -> tuple[DevicePlan, list[Violation]]:
        """The chosen sequence and start, its power, energy, cost and CO2, and any lateness."""
        cands, device, grid = self.candidates, self.device, self.context.grid
        index = self.chosen(x)
        sequence = device.alternatives[int(cands.alternative[index])]
        power = self.power_kw(x)
        start = grid.at(int(cands.start_us[index]))
        end = later(start, sequence.duration)
        committed = device.committed_start is not None or device.committed_sequence_id is not None
        plan = DevicePlan(
            device_id=device.device_id,
            kind=device.kind,
            sequence_id=sequence.sequence_id,
            start=start,
            end=end,
            power_w=watts(power),
            energy_wh=float(np.sum(power) * self.context.slot_hours * 1000.0),
            cost=self.energy_cost(power),
            co2_g=self.energy_co2(power),
            moved=bool(cands.moved[index]) if committed else None,
        )
        violations: list[Violation] = []
        late_start = int(cands.late_start_us[index]) / 1e6
        late_end = int(cands.late_end_us[index]) / 1e6
        if late_start > 0:
            violations.append(
                Violation(
                    constraint=ViolationKind.LATEST_START,
                    device_id=device.device_id,
                    amount=late_start,
                    unit="s",
                    message=f"{device.device_id} cannot start by latest_start "
                    f"{device.latest_start.isoformat()}; planned at {start.isoformat()}, "
                    f"{late_start:.0f} s late",
                )
            )
        if late_end > 0:
            violations.append(
                Violation(
                    constraint=ViolationKind.LATEST_END,
                    device_id=device.device_id,
                    amount=late_end,
                    unit="s",
                    message=f"{device.device_id} ({sequence.sequence_id}) cannot end by latest_end "
                    f"{device.latest_end.isoformat()}; planned to end at {end.isoformat()}, "
                    f"{late_end:.0f} s late",
                )
            )
        return plan, violations
