"""``solve(problem) -> Plan``: build the MILP, solve its objective levels in order, read the plan back.

Lexicographic solving (levels of :class:`~flexcem.planner.builder.Level`):

1. One blended solve of ``BLEND_VIOLATION · violations + next level`` (the next level is CO2 when a
   device is greenest or the objective is "co2", else cost). When it meets every soft constraint the
   violation level is proven optimal (its lower bound is 0) — the usual case, one solve.
2. Otherwise the violations are minimised alone, and bounded by that minimum for what follows.
3. A CO2 level, when present, is bounded by its optimum and the cost level solved last.

A bounded level stays in the objectives below with a large weight, so that they cannot use the bound's
tolerance (the solver's feasibility tolerance) to trade a little of it away.

Each solve tries the LP relaxation, a rounding of it and a small branch and bound on it first (see
:mod:`flexcem.planner.highs_runner`) and
otherwise runs the MILP from the best plan known so far, the first from a simple feasible plan; so the
planner always has a plan to return, whatever the limits and the time limit.
"""

from __future__ import annotations

import time

import numpy as np

from flexcem.planner.builder import Level
from flexcem.planner.grid import FloatArray, watts
from flexcem.planner.highs_runner import HighsRunner, RunResult, remaining
from flexcem.planner.model import PlanningModel, build_model
from flexcem.planner.objective import BLEND_CO2, BLEND_VIOLATION
from flexcem.planner.problem import PlanningProblem
from flexcem.planner.result import Plan, PlanStatus, Violation
from flexcem.planner.site import site_co2, site_cost

__all__ = ["solve"]

_VIOLATION_GAP = 1e-7
"""Relative MIP gap when the violations are minimised alone (they must be tight before cost is)."""


_FEASIBILITY = 1e-7
"""HiGHS's primal feasibility tolerance: a solution's level value may be off by this per coefficient."""


def _slack(value: float, coefs: FloatArray | None = None) -> float:
    """Tolerance added to a level's optimum when it becomes a bound for the levels below.

    The solver's solutions are feasible within its tolerance, so a level value computed from one may be
    below the true optimum by up to ``1e-7 · Σ|coefficients|``; the bound must leave that room, or the
    next level would be infeasible.
    """
    room = 0.0 if coefs is None else _FEASIBILITY * float(np.sum(np.abs(coefs)))
    return 1e-9 * max(1.0, abs(value)) + room


class _Lexicographic:
    """Runs the levels of one model, keeping the best plan and the solver's verdicts."""

    def __init__(self, model: PlanningModel, runner: HighsRunner, deadline: float, mip_rel_gap: float) -> None:
        self.model = model
        self.runner = runner
        self.deadline = deadline
        self.gap = mip_rel_gap
        self.results: list[RunResult] = []
        self.solves: list[str] = []

    def run(
        self, x: FloatArray, level: str, objective: FloatArray, gap: float | None = None, offset: float = 0.0
    ) -> FloatArray:
        self.runner.set_objective(objective, offset)
        result = self.runner.run(
            time_limit_s=remaining(self.deadline),
            mip_rel_gap=self.gap if gap is None else gap,
            start=x,
            rounding=self.model,
        )
        self.results.append(result)
        self.solves.append(f"{level}:{result.method}")
        return result.x if result.x is not None else x

    def bound(self, level: Level, x: FloatArray) -> float:
        """Bound ``level`` by its value in ``x`` (its optimum); returns that value."""
        coefs = self.model.levels[level]
        value = float(coefs @ x)
        self.runner.add_bound(coefs, value + _slack(value, coefs))
        return value

    def solve(self, start: FloatArray) -> FloatArray:
        levels = self.model.levels
        violations, co2, cost = levels[Level.VIOLATION], levels[Level.CO2], levels[Level.COST]
        has_violations = bool(np.any(violations != 0.0))
        has_co2 = bool(np.any(co2 != 0.0))
        # Once a level is bounded by its optimum it stays in the objective with a large weight, so that the
        # levels below never use the bound's tolerance to trade it away; the objective's offset cancels its
        # value so that the MIP gap measures the level being solved.
        keep = 0.0 * cost
        offset = 0.0
        x = start
        if has_violations:
            x = self.run(x, "blend", BLEND_VIOLATION * violations + (co2 if has_co2 else cost))
            if float(violations @ x) > _slack(0.0, violations):
                # The blend traded a violation for a gain below: minimise the violations alone.
                x = self.run(x, "violation", violations, gap=min(self.gap, _VIOLATION_GAP))
                keep = keep + BLEND_VIOLATION * violations
                offset -= BLEND_VIOLATION * self.bound(Level.VIOLATION, x)
                if has_co2:
                    x = self.run(x, "co2", co2 + keep, offset=offset)
            elif not has_co2:
                return x  # no violation: the blend was the cost level itself
            else:
                keep = keep + BLEND_VIOLATION * violations
                offset -= BLEND_VIOLATION * self.bound(Level.VIOLATION, x)
        elif has_co2:
            x = self.run(x, "co2", co2)
        if has_co2:
            keep = keep + BLEND_CO2 * co2
            offset -= BLEND_CO2 * self.bound(Level.CO2, x)
        return self.run(x, "cost", cost + keep, offset=offset)

    def status(self) -> tuple[PlanStatus, float]:
        if all(result.x is None or result.from_start for result in self.results):
            return PlanStatus.HEURISTIC, 1.0
        gap = max(result.mip_gap for result in self.results)
        if all(result.optimal for result in self.results):
            return PlanStatus.OPTIMAL, gap
        if any(result.time_limited for result in self.results):
            return PlanStatus.TIME_LIMIT, gap
        return PlanStatus.FEASIBLE, gap


