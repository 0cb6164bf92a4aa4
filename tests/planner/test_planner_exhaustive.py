"""The MILP finds the optimum: it equals the exhaustive search on random small flexible-start problems.

Both sides use the same candidates (alternative, start) and the same definitions of violations, CO2 and
cost; the exhaustive side evaluates every combination with numpy, independently of the MILP.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from planner_builders import WASHER_ECO, WASHER_QUICK, at, flexible, prices, problem
from planner_strategies import problems

from flexcem.model.flexibility import IncentiveProgram
from flexcem.planner import PlanningProblem, exhaustive_optimum, solve
from flexcem.planner.context import PlanningContext
from flexcem.planner.exhaustive import evaluate, plan_choices

# FLEXCEM_PLANNER_EXAMPLES=2000 for a long run.
EXAMPLES = int(os.environ.get("FLEXCEM_PLANNER_EXAMPLES", "80"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _cost_tolerance(problem: PlanningProblem, reference: float) -> float:
    """The MIP gap (1e-4) plus the tie-breaks, in currency."""
    context = PlanningContext.of(problem)
    energy_kwh = sum(max(sequence.energy_wh for sequence in device.alternatives) / 1000.0 for device in problem.devices)
    scale = context.scales.price_per_kwh
    return 1e-4 * abs(reference) + 2e-5 * scale * (energy_kwh + 1.0) + 1e-9


def _has_co2_level(problem: PlanningProblem) -> bool:
    if PlanningContext.of(problem).co2 is None:
        return False
    return problem.objective == "co2" or any(
        device.incentive is IncentiveProgram.GREENEST for device in problem.devices
    )


@SETTINGS
@given(problems(allow_greenest=False))
def test_milp_cost_equals_exhaustive_optimum(problem: PlanningProblem) -> None:
    plan = solve(problem)
    best = exhaustive_optimum(problem)
    mine = evaluate(problem, plan_choices(plan))
    assert mine.violation <= best.best.violation + 1e-6 * max(1.0, best.best.violation)
    if not _has_co2_level(problem):
        assert mine.cost <= best.cost + _cost_tolerance(problem, best.cost)
    # The plan reports what the independent evaluation computes.
    assert np.isclose(plan.total_cost, mine.energy_cost, rtol=1e-9, atol=1e-9)
    assert np.isclose(plan.move_cost, mine.move_cost)


@SETTINGS
@given(problems())
def test_milp_is_lexicographically_optimal_with_greenest_devices(problem: PlanningProblem) -> None:
    plan = solve(problem)
    best = exhaustive_optimum(problem)
    mine = evaluate(problem, plan_choices(plan))
    assert mine.violation <= best.best.violation + 1e-6 * max(1.0, best.best.violation)
    if abs(mine.violation - best.best.violation) <= 1e-6 * max(1.0, best.best.violation):
        assert mine.co2_g <= best.best.co2_g + 1e-5 * max(1.0, abs(best.best.co2_g))
        if not _has_co2_level(problem):
            assert mine.cost <= best.cost + _cost_tolerance(problem, best.cost)


@SETTINGS
@given(problems())
def test_site_limits_respected_whenever_feasible(problem: PlanningProblem) -> None:
    plan = solve(problem)
    best = exhaustive_optimum(problem)
    # Violation units: 10 per kWh above a limit; with whole watts a real excess is at least ~2e-3.
    if best.best.violation <= 1e-4:
        assert plan.violations == ()
        limits = problem.site
        site = np.array(plan.site_power_w)
        if limits.import_limit_w is not None:
            assert np.all(site <= limits.import_limit_w + 0.01)
        if limits.export_limit_w is not None:
            assert np.all(-site <= limits.export_limit_w + 0.01)
    else:
        assert plan.violations, "the exhaustive search found no plan within the limits; the plan must say so"


@SETTINGS
@given(problems())
def test_every_job_runs_inside_its_window(problem: PlanningProblem) -> None:
    plan = solve(problem)
    late = {violation.device_id for violation in plan.violations if violation.device_id is not None}
    for device in problem.devices:
        result = plan.device(device.device_id)
        assert result.start is not None
        assert result.end is not None
        sequence = next(s for s in device.alternatives if s.sequence_id == result.sequence_id)
        assert result.end - result.start == sequence.duration
        assert result.start >= max(device.earliest_start, problem.start)
        if device.device_id not in late:
            assert result.start <= device.latest_start
            assert result.end <= device.latest_end
        # The power laid out on the grid holds the programme's energy exactly.
        energy = sum(result.power_w) * problem.slot_duration.total_seconds() / 3600.0
        assert np.isclose(energy, sequence.sign * sequence.energy_wh, rtol=1e-9, atol=1e-6)
        assert np.isclose(result.energy_wh, energy, rtol=1e-9, atol=1e-6)
    # The site power is the committed load plus every device.
    total = np.array(plan.committed_power_w) + sum(np.array(d.power_w) for d in plan.devices)
    assert np.allclose(plan.site_power_w, total)


def test_alternative_chosen_when_it_is_cheaper() -> None:
    """Cheap hour 2, dear everywhere else: the quick programme fits in the cheap hour, eco does not."""
    washer = flexible("washer", at(0), at(4), at(6), WASHER_ECO, WASHER_QUICK)
    p = problem([washer], prices([0.40, 0.40, 0.05, 0.40, 0.40, 0.40, 0.40]))
    plan = solve(p)
    best = exhaustive_optimum(p)
    assert plan.device("washer").sequence_id == best.choices["washer"][0] == "quick"
    assert plan.device("washer").start == best.choices["washer"][1] == at(2)
    assert np.isclose(plan.total_cost, best.cost)
