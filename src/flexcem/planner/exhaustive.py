"""Brute-force reference for problems with flexible-start devices only.

Every combination of the devices' candidates (alternative, start) — the very candidates the MILP chooses
from — is evaluated with the planner's definitions, independently of the MILP:

* violations: ``SITE_LIMIT_WEIGHT`` × kWh above a site limit + ``LATENESS_WEIGHT`` × hours late;
* CO2 [g]: the site's imports (objective "co2") plus the devices whose incentive is "greenest";
* cost [currency]: Σ (import × price − export × export price) × Δt + move penalties.

The best combination is the lexicographic minimum of (violations, CO2, cost). Used by the tests and the
benchmark to show that the MILP finds the optimum. Combinations are enumerated in vectorised chunks over the
slots any candidate touches; the count grows as the product of the candidate counts, so keep it small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from flexcem.model.flexibility import IncentiveProgram
from flexcem.planner.context import PlanningContext
from flexcem.planner.devices.flexible_start import CandidateSet, FlexibleStartDevice, candidate_set
from flexcem.planner.grid import US_PER_HOUR, FloatArray, IntArray
from flexcem.planner.objective import LATENESS_WEIGHT, SITE_LIMIT_WEIGHT
from flexcem.planner.problem import PlanningProblem
from flexcem.planner.result import Plan
from flexcem.planner.site import site_limits_kw

__all__ = ["Choice", "Evaluation", "ExhaustiveResult", "evaluate", "exhaustive_optimum", "plan_choices"]

Choice = tuple[str, datetime]
"""A device's (sequence_id, start)."""


@dataclass(frozen=True)
class Evaluation:
    """The objective levels of one combination."""

    violation: float
    """Violation units (see module docstring)."""
    co2_g: float
    """CO2 of the CO2 level [g] (0 when the problem has none)."""
    cost: float
    """Energy cost plus move penalties [currency]."""
    energy_cost: float
    """Site energy cost [currency]."""
    move_cost: float
    """Move penalties [currency]."""


@dataclass(frozen=True)
class ExhaustiveResult:
    """The best combination found by enumeration."""

    best: Evaluation
    choices: dict[str, Choice]
    """Chosen (sequence_id, start) per device id."""
    combinations: int
    """How many combinations were evaluated."""

    @property
    def cost(self) -> float:
        """Optimal cost (energy cost plus move penalties) [currency]."""
        return self.best.cost


