"""The runner's HiGHS paths and options (flexcem.planner.highs_runner).

A home whose only non-continuous columns are a charger's semi-continuous powers (6 A minimum) runs one MILP,
not the MILP "with the discrete columns fixed" (nothing to fix) and then the same MILP again; the planner's
MILP options (one thread, no feasibility jump, RINS or RENS) reach the optimum HiGHS's defaults reach, within
the gap; and a process whose HiGHS thread pool was started with another size still gets plans.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

import highspy
import numpy as np
import pytest
from planner_builders import at, committed, ev, prices, problem

from flexcem.model.home_parameters import BatteryParameters
from flexcem.planner import PlanningProblem, PlanStatus, solve
from flexcem.planner import highs_runner as runner_module
from flexcem.planner.builder import Level
from flexcem.planner.devices.battery import BatteryDevice
from flexcem.planner.devices.pv import GenerationSlot, PvDevice
from flexcem.planner.highs_runner import HighsRunner
from flexcem.planner.model import build_model
from flexcem.planner.objective import BLEND_VIOLATION

GAP = 1e-4
"""The planner's default relative MIP gap."""


def _home(seed: int) -> PlanningProblem:
    """A day of a home like the simulation's: an EV with a 4.14 kW minimum, a battery, curtailable PV."""
    rng = random.Random(seed)
    hours = 24
    tariff = [round(rng.choice([0.1, 0.2, 0.3]) + rng.random() * 0.05, 3) for _ in range(hours)]
    sun = [max(0.0, math.sin((h - 6) / 12 * math.pi)) * 4000.0 * rng.uniform(0.5, 1.0) for h in range(hours)]
    pv = PvDevice(
        device_id="pv",
        forecast=tuple(GenerationSlot(start=at(h), duration=timedelta(hours=1), power_w=sun[h]) for h in range(hours)),
        curtailable=True,
    )
    battery = BatteryDevice(
        device_id="battery",
        parameters=BatteryParameters(capacity_wh=10_000.0, charge_power_max_w=5000.0, discharge_power_max_w=5000.0),
        initial_energy_wh=rng.uniform(2000.0, 8000.0),
    )
    charger = ev(at(rng.randint(0, 6)), at(rng.randint(14, 24)), rng.uniform(5000.0, 30_000.0), min_power_w=4140.0)
    load = committed(*[(at(h), 60, rng.uniform(200.0, 2500.0)) for h in range(hours)])
    return problem(
        [charger, battery, pv], prices(tariff), committed_load=load, import_limit_w=13_800.0, export_limit_w=5000.0
    )


SEEDS = (1, 2, 3, 4, 5)
"""Seeds whose relaxation and rounding do not reach the gap: the MILP decides."""


@pytest.mark.parametrize("seed", SEEDS)
def test_a_charger_with_a_minimum_runs_one_milp(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    runs: list[highspy.Highs] = []
    run = runner_module._run

    def counted(highs: highspy.Highs) -> None:
        runs.append(highs)
        run(highs)

    monkeypatch.setattr(runner_module, "_run", counted)
    milps: list[highspy.Highs] = []
    original_init = HighsRunner.__init__

    def remember(self: HighsRunner) -> None:
        original_init(self)
        milps.append(self.mip)

    monkeypatch.setattr(HighsRunner, "__init__", remember)
    plan = solve(_home(seed))
    assert plan.solves == ("blend:mip",)
    assert plan.status is PlanStatus.OPTIMAL
    assert sum(1 for highs in runs if highs is milps[0]) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_the_planners_milp_options_reach_the_optimum_of_highs_defaults(seed: int) -> None:
    home = _home(seed)
    model = build_model(home)
    objective = BLEND_VIOLATION * model.levels[Level.VIOLATION] + model.levels[Level.COST]
    planner = HighsRunner()
    planner.load(model.builder.to_lp(model.levels[Level.COST]), model.builder.col_kind)
    planner.set_objective(objective)
    result = planner.run(time_limit_s=30.0, mip_rel_gap=GAP, start=None, rounding=model)
    assert result.x is not None and result.optimal and result.method == "mip"

    reference = highspy.Highs()  # type: ignore[no-untyped-call]
    reference.setOptionValue("output_flag", False)
    reference.passModel(model.builder.to_lp(objective))
    reference.setOptionValue("mip_rel_gap", 1e-9)
    reference.run()
    assert reference.getModelStatus() == highspy.HighsModelStatus.kOptimal
    best = float(objective @ np.array(reference.getSolution().col_value))
    value = planner.value(result.x)
    assert best - 1e-6 <= value <= best + GAP * abs(best) + 1e-6


def test_plans_when_highs_thread_pool_was_started_with_another_size() -> None:
    highspy.Highs.resetGlobalScheduler(True)
    try:
        other = highspy.Highs()  # type: ignore[no-untyped-call]
        other.setOptionValue("output_flag", False)
        other.setOptionValue("threads", 2)
        model = build_model(_home(1))
        other.passModel(model.builder.to_lp(model.levels[Level.COST]))
        other.run()
        one = runner_module._silent()  # the planner's options: one thread, refused by a two-thread pool
        one.passModel(model.builder.to_lp(model.levels[Level.COST]))
        assert one.run() == highspy.HighsStatus.kError
        plan = solve(_home(1))
        assert plan.status is PlanStatus.OPTIMAL and plan.solves == ("blend:mip",)
    finally:
        highspy.Highs.resetGlobalScheduler(True)
