"""Import and export limits for parts of the horizon (a grid request's window), on top of the constant ones."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_data import HOUR, day_start, home, pv
from pydantic import ValidationError

from flexcem.planner import LimitSlot, solve

START = day_start(3)  # Friday 4 June 2021, 00:00 CST
WINDOW = (START + 12 * HOUR, START + 14 * HOUR)


def test_an_export_limit_window_is_kept_inside_and_only_inside_the_window() -> None:
    problem = home(START, 24, [pv(START, 24, 6.0, curtailable=True)], export_share=0.4)
    site = problem.site.model_copy(
        update={"export_limits": (LimitSlot(start=WINDOW[0], duration=WINDOW[1] - WINDOW[0], limit_w=500.0),)}
    )
    plan = solve(problem.model_copy(update={"site": site}))
    exports = -np.minimum(np.array(plan.site_power_w), 0.0)
    inside = slice(12 * 4, 14 * 4)
    assert not plan.violations
    assert exports[inside].max() <= 500.0 + 1e-6
    assert exports[inside].max() == pytest.approx(500.0, abs=1e-3)  # exports up to the limit: it pays
    assert exports[: 12 * 4].max() > 2000.0  # outside the window the roof exports freely
    assert plan.device("pv").curtailed_energy_wh is not None and plan.device("pv").curtailed_energy_wh > 0.0


def test_the_lower_of_a_window_and_the_constant_limit_counts_and_excess_is_named() -> None:
    problem = home(START, 24, [pv(START, 24, 10.0, curtailable=False)], export_share=0.4)
    site = problem.site.model_copy(
        update={
            "export_limit_w": 3000.0,
            "export_limits": (LimitSlot(start=WINDOW[0], duration=timedelta(hours=2), limit_w=4000.0),),
        }
    )
    plan = solve(problem.model_copy(update={"site": site}))
    assert plan.violations_of("site_export_limit"), "a fixed 10 kWp roof must exceed a 3 kW export limit"
    for violation in plan.violations_of("site_export_limit"):
        assert "above its limit of 3000 W" in violation.message


def test_a_negative_window_limit_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="limit_w"):
        LimitSlot(start=START, duration=HOUR, limit_w=-1.0)