class _Enumerator:
    """The problem's candidates as dense arrays over the slots that matter."""

    def __init__(self, problem: PlanningProblem) -> None:
        for device in problem.devices:
            if not isinstance(device, FlexibleStartDevice):
                raise ValueError(f"the exhaustive search handles flexible_start devices only, not {device.kind}")
        if problem.objective not in ("cost", "co2"):
            raise ValueError(f"the exhaustive search handles objectives 'cost' and 'co2', not {problem.objective!r}")
        self.problem = problem
        self.context = context = PlanningContext.of(problem)
        self.devices: list[FlexibleStartDevice] = [d for d in problem.devices if isinstance(d, FlexibleStartDevice)]
        self.sets: list[CandidateSet] = [candidate_set(device, context.grid) for device in self.devices]
        dense = [cands.dense_kw(context.grid.count) for cands in self.sets]
        touched = np.zeros(context.grid.count, dtype=bool)
        for matrix in dense:
            touched |= np.any(matrix != 0.0, axis=0)
        self.slots = np.flatnonzero(touched)
        self.power = [matrix[:, self.slots] for matrix in dense]
        hours = context.slot_hours
        co2_level = context.co2 is not None
        self.constant_violation: list[FloatArray] = []
        self.constant_co2: list[FloatArray] = []
        self.constant_cost: list[FloatArray] = []
        for device, cands, matrix in zip(self.devices, self.sets, dense, strict=True):
            self.constant_violation.append(LATENESS_WEIGHT * (cands.late_start_us + cands.late_end_us) / US_PER_HOUR)
            greenest = co2_level and device.incentive is IncentiveProgram.GREENEST
            assert context.co2 is not None or not greenest
            self.constant_co2.append(
                matrix @ context.co2 * hours if greenest and context.co2 is not None else np.zeros(cands.size)
            )
            self.constant_cost.append(device.move_penalty * cands.moved.astype(np.float64))
        self.shape = tuple(cands.size for cands in self.sets)
        # The slots no candidate touches hold only the committed load: evaluate them once.
        others = np.ones(context.grid.count, dtype=bool)
        others[self.slots] = False
        v, g, c = self._site(context.committed_kw[None, others], others)
        self.base = (float(v[0]), float(g[0]), float(c[0]))

    def _site(self, site_kw: FloatArray, slots: IntArray | np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Violation units, CO2-level grams and energy cost of site powers (rows) over ``slots``."""
        context, limits = self.context, self.problem.site
        hours = context.slot_hours
        imports = np.maximum(site_kw, 0.0)
        exports = np.maximum(-site_kw, 0.0)
        violation = np.zeros(site_kw.shape[0])
        import_limit = site_limits_kw(context.grid, limits.import_limit_w, limits.import_limits)
        export_limit = site_limits_kw(context.grid, limits.export_limit_w, limits.export_limits)
        if import_limit is not None:
            violation += np.sum(np.maximum(imports - import_limit[slots], 0.0), axis=1)
        if export_limit is not None:
            violation += np.sum(np.maximum(exports - export_limit[slots], 0.0), axis=1)
        violation *= SITE_LIMIT_WEIGHT * hours
        if self.problem.objective == "co2" and context.co2 is not None:
            co2 = imports @ context.co2[slots] * hours
        else:
            co2 = np.zeros(site_kw.shape[0])
        cost = (imports @ context.price[slots] - exports @ context.export_price[slots]) * hours
        return violation, co2, cost

    def evaluate(self, digits: list[IntArray]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(violation, co2, cost, move cost) of the combinations given by candidate indices per device."""
        size = digits[0].size if digits else 1
        site = np.repeat(self.context.committed_kw[None, self.slots], size, axis=0)
        violation = np.full(size, self.base[0])
        co2 = np.full(size, self.base[1])
        cost = np.full(size, self.base[2])
        move = np.zeros(size)
        for index, chosen in enumerate(digits):
            site += self.power[index][chosen]
            violation += self.constant_violation[index][chosen]
            co2 += self.constant_co2[index][chosen]
            move += self.constant_cost[index][chosen]
        v, g, c = self._site(site, self.slots)
        return violation + v, co2 + g, cost + c, move

    def choices(self, digits: list[int]) -> dict[str, Choice]:
        """The (sequence_id, start) of a combination, per device id."""
        grid = self.context.grid
        result: dict[str, Choice] = {}
        for device, cands, chosen in zip(self.devices, self.sets, digits, strict=True):
            sequence = device.alternatives[int(cands.alternative[chosen])]
            result[device.device_id] = (sequence.sequence_id, grid.at(int(cands.start_us[chosen])))
        return result


def _close(value: FloatArray, best: float) -> np.ndarray:
    return value <= best + 1e-9 * max(1.0, abs(best))


def _lexicographic_best(violation: FloatArray, co2: FloatArray, cost: FloatArray) -> int:
    mask = _close(violation, float(np.min(violation)))
    mask &= _close(co2, float(np.min(co2[mask])))
    candidates = np.flatnonzero(mask)
    return int(candidates[np.argmin(cost[candidates])])


def exhaustive_optimum(problem: PlanningProblem, *, max_combinations: int = 20_000_000) -> ExhaustiveResult:
    """The lexicographically best combination of every flexible-start device's candidates.

    Raises :class:`ValueError` for other device kinds or more than ``max_combinations`` combinations.
    """
    enum = _Enumerator(problem)
    total = int(np.prod(enum.shape)) if enum.shape else 1
    if total > max_combinations:
        raise ValueError(f"{total} combinations exceed max_combinations {max_combinations}")
    chunk = max(1, 2_000_000 // max(1, enum.slots.size))
    best: tuple[float, float, float, float, list[int]] | None = None
    for low in range(0, total, chunk):
        flat = np.arange(low, min(total, low + chunk))
        digits = [np.asarray(d, dtype=np.int64) for d in np.unravel_index(flat, enum.shape)] if enum.shape else []
        violation, co2, cost, move = enum.evaluate(digits)
        total_cost = cost + move
        pick = _lexicographic_best(violation, co2, total_cost)
        row = (
            float(violation[pick]),
            float(co2[pick]),
            float(total_cost[pick]),
            float(move[pick]),
            [int(d[pick]) for d in digits],
        )
        if best is None:
            best = row
            continue
        pair = _lexicographic_best(
            np.array([best[0], row[0]]), np.array([best[1], row[1]]), np.array([best[2], row[2]])
        )
        if pair == 1:
            best = row
    assert best is not None
    evaluation = Evaluation(
        violation=best[0], co2_g=best[1], cost=best[2], energy_cost=best[2] - best[3], move_cost=best[3]
    )
    return ExhaustiveResult(best=evaluation, choices=enum.choices(best[4]), combinations=total)


def evaluate(problem: PlanningProblem, choices: Mapping[str, Choice]) -> Evaluation:
    """The objective levels of one combination, given as (sequence_id, start) per device id."""
    enum = _Enumerator(problem)
    digits: list[IntArray] = []
    for device, cands in zip(enum.devices, enum.sets, strict=True):
        sequence_id, start = choices[device.device_id]
        alternative = [s.sequence_id for s in device.alternatives].index(sequence_id)
        offset = enum.context.grid.offset_us(start)
        match = np.flatnonzero((cands.alternative == alternative) & (cands.start_us == offset))
        if match.size == 0:
            raise KeyError(f"{device.device_id}: ({sequence_id}, {start.isoformat()}) is not a candidate")
        digits.append(match[:1])
    violation, co2, cost, move = enum.evaluate(digits)
    return Evaluation(
        violation=float(violation[0]),
        co2_g=float(co2[0]),
        cost=float(cost[0] + move[0]),
        energy_cost=float(cost[0]),
        move_cost=float(move[0]),
    )


def plan_choices(plan: Plan) -> dict[str, Choice]:
    """The (sequence_id, start) the plan chose for each flexible-start device."""
    return {
        device.device_id: (device.sequence_id, device.start)
        for device in plan.devices
        if device.sequence_id is not None and device.start is not None
    }
