"""Verification: a PV plan (curtailment under an export limit) executed on the PV physics keeps the limit and its cost.

The default 5 kWp / 4.6 kW rooftop system over Building 1's base load on a sunny July weekday, with a 1.5 kW
export limit and feed-in at 40 % of the import price. The forecast is pvlib on the data's irradiance
(:func:`~flexcem.devices.pv_forecast_series`); the plan curtails what the site cannot export; the executor sets
the inverter's limit (:class:`~flexcem.devices.PvGenerator` ``limit_w``) to the planned generation of each slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pytest
from verification_harness import (
    HOUR,
    SUBSTEPS,
    Execution,
    assert_cost,
    assert_site_limits,
    at,
    execute,
    home_data,
    plan_for,
    problem,
)

from flexcem.devices import DEFAULT_PV, PvGenerator, pv_forecast_series
from flexcem.planner import Plan
from flexcem.planner.devices.pv import PvDevice

START = at(36)  # Wednesday 7 July 2021, 00:00
HOURS = 24
EXPORT_LIMIT_W = 1_500.0


def _plan(curtailable: bool) -> Plan:
    parameters = DEFAULT_PV.model_copy(update={"curtailable": curtailable})
    forecast = pv_forecast_series(parameters, home_data(), START, START + HOURS * HOUR)
    pv = PvDevice.from_power_slots("pv", forecast.slots, curtailable=curtailable)
    return plan_for(problem(START, HOURS, [pv], export_limit_w=EXPORT_LIMIT_W))


@dataclass
class Run:
    """Generation per slot [W] (average), what the array could have given [W], the meter."""

    generated_w: list[float]
    available_w: list[float]
    execution: Execution


def _run(plan: Plan, curtailable: bool) -> Run:
    parameters = DEFAULT_PV.model_copy(update={"curtailable": curtailable})
    pv = PvGenerator(parameters, home_data())
    planned = plan.device("pv").power_w
    generated: list[float] = []
    available: list[float] = []

    def step(k: int, instant: datetime, dt_h: float) -> float:
        pv.limit_w = -planned[k] if curtailable else None
        output, _ = pv.advance(instant, dt_h)
        generated.append(output)
        available.append(pv.available_w(instant))
        return -output

    execution = execute(plan, step)
    per_slot = np.asarray(generated).reshape(-1, SUBSTEPS).mean(axis=1)
    per_slot_available = np.asarray(available).reshape(-1, SUBSTEPS).mean(axis=1)
    return Run(per_slot.tolist(), per_slot_available.tolist(), execution)


@pytest.fixture(scope="module")
def curtailed() -> Plan:
    return _plan(curtailable=True)


def test_the_plan_curtails_only_what_the_export_limit_forbids(curtailed: Plan) -> None:
    assert not curtailed.violations, [v.message for v in curtailed.violations]
    pv = curtailed.device("pv")
    assert pv.curtailed_energy_wh is not None and pv.curtailed_energy_wh > 500.0  # a sunny day, 1.5 kW limit
    exporting = np.asarray(curtailed.site_power_w) < -1.0
    assert np.all(np.asarray(curtailed.site_power_w)[exporting] >= -EXPORT_LIMIT_W - 1e-6)


def test_executed_generation_equals_the_plan_and_the_forecast_is_the_physics(curtailed: Plan) -> None:
    run = _run(curtailed, curtailable=True)
    assert np.allclose(run.generated_w, [-p for p in curtailed.device("pv").power_w], atol=1e-6)
    curtailed_wh = (np.sum(run.available_w) - np.sum(run.generated_w)) / 4.0
    assert curtailed_wh == pytest.approx(curtailed.device("pv").curtailed_energy_wh, abs=1e-3)


def test_executed_site_keeps_the_export_limit_every_minute(curtailed: Plan) -> None:
    assert_site_limits(_run(curtailed, curtailable=True).execution, None, EXPORT_LIMIT_W)


def test_metered_cost_equals_the_plans_cost(curtailed: Plan) -> None:
    execution = _run(curtailed, curtailable=True).execution
    assert_cost(curtailed, execution)
    assert execution.instantaneous_cost() == pytest.approx(curtailed.total_cost, abs=1e-6)


def test_a_fixed_system_reports_the_excess_it_will_really_export() -> None:
    plan = _plan(curtailable=False)
    run = _run(plan, curtailable=False)
    assert_cost(plan, run.execution)
    excess = {v.slot_start: v.amount for v in plan.violations_of("site_export_limit")}
    assert excess  # noon exports more than 1.5 kW
    site = run.execution.slot_site_w()
    for k, start in enumerate(plan.slot_starts):
        measured = max(0.0, -site[k] - EXPORT_LIMIT_W)
        assert measured == pytest.approx(excess.get(start, 0.0), abs=0.02)
