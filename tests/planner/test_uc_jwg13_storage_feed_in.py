"""Story JWG13 "Storage feed-in based on tariff": "The user sets a sell-tariff threshold and optional minimum
storage level. A new tariff arrives. If it is above the threshold, the CEM checks SoC > minimum and no
conflict with an EV due charged by a given time … Then storage feeds into the grid." Test: all conditions
true → feed-in; any false → none.

In the planner the threshold is the value of the stored energy: the battery feeds in when the export price
pays more than keeping (or re-buying) the energy; the minimum storage level is a reserve.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from home_data import HOUR, battery, day_start, home
from planner_builders import ev

from flexcem.model.tariff import PriceSlot
from flexcem.planner import PlanningProblem, solve
from flexcem.planner.devices.battery import ReserveSlot

START = day_start(2, hour=12)  # Thursday 3 June 2021, 12:00 CST
EVENT = (START + 6 * HOUR, START + 8 * HOUR)
"""A feed-in offer of 0.30 USD/kWh from 18:00 to 20:00."""


def with_feed_in_offer(problem: PlanningProblem, price: float) -> PlanningProblem:
    """The problem with a feed-in price of ``price`` during ``EVENT`` (0.5 × import price elsewhere)."""
    offered = [PriceSlot(start=EVENT[0], duration=EVENT[1] - EVENT[0], price_per_kwh=price)]
    for slot in problem.export_prices:
        if slot.start + slot.duration <= EVENT[0] or slot.start >= EVENT[1]:
            offered.append(slot)
    return problem.model_copy(update={"export_prices": tuple(offered)})


def event_slots(problem: PlanningProblem) -> slice:
    return slice(int((EVENT[0] - START) / timedelta(minutes=15)), int((EVENT[1] - START) / timedelta(minutes=15)))


def test_price_above_the_threshold_feeds_storage_into_the_grid_down_to_the_minimum_level() -> None:
    minimum = ReserveSlot(start=START, duration=24 * HOUR, energy_wh=3_000.0)
    problem = with_feed_in_offer(home(START, 24, [battery(0.8, reserve=(minimum,))], export_share=0.5), 0.30)
    plan = solve(problem)
    during = event_slots(problem)
    site = np.array(plan.site_power_w)[during]
    load = np.array(plan.committed_power_w)[during]
    # At least the energy stored above the minimum (5000 Wh × η_d) is fed in, less the house load meanwhile.
    # (At 0.30 USD/kWh it even pays to buy at 0.03 within the offer and sell again: the plan may do that too.)
    exported_wh = np.sum(np.maximum(-site, 0.0)) / 4.0
    assert exported_wh >= 5000.0 * 0.95 - np.sum(load) / 4.0 - 1e-3
    state = np.array(plan.device("battery").state)
    assert np.all(state >= 3_000.0 - 1e-6)
    assert plan.violations == ()


def test_price_below_the_threshold_feeds_nothing_in() -> None:
    problem = with_feed_in_offer(home(START, 24, [battery(0.8)], export_share=0.5), 0.025)
    plan = solve(problem)
    assert np.all(np.array(plan.site_power_w) >= -1e-6)


def test_soc_at_the_minimum_feeds_nothing_in() -> None:
    minimum = ReserveSlot(start=START, duration=24 * HOUR, energy_wh=8_000.0)
    problem = with_feed_in_offer(home(START, 24, [battery(0.8, reserve=(minimum,))], export_share=0.5), 0.30)
    plan = solve(problem)
    # The battery may refill earlier at the cheap price to sell above the minimum; it never goes below it.
    state = np.array(plan.device("battery").state)
    assert np.all(state >= 8_000.0 - 1e-6)
    assert plan.violations == ()


def test_an_ev_due_charged_still_gets_its_energy_within_the_site_limit() -> None:
    car = ev(START + 5 * HOUR, START + 9 * HOUR, 14_000.0, max_power_w=7_400.0)
    problem = with_feed_in_offer(home(START, 24, [battery(0.8), car], export_share=0.5, import_limit_w=9_000.0), 0.30)
    plan = solve(problem)
    assert plan.violations == ()
    assert plan.device("ev").energy_wh == pytest.approx(14_000.0, abs=1e-3)
    assert max(plan.site_power_w) <= 9_000.0 + 1e-6