def _plan(model: PlanningModel, x: FloatArray, driver: _Lexicographic, build_s: float, t0: float) -> Plan:
    status, gap = driver.status()
    context = model.context
    device_plans = []
    violations: list[Violation] = []
    site_kw = context.committed_kw.copy()
    move_cost = 0.0
    for device in model.devices:
        plan, found = device.extract(x)
        device_plans.append(plan)
        violations.extend(found)
        site_kw += device.power_kw(x)
        move_cost += device.move_cost(x)
    violations.extend(model.site.violations(site_kw))
    return Plan(
        start=context.grid.start,
        slot_duration=context.grid.slot,
        slot_count=context.grid.count,
        currency=model.problem.currency,
        site_power_w=watts(site_kw),
        committed_power_w=watts(context.committed_kw),
        price_per_kwh=tuple(context.price.tolist()),
        export_price_per_kwh=tuple(context.export_price.tolist()),
        co2_g_per_kwh=None if context.co2 is None else tuple(context.co2.tolist()),
        devices=tuple(device_plans),
        total_cost=site_cost(site_kw, context),
        total_co2_g=site_co2(site_kw, context),
        move_cost=move_cost,
        violations=tuple(violations),
        warnings=tuple(model.warnings),
        status=status,
        mip_gap=gap,
        solves=tuple(driver.solves),
        build_time_s=build_s,
        solve_time_s=time.perf_counter() - t0,
    )


def solve(problem: PlanningProblem, *, time_limit_s: float = 10.0, mip_rel_gap: float = 1e-4) -> Plan:
    """The plan of ``problem`` that is lexicographically best in violations, CO2 (if asked) and cost.

    ``time_limit_s`` bounds the solver's total time [s]; ``mip_rel_gap`` is the relative MIP gap at which
    HiGHS may stop. Never raises for a problem that cannot be met: violations are reported in the plan.
    """
    if not 0.0 <= mip_rel_gap < 1.0:
        raise ValueError(f"mip_rel_gap must be in [0, 1), not {mip_rel_gap}")
    t0 = time.perf_counter()
    deadline = t0 + max(time_limit_s, 0.0)
    model = build_model(problem)
    start = model.initial_solution()
    runner = HighsRunner()
    runner.load(model.builder.to_arrays(model.levels[Level.COST]), model.builder.col_kind)
    t1 = time.perf_counter()
    driver = _Lexicographic(model, runner, deadline, mip_rel_gap)
    x = driver.solve(start)
    return _plan(model, x, driver, build_s=t1 - t0, t0=t1)
