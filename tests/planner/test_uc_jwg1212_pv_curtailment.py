"""Use case JWG1212 (local power managing capabilities: curtail generation): "EMS requests PV controller to
turn off the PV system" when exported power must be reduced. Acceptance: after the request, the exported
power drops accordingly.

In the planner an export limit (a supplier's export-reduction request, or the connection's feed-in limit) is
met by curtailing a curtailable PV system — or by charging a battery, which the planner prefers to throwing
the energy away — and a PV that cannot be curtailed gives named violations. Without a limit nothing is
curtailed.
"""

from __future__ import annotations

import numpy as np
import pytest
from home_data import battery, day_start, home, pv, pv_forecast

from flexcem.planner import ViolationKind, solve

START = day_start(3)  # Friday 4 June 2021, 00:00 CST
LIMIT_W = 2_000.0


def surplus_above_limit_wh(plan_committed_w: tuple[float, ...], kw: float) -> float:
    """Energy the PV would export above the limit if nothing were done [Wh]."""
    forecast = np.repeat([slot.power_w for slot in pv_forecast(START, 24, kw)], 4)
    export = forecast - np.array(plan_committed_w)
    return float(np.sum(np.maximum(export - LIMIT_W, 0.0)) / 4.0)


def test_curtailable_pv_meets_the_export_limit_by_curtailing_just_enough() -> None:
    plan = solve(home(START, 24, [pv(START, 24, 8.0)], export_limit_w=LIMIT_W, export_share=0.5))
    assert plan.violations == ()
    assert min(plan.site_power_w) >= -LIMIT_W - 1e-6
    needed = surplus_above_limit_wh(plan.committed_power_w, 8.0)
    assert needed > 1000.0
    assert plan.device("pv").curtailed_energy_wh == pytest.approx(needed, abs=1e-3)


def test_fixed_pv_above_the_export_limit_gives_named_violations() -> None:
    plan = solve(home(START, 24, [pv(START, 24, 8.0, curtailable=False)], export_limit_w=LIMIT_W))
    violations = plan.violations_of(ViolationKind.SITE_EXPORT_LIMIT)
    assert violations
    excess_wh = sum(v.amount for v in violations) / 4.0
    assert excess_wh == pytest.approx(surplus_above_limit_wh(plan.committed_power_w, 8.0), abs=1e-3)


def test_a_battery_absorbs_the_surplus_before_anything_is_curtailed() -> None:
    alone = solve(home(START, 24, [pv(START, 24, 8.0)], export_limit_w=LIMIT_W))
    stored = solve(home(START, 24, [pv(START, 24, 8.0), battery(0.1)], export_limit_w=LIMIT_W))
    assert stored.violations == ()
    curtailed_alone = alone.device("pv").curtailed_energy_wh or 0.0
    assert (stored.device("pv").curtailed_energy_wh or 0.0) < curtailed_alone - 1000.0
    assert min(stored.site_power_w) >= -LIMIT_W - 1e-6


def test_fixed_pv_with_a_battery_meets_the_limit_by_charging() -> None:
    plan = solve(home(START, 24, [pv(START, 24, 6.0, curtailable=False), battery(0.1)], export_limit_w=LIMIT_W))
    assert plan.violations == ()
    assert min(plan.site_power_w) >= -LIMIT_W - 1e-6


def test_nothing_is_curtailed_without_a_limit() -> None:
    plan = solve(home(START, 24, [pv(START, 24, 8.0), battery(0.5)], export_share=0.0))
    assert plan.device("pv").curtailed_energy_wh == 0.0
