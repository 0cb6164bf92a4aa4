"""HiGHS for the planner's lexicographic levels: the LP relaxation first, the MILP when it must.

Two :class:`highspy.Highs` instances hold the same model, passed once each: the MILP and its LP relaxation
(no integrality, semi-continuous columns relaxed to ``[0, upper]``). Each level sets the objective of both
and adds the bound row of the level above to both. :meth:`HighsRunner.run` then

1. solves the relaxation: its optimum ``L`` is a lower bound of the MILP;
2. if the relaxed solution is integral, it is MILP-optimal: done;
3. else dives: fixes the most decided fractional choice (the model's :class:`Rounding`), re-solves the
   relaxation, and again until the choices are integral; rounds what is left, fixes the discrete columns,
   re-solves the LP for the continuous ones (switching semi-continuous columns below their minimum on or
   off, :meth:`HighsRunner._switch`) and gets a feasible ``U``; failing that (or the gap), solves the MILP
   with the discrete columns fixed, which leaves only the semi-continuous ones; when
   ``U − L ≤ mip_rel_gap·|U|`` that plan is optimal within the gap;
4. else, for a model with discrete columns and a rounded plan, runs its own best-first branch and bound on the
   LP instance from that plan (:meth:`HighsRunner._branch_and_bound`): each node's LP is warm-started from the
   basis HiGHS kept, the lowest bound of the open nodes bounds the MILP, and at most :data:`_NODES` LPs are
   solved. On the simulation's flexible starts it proved the gap within 5–72 LPs, 2–5 times faster than
   HiGHS's MILP (whose presolve, cuts and heuristics dominate on these small models). A model without
   discrete columns (only semi-continuous ones, e.g. a charger with a minimum current) is branched on only
   when its rounded plan is within :data:`_SEMI_GAPS` gaps of ``L``, and for at most :data:`_SEMI_NODES`
   LPs (below);
5. else runs the MILP from the best plan found so far, and keeps that plan if HiGHS finds nothing better in
   time. HiGHS gets the plan as its first incumbent (``setSolution``) and runs without presolve: with presolve
   on, HiGHS 1.16 could misreport a given start as optimal (its objective mis-mapped in the reduced space);
   without it the start is checked in the model's own space. On the 40-home replay's 8 MILPs (7 chargers
   with a minimum, 1 flexible start; their relaxation 1e-4 to 2e-3 below the optimum) HiGHS's own MILP
   took 36–305 ms, 816 ms in all; from the rounded plan without presolve 17–109 ms, 369 ms in all (plans'
   CPU 1.00 → 0.65 s; costs within the gap: the largest move 2.2e-5, 1.9e-5 relative).

Steps 1–4 take LP solves only. A model without discrete columns skips the MILP of step 3 (with nothing to
fix it would be the MILP of step 5, solved twice).

Semi-continuous columns (figures of a 40-home shard of the simulation, :mod:`benchmarks.planner_replay`: 16 of
316 plans reached HiGHS's MILP, 5 % of the plans for a third of the solve CPU, ~110 ms each; all but two were
an EV charger with a 4.14 kW minimum, a battery, a heat pump and PV, with no discrete column). Switching a
charger's share below its minimum off used to move it to the next-cheapest idle slot, below its minimum again,
round after round until the repair gave up; so each repair round also tries its options with the idle
semi-continuous columns kept at 0 (the share moves to the slots already charging), keeps the best valid plan
of any option and stops once one is within the gap. That settled 5 of the 16 plans by rounding (their
relaxation was within the gap) and gave the others a plan as good as HiGHS's. Their relaxations are weak
otherwise (1e-4 to 2e-3 below the optimum: the relaxation charges PV surplus in slivers below the minimum),
and branching on them without HiGHS's cuts proved the gap in 7–21 LPs when the rounded plan was within
6 gaps of the bound (3 plans) and not in 100 LPs when it was 8 gaps or more away: those still go to the MILP.
Over the shard the plans' CPU fell from 5.13 s to 4.39–4.59 s (two runs; 8 MILPs instead of 16); 38 plans'
costs moved, by at most 4e-5 currency units (6 lower, 1 higher), within the gap.

HiGHS runs on one thread (option ``threads``): these models are small, and on a machine whose cores are busy
with other homes a second HiGHS thread costs more CPU than it saves time. HiGHS's thread pool is global to the
process; if another user started it with more threads, the run falls back to HiGHS's default.

The LPs (the relaxation, and a model without discrete or semi-continuous columns) are solved without
presolve: on these small models it costs more than it saves (about 20 % of an LP's time on simulated homes).
HiGHS's feasibility-jump, RINS and RENS heuristics are off (:data:`MIP_OPTIONS`): on the planner's MILPs
(semi-continuous chargers, flexible starts) they took most of the MILP's time — up to 75 % in sub-MIPs —
while branch and bound with HiGHS's other heuristics reaches the same gap sooner; the gap HiGHS proves is
unchanged. So is the root-reduced-cost heuristic (a sub-MIP too): without it the simulation's MILPs took
about 30 % less CPU, and their plans' costs moved by less than 1e-5 (relative).
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass
from typing import Protocol

import highspy
import numpy as np
import numpy.typing as npt

from flexcem.planner.builder import ColumnKind, ModelArrays
from flexcem.planner.grid import FloatArray, IntArray
from flexcem.planner.highs_banner import silence_banner

__all__ = ["MIP_OPTIONS", "HighsRunner", "Rounding", "RunResult", "remaining"]

_INTEGRAL = 1e-6
"""Tolerance of integrality and of semi-continuous minima."""
_ABS_GAP = 1e-6
"""Absolute gap (objective units) under which a rounded plan is accepted whatever the relative gap."""
_REPAIRS = 8
"""Most rounds of switching semi-continuous columns on or off."""
_NODES = 80
"""Most LPs of the runner's own branch and bound (step 4) before the MILP decides (the simulation's flexible
starts needed at most 72)."""
_SEMI_NODES = 25
"""Most LPs of the runner's own branch and bound on a model whose only non-continuous columns are
semi-continuous (see the module docstring)."""
_SEMI_GAPS = 6.0
"""Such a model is branched on only when its rounded plan is within this many MIP gaps of the relaxation's
bound (see the module docstring)."""
_TIE = 1e-6
"""Relative difference under which two roundings count as equally good (far below the MIP gap)."""


class Rounding(Protocol):
    """What the runner needs from the model to round a relaxed solution."""

    def is_integral(self, x: FloatArray) -> bool:
        """Whether the discrete choices of ``x`` are integral."""
        ...

    def round(self, x_relaxed: FloatArray, cost: FloatArray) -> FloatArray:
        """A copy of ``x_relaxed`` with rounded discrete choices."""
        ...

    def dive(self, x_relaxed: FloatArray) -> tuple[IntArray, FloatArray] | None:
        """Columns of one fractional choice and the 0/1 values to fix them at; None when all are integral."""
        ...


@dataclass(frozen=True)
class RunResult:
    """What one level's solve produced."""

    x: FloatArray | None
    """The column values, or None when HiGHS has no feasible solution."""
    optimal: bool
    """Whether optimality within the gap is proven."""
    time_limited: bool
    """Whether the time limit stopped HiGHS."""
    mip_gap: float
    """Relative gap between the plan and the best bound (0 when proven exactly)."""
    method: str
    """How: 'relaxation' (integral LP), 'rounding' (rounded LP within the gap), 'fixed_mip' (the MILP with
    the rounded choices fixed, within the gap), 'branching' (the runner's own branch and bound, within the
    gap), 'mip' or 'lp' (a model without discrete columns)."""
    from_start: bool = False
    """Whether ``x`` is the plan the run started from (the solver found nothing better in time)."""


