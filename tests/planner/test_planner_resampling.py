"""Inputs with their own slots are brought onto the planning grid exactly (time-weighted averages)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planner_builders import T0, at, committed, flexible, minutes, prices, problem, sequence

from flexcem.planner import solve
from flexcem.planner.context import PlanningContext
from flexcem.planner.devices.flexible_start import candidate_set
from flexcem.planner.grid import TimeGrid, coverage_gaps, step_average


def test_twenty_minute_profile_on_a_fifteen_minute_grid_conserves_energy() -> None:
    profile = sequence("p", (20, 1200.0), (20, 300.0), (20, 2400.0))
    device = flexible("dryer", at(0, 5), at(1), at(3), profile)
    grid = TimeGrid(start=T0, slot=minutes(15), count=12)
    cands = candidate_set(device, grid)
    dense = cands.dense_kw(grid.count)
    energy_wh = dense.sum(axis=1) * grid.slot_hours * 1000.0
    assert np.allclose(energy_wh, profile.energy_wh, rtol=0, atol=1e-9)
    # Started at 12:05 the first grid slot [12:00, 12:15) holds 10 minutes of 1200 W: 800 W on average;
    # the second [12:15, 12:30) 10 minutes at 1200 W and 5 at 300 W: 900 W; the run ends at 13:05.
    first = int(np.flatnonzero(cands.start_us == 5 * 60 * 10**6)[0])
    assert dense[first, 0] == pytest.approx(0.8)
    assert dense[first, 1] == pytest.approx(0.9)
    assert dense[first, 2] == pytest.approx(0.3)
    assert dense[first, 3] == pytest.approx(2.4)
    assert dense[first, 4] == pytest.approx(5 * 2.4 / 15)
    assert np.all(dense[first, 5:] == 0.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 47), st.integers(0, 5000)), min_size=1, max_size=6),
    st.sampled_from([5, 10, 15, 20, 30, 60]),
    st.integers(0, 59),
)
def test_any_profile_on_any_grid_conserves_energy(
    phases: list[tuple[int, int]], slot_minutes: int, offset_minutes: int
) -> None:
    profile = sequence("p", *[(float(m), float(w)) for m, w in phases])
    earliest = at(0, offset_minutes)
    device = flexible("job", earliest, earliest + timedelta(hours=2), earliest + timedelta(hours=8), profile)
    grid = TimeGrid(start=T0, slot=minutes(slot_minutes), count=(10 * 60) // slot_minutes + 1)
    cands = candidate_set(device, grid)
    energy_wh = cands.dense_kw(grid.count).sum(axis=1) * grid.slot_hours * 1000.0
    assert np.allclose(energy_wh, profile.energy_wh, rtol=1e-12, atol=1e-9)
    # Candidates: earliest itself, then the grid boundaries after it up to latest_start.
    starts = sorted(set(cands.start_us.tolist()))
    assert starts[0] == offset_minutes * 60 * 10**6
    assert all(start % (slot_minutes * 60 * 10**6) == 0 for start in starts[1:])


def test_hourly_prices_on_a_fifteen_minute_grid() -> None:
    washer = flexible("w", at(0), at(1), at(3), sequence("p", (30, 1000.0)))
    p = problem([washer], prices([0.10, 0.30, 0.20]))
    context = PlanningContext.of(p)
    assert context.grid.count == 12
    assert np.allclose(context.price, np.repeat([0.10, 0.30, 0.20], 4))


def test_misaligned_prices_are_time_weighted() -> None:
    # 40-minute price slots from 11:50 on a 15-minute grid from 12:00.
    slots = prices([0.1, 0.4, 0.7, 1.0, 1.3], start=at(0, -10), slot=minutes(40))
    washer = flexible("w", at(0), at(0), at(2), sequence("p", (15, 100.0)))
    context = PlanningContext.of(problem([washer], slots))
    # [12:00,12:15) lies in the first slot (to 12:30); [12:30,12:45) is in the second; [12:15,12:30): first.
    assert context.price[0] == pytest.approx(0.1)
    assert context.price[2] == pytest.approx(0.4)
    # [13:00, 13:15): 10 min of 0.4 (to 13:10) then 5 min of 0.7.
    assert context.price[4] == pytest.approx((10 * 0.4 + 5 * 0.7) / 15)


def test_committed_load_overlaps_add_up_and_gaps_are_zero() -> None:
    base = committed((at(0), 60, 400.0), (at(0, 30), 30, 2000.0), (at(2), 20, 900.0))
    washer = flexible("w", at(0), at(0), at(3), sequence("p", (15, 100.0)))
    context = PlanningContext.of(problem([washer], prices([0.2] * 4), committed_load=base))
    expected_w = [400, 400, 2400, 2400, 0, 0, 0, 0, 900, 900 * 5 / 15, 0, 0]
    assert np.allclose(context.committed_kw * 1000.0, expected_w)


def test_step_average_and_coverage_helpers() -> None:
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    average = step_average([5.0, 15.0], [15.0, 40.0], [2.0, 4.0], edges)
    assert np.allclose(average, [1.0, 3.0, 4.0])
    assert coverage_gaps([(0, 10), (12, 20), (15, 30)], 0, 40) == [(10, 12), (30, 40)]
    assert coverage_gaps([(0, 50)], 10, 40) == []


def test_plan_reports_the_resampled_prices() -> None:
    washer = flexible("w", at(0), at(1), at(3), sequence("p", (30, 1000.0)))
    plan = solve(problem([washer], prices([0.10, 0.30, 0.20], co2=[100.0, 200.0, 300.0])))
    assert plan.slot_count == 12
    assert plan.price_per_kwh == tuple(np.repeat([0.10, 0.30, 0.20], 4).tolist())
    assert plan.co2_g_per_kwh == tuple(np.repeat([100.0, 200.0, 300.0], 4).tolist())
    assert plan.export_price_per_kwh == (0.0,) * 12


def test_daylight_saving_change_counts_elapsed_time() -> None:
    # Berlin springs forward at 02:00 on 31 March 2024: 00:00 to 06:00 local time is five hours.
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2024, 3, 31, 0, 0, tzinfo=berlin)
    utc_prices = prices([0.4, 0.4, 0.4, 0.05, 0.4, 0.4], start=start.astimezone(UTC))
    washer = flexible(
        "w",
        start,
        datetime(2024, 3, 31, 5, 0, tzinfo=berlin),
        datetime(2024, 3, 31, 6, 0, tzinfo=berlin),
        sequence("p", (60, 1000.0)),
    )
    p = problem([washer], utc_prices, start=start)
    assert p.slot_count == 20
    plan = solve(p)
    # The cheap hour is the fourth elapsed hour: 03:00 UTC+1 = 04:00 local summer time.
    assert plan.device("w").start == datetime(2024, 3, 31, 4, 0, tzinfo=berlin)
    assert plan.device("w").end == datetime(2024, 3, 31, 5, 0, tzinfo=berlin)
    assert plan.end == datetime(2024, 3, 31, 6, 0, tzinfo=berlin)
    utc = [instant.astimezone(UTC) for instant in plan.slot_starts]
    assert {(b - a).total_seconds() for a, b in pairwise(utc)} == {900.0}