_THREADS = 1
"""HiGHS threads per solve (see the module docstring)."""

MIP_OPTIONS: dict[str, bool | int | float | str] = {
    "mip_heuristic_run_feasibility_jump": False,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
}
"""Options of the MILP instance (see the module docstring)."""


def _silent() -> highspy.Highs:
    silence_banner()
    highs = highspy.Highs()  # type: ignore[no-untyped-call]
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", _THREADS)
    return highs


def _run(highs: highspy.Highs) -> None:
    """``highs.run()``; when HiGHS's global thread pool was started with another thread count (it then refuses
    to run), again with its default thread count."""
    status = highs.run()
    if status == highspy.HighsStatus.kError and highs.getModelStatus() == highspy.HighsModelStatus.kNotset:
        highs.setOptionValue("threads", 0)
        highs.run()


def _within_gap_of(bound: float, gap: float) -> float:
    """The highest objective value ``v`` with ``v − bound ≤ max(gap·|v|, _ABS_GAP)`` (a little lower when
    ``bound`` is positive: ``bound + gap·bound``)."""
    room = gap * abs(bound) if bound >= 0.0 else gap * abs(bound) / (1.0 + gap)
    return bound + max(room, _ABS_GAP)


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (a :func:`time.perf_counter` value)."""
    return deadline - time.perf_counter()


class HighsRunner:
    """The MILP and its LP relaxation in HiGHS, silent, with the planner's options."""

    def __init__(self) -> None:
        self.mip = _silent()
        for name, value in MIP_OPTIONS.items():
            self.mip.setOptionValue(name, value)
        self.lp = _silent()
        self.lp.setOptionValue("presolve", "off")
        self.num_cols = 0
        self.cost = np.zeros(0)
        self.offset = 0.0
        self.discrete = np.zeros(0, dtype=np.int64)
        self.semi = np.zeros(0, dtype=np.int64)
        self.lower = np.zeros(0)
        self.upper = np.zeros(0)
        self._bound = -np.inf  # the relaxation's optimum of the level being solved

    def load(self, lp: highspy.HighsLp | ModelArrays, kinds: npt.NDArray[np.int8]) -> None:
        """Pass the model (with the :class:`ColumnKind` of every column) to both instances, once; as
        :class:`ModelArrays` it is passed without element-wise copies."""
        if isinstance(lp, ModelArrays):
            self.num_cols = lp.num_col
            self.cost, self.lower, self.upper = lp.cost.copy(), lp.col_lower.copy(), lp.col_upper.copy()
        else:
            self.num_cols = int(lp.num_col_)
            self.cost = np.array(lp.col_cost_, dtype=np.float64)
            self.lower = np.array(lp.col_lower_, dtype=np.float64)
            self.upper = np.array(lp.col_upper_, dtype=np.float64)
        self.discrete = np.flatnonzero(kinds == ColumnKind.INTEGER)
        self.semi = np.flatnonzero(kinds == ColumnKind.SEMI_CONTINUOUS)
        if isinstance(lp, ModelArrays):
            accepted = lp.pass_to(self.mip)
        else:
            accepted = self.mip.passModel(lp) != highspy.HighsStatus.kError
        if not accepted:
            raise RuntimeError("HiGHS refused the planning model")
        if not self.integer:
            self.mip.setOptionValue("presolve", "off")  # an LP (see the module docstring)
            return
        relaxed_lower = self.lower.copy()
        relaxed_lower[self.semi] = 0.0
        if isinstance(lp, ModelArrays):
            lp.pass_to(self.lp, relaxed_lower, relax=True)
        else:
            lp.integrality_ = []
            lp.col_lower_ = relaxed_lower
            self.lp.passModel(lp)

    @property
    def integer(self) -> bool:
        """Whether the model has discrete or semi-continuous columns."""
        return bool(self.discrete.size or self.semi.size)

    def set_objective(self, cost: FloatArray, offset: float = 0.0) -> None:
        """Replace the objective vector and its constant ``offset``.

        The relative MIP gap is measured on the objective with its offset: an offset that cancels the
        (nearly constant) value of bounded upper levels keeps the gap about the level being solved.
        """
        self.cost = np.ascontiguousarray(cost, dtype=np.float64)
        self.offset = float(offset)
        indices = np.arange(self.num_cols, dtype=np.int32)
        for highs in self._instances():
            highs.changeColsCost(self.num_cols, indices, self.cost)
            highs.changeObjectiveOffset(self.offset)

    def value(self, x: FloatArray) -> float:
        """Objective value of ``x``, with the offset."""
        return float(self.cost @ x) + self.offset

    def add_bound(self, coefs: FloatArray, upper: float) -> None:
        """Add the row ``coefs · x ≤ upper`` (the bound of a solved level)."""
        nonzero = np.flatnonzero(coefs)
        index = nonzero.astype(np.int32)
        values = coefs[nonzero].astype(np.float64)
        for highs in self._instances():
            highs.addRow(-highspy.kHighsInf, upper, nonzero.size, index, values)

    def _instances(self) -> tuple[highspy.Highs, ...]:
        return (self.mip, self.lp) if self.integer else (self.mip,)

    # -- solving -------------------------------------------------------------------------------------
    def run(
        self, *, time_limit_s: float, mip_rel_gap: float, start: FloatArray | None, rounding: Rounding | None
    ) -> RunResult:
        """Solve with the current objective (see the module docstring); ``start`` is the fallback plan."""
        if not self.integer:
            result = self._solve_mip(time_limit_s, mip_rel_gap, start)
            return RunResult(
                x=result.x,
                optimal=result.optimal,
                time_limited=result.time_limited,
                mip_gap=result.mip_gap,
                method="lp",
                from_start=result.from_start,
            )
        deadline = time.perf_counter() + time_limit_s
        if rounding is not None:
            quick, rounded = self._relaxation_first(time_limit_s, mip_rel_gap, rounding)
            if quick is not None:
                return quick
            if rounded is not None:
                start = rounded
            if rounded is not None and (self.discrete.size or self._close(rounded, mip_rel_gap)):
                nodes = _NODES if self.discrete.size else _SEMI_NODES
                searched = self._branch_and_bound(rounded, mip_rel_gap, deadline, nodes)
                if searched is not None:
                    return searched
        return self._solve_mip(remaining(deadline), mip_rel_gap, start)

    def _solve_lp(self, time_limit_s: float) -> FloatArray | None:
        self.lp.setOptionValue("time_limit", max(time_limit_s, 1e-3))
        _run(self.lp)
        if self.lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.array(self.lp.getSolution().col_value, dtype=np.float64)

    def _set_lp_bounds(self, cols: IntArray, lower: FloatArray, upper: FloatArray) -> None:
        if cols.size:
            self.lp.changeColsBounds(cols.size, cols.astype(np.int32), lower, upper)

    def _below_minimum(self, x: FloatArray) -> IntArray:
        values = x[self.semi]
        low = (values > _INTEGRAL) & (values < self.lower[self.semi] - _INTEGRAL)
        result: IntArray = self.semi[low]
        return result

    def _switch(
        self, low: IntArray, x: FloatArray, deadline: float, decided: IntArray
    ) -> tuple[FloatArray | None, IntArray, FloatArray | None]:
        """Decide semi-continuous columns that sit between 0 and their minimum, all at once.

        Options: all on (at least the minimum; the others make room), those at half their minimum or more
        on and the rest off, the one nearest its minimum on and the rest off, all off (their share moves to
        where it can reach the minimum); and each of these with the undecided semi-continuous columns that
        are 0 kept at 0 (the share moves only to the columns already running). The objective picks, the
        first on a tie; the decisions stay for the later rounds.

        Returns the LP solution of the chosen option (None when none is feasible), the columns whose bounds it
        set, and the best option's solution that has no column below its minimum (a plan, even when the
        objective picked another option), or None.
        """
        share = x[low] / self.lower[low]
        on_half = share >= 0.5
        largest = np.arange(low.size) == int(np.argmax(share))
        at_zero = self.semi[x[self.semi] <= _INTEGRAL]
        at_zero = at_zero[~np.isin(at_zero, decided)]
        # All on first: on a tie, on ends the search, while off only moves the share to another slot.
        masks = [np.ones(low.size, dtype=bool), on_half, largest, np.zeros(low.size, dtype=bool)]
        options = [(on, False) for on in masks] + [(on, True) for on in masks]
        results: list[tuple[float, FloatArray, npt.NDArray[np.bool_], bool]] = []
        valid: FloatArray | None = None
        tried: set[bytes] = set()
        valid_masks: set[bytes] = set()
        for on, freeze in options:
            key = on.tobytes() + bytes([freeze])
            if key in tried or (freeze and (not at_zero.size or on.tobytes() in valid_masks)):
                continue  # keeping zeros at 0 only restricts an option that is already valid
            tried.add(key)
            self._decide(low, on, at_zero if freeze else None)
            candidate = self._solve_lp(remaining(deadline))
            if freeze:
                self._set_lp_bounds(at_zero, np.zeros(at_zero.size), self.upper[at_zero])
            if candidate is None:
                continue
            value = self.value(candidate)
            results.append((value, candidate, on, freeze))
            if not self._below_minimum(candidate).size:
                valid_masks.add(on.tobytes())
                if valid is None or value < self.value(valid):
                    valid = candidate
        if not results:
            return None, low, None
        least = min(item[0] for item in results)
        _, chosen, on, freeze = next(item for item in results if item[0] <= least + _TIE * max(1.0, abs(least)))
        self._decide(low, on, at_zero if freeze else None)
        return chosen, np.concatenate([low, at_zero]) if freeze else low, valid

    def _decide(self, low: IntArray, on: npt.NDArray[np.bool_], zero: IntArray | None) -> None:
        """Set the LP bounds of ``low``: at least the minimum where ``on``, 0 elsewhere; ``zero`` at 0."""
        self._set_lp_bounds(low, np.where(on, self.lower[low], 0.0), np.where(on, self.upper[low], 0.0))
        if zero is not None:
            self._set_lp_bounds(zero, np.zeros(zero.size), np.zeros(zero.size))

    def _relaxation_first(
        self, time_limit_s: float, gap: float, rounding: Rounding
    ) -> tuple[RunResult | None, FloatArray | None]:
        """Steps 1–3 of the module docstring: a result within the gap, or None and the best plan found."""
        deadline = time.perf_counter() + time_limit_s
        self._bound = -np.inf
        relaxed = self._solve_lp(time_limit_s)
        if relaxed is None:
            return None, None
        bound = self._bound = self.value(relaxed)
        if rounding.is_integral(relaxed) and not self._below_minimum(relaxed).size:
            return RunResult(x=relaxed, optimal=True, time_limited=False, mip_gap=0.0, method="relaxation"), None
        fixed = self._dive(relaxed, rounding, deadline)
        if fixed is None:
            return None, None
        best: FloatArray | None = None
        target = _within_gap_of(bound, gap)
        for method in ("rounding", "fixed_mip"):
            if method == "fixed_mip" and not (self.semi.size and self.discrete.size):
                break  # nothing left to decide, or nothing fixed: the MILP itself (step 4)
            if method == "rounding":
                x = self._complete(fixed, deadline, target)
            else:
                x = self._fixed_mip(fixed, deadline, gap)
            if x is None:
                continue
            x[self.discrete] = fixed
            if best is None or self.value(x) < self.value(best):
                best = x
            value = self.value(x)
            difference = max(value - bound, 0.0)
            if difference <= max(gap * abs(value), _ABS_GAP):
                relative = difference / abs(value) if abs(value) > 0 else 0.0
                return RunResult(x=x, optimal=True, time_limited=False, mip_gap=relative, method=method), None
        return None, best

    def _dive(self, relaxed: FloatArray, rounding: Rounding, deadline: float) -> FloatArray | None:
        """Fix the most decided fractional choice and re-solve until integral; the discrete values."""
        x: FloatArray | None = relaxed
        try:
            for _ in range(self.discrete.size):
                assert x is not None
                step = rounding.dive(x)
                if step is None:
                    break
                cols, values = step
                self._set_lp_bounds(cols, values, values)
                x = self._solve_lp(remaining(deadline))
                if x is None:
                    return None
            assert x is not None
            fixed: FloatArray = np.round(rounding.round(x, self.cost)[self.discrete])
            return fixed
        finally:
            self._set_lp_bounds(self.discrete, self.lower[self.discrete], self.upper[self.discrete])

    def _complete(self, fixed: FloatArray, deadline: float, target: float) -> FloatArray | None:
        """The LP with the discrete columns fixed, semi-continuous columns switched on or off until valid.

        Every round's options that leave no column below its minimum are plans: the best is kept, and
        returned at once when its objective value is at most ``target`` (within the gap of the bound), or when
        the rounds end without a valid LP solution.
        """
        repaired: list[IntArray] = []
        best: FloatArray | None = None
        self._set_lp_bounds(self.discrete, fixed, fixed)
        try:
            x = self._solve_lp(remaining(deadline))
            for _ in range(_REPAIRS):
                if x is None:
                    break
                low = self._below_minimum(x)
                if not low.size:
                    break
                decided = np.concatenate(repaired) if repaired else np.zeros(0, dtype=np.int64)
                x, changed, valid = self._switch(low, x, deadline, decided)
                repaired.append(changed)
                if valid is not None and (best is None or self.value(valid) < self.value(best)):
                    best = valid
                    if self.value(best) <= target:
                        return best
            valid_x = x is not None and not self._below_minimum(x).size
            if x is not None and valid_x and (best is None or self.value(x) < self.value(best)):
                best = x
            return best
        finally:
            self._set_lp_bounds(self.discrete, self.lower[self.discrete], self.upper[self.discrete])
            for low in repaired:
                self._set_lp_bounds(low, np.zeros(low.size), self.upper[low])

    def _fixed_mip(self, fixed: FloatArray, deadline: float, gap: float) -> FloatArray | None:
        """The MILP with the discrete columns fixed: only the semi-continuous columns are left to decide."""
        cols = self.discrete.astype(np.int32)
        highs = self.mip
        highs.changeColsBounds(cols.size, cols, fixed, fixed)
        highs.setOptionValue("presolve", "choose")
        try:
            highs.setOptionValue("time_limit", max(remaining(deadline), 1e-3))
            highs.setOptionValue("mip_rel_gap", gap)
            _run(highs)
            if highs.getInfo().primal_solution_status != highspy.SolutionStatus.kSolutionStatusFeasible:
                return None
            return np.array(highs.getSolution().col_value, dtype=np.float64)
        finally:
            highs.changeColsBounds(cols.size, cols, self.lower[self.discrete], self.upper[self.discrete])

    def _close(self, incumbent: FloatArray, gap: float) -> bool:
        """Whether ``incumbent`` is within :data:`_SEMI_GAPS` gaps of the relaxation's bound (the LP instance's
        last solve of the level without branching bounds is its relaxation: :meth:`_relaxation_first`)."""
        value = self.value(incumbent)
        return value - self._bound <= _SEMI_GAPS * max(gap * abs(value), _ABS_GAP)

    def _branch_and_bound(
        self, incumbent: FloatArray, gap: float, deadline: float, nodes: int | None = None
    ) -> RunResult | None:
        """Step 4 of the module docstring: best-first branch and bound on the LP instance from ``incumbent``.

        A node is a set of column bounds; its LP (warm-started from the basis HiGHS kept) bounds its subtree.
        It branches on the most fractional discrete column (≥ ceil / ≤ floor), else on a semi-continuous
        column between 0 and its minimum (at least the minimum / 0). The lowest bound of the open nodes is a
        lower bound of the MILP, so a plan within the gap of it is optimal within the gap. Returns None when
        that is not proven within :data:`_NODES` LPs or the time left (the MILP decides then).
        """
        best_x, best = incumbent, self.value(incumbent)
        relaxed_lower = self.lower.copy()
        relaxed_lower[self.semi] = 0.0
        heap: list[tuple[float, int, tuple[tuple[int, float, float], ...]]] = [(-np.inf, 0, ())]
        pushed = 0
        bounded = np.zeros(0, dtype=np.int64)  # columns whose LP bounds a node changed

        def tolerance() -> float:
            return max(gap * abs(best), _ABS_GAP)

        try:
            for _ in range(_NODES if nodes is None else nodes):
                if not heap or best - heap[0][0] <= tolerance():
                    break
                value_bound, _, fixes = heapq.heappop(heap)
                self._set_lp_bounds(bounded, relaxed_lower[bounded], self.upper[bounded])
                bounded = np.array([column for column, _, _ in fixes], dtype=np.int64)
                self._set_lp_bounds(
                    bounded, np.array([low for _, low, _ in fixes]), np.array([high for _, _, high in fixes])
                )
                x = self._solve_lp(remaining(deadline))
                if x is None:
                    if self.lp.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
                        continue  # an empty subtree
                    return None  # out of time, or HiGHS could not tell: the node's bound is unknown
                value = self.value(x)
                if value >= best - tolerance():
                    continue  # nothing in this subtree is better within the gap
                column, branches = self._branching(x)
                if column < 0:
                    best_x, best = x, value  # MILP-feasible: the new incumbent
                    continue
                kept = tuple(fix for fix in fixes if fix[0] != column)  # a column branched on again: the new,
                for low, high in branches:  # tighter bounds replace its old ones (no duplicate index)
                    pushed += 1
                    heapq.heappush(heap, (max(value, value_bound), pushed, (*kept, (column, low, high))))
            else:
                if heap and best - heap[0][0] > tolerance():
                    return None
        finally:
            self._set_lp_bounds(bounded, relaxed_lower[bounded], self.upper[bounded])
        lower = min(heap[0][0], best) if heap else best
        relative = (best - lower) / abs(best) if abs(best) > 0 else 0.0
        return RunResult(x=best_x, optimal=True, time_limited=False, mip_gap=max(relative, 0.0), method="branching")

    def _branching(self, x: FloatArray) -> tuple[int, list[tuple[float, float]]]:
        """The column to branch on in ``x`` and the (lower, upper) bounds of its two branches, the more
        promising first; ``(-1, [])`` when ``x`` is MILP-feasible."""
        if self.discrete.size:
            values = x[self.discrete]
            distance = np.minimum(values - np.floor(values), np.ceil(values) - values)
            index = int(np.argmax(distance))
            if distance[index] > _INTEGRAL:
                column = int(self.discrete[index])
                value = float(values[index])
                up = (float(np.ceil(value)), float(self.upper[column]))
                down = (float(self.lower[column]), float(np.floor(value)))
                return column, [up, down]
        low = self._below_minimum(x)
        if low.size:
            share = x[low] / self.lower[low]
            column = int(low[int(np.argmin(np.abs(share - 0.5)))])
            return column, [(float(self.lower[column]), float(self.upper[column])), (0.0, 0.0)]
        return -1, []

    def _solve_mip(self, time_limit_s: float, gap: float, start: FloatArray | None) -> RunResult:
        """Run the MILP; a model with discrete or semi-continuous columns from ``start`` (see the module
        docstring: HiGHS gets it as its first incumbent and runs without presolve). ``start`` is also kept,
        and returned when HiGHS finds nothing as good."""
        highs = self.mip
        highs.setOptionValue("time_limit", max(time_limit_s, 1e-3))
        highs.setOptionValue("mip_rel_gap", gap)
        if self.integer:
            given = start is not None
            highs.setOptionValue("presolve", "off" if given else "choose")
            if given:
                solution = highspy.HighsSolution()
                solution.col_value = np.asarray(start, dtype=np.float64)
                solution.value_valid = True
                highs.setSolution(solution)
        _run(highs)
        status = highs.getModelStatus()
        info = highs.getInfo()
        has_solution = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        x = np.array(highs.getSolution().col_value, dtype=np.float64) if has_solution else None
        mip_gap = float(info.mip_gap) if self.integer and has_solution else 0.0
        if not has_solution or not np.isfinite(mip_gap):
            mip_gap = 1.0
        optimal = status == highspy.HighsModelStatus.kOptimal
        from_start = False
        if start is not None and (x is None or self.value(start) < self.value(x) - _ABS_GAP):
            x, optimal, from_start = start, False, True
        return RunResult(
            x=x,
            optimal=optimal,
            time_limited=status == highspy.HighsModelStatus.kTimeLimit,
            mip_gap=max(mip_gap, 0.0),
            method="mip",
            from_start=from_start,
        )
