"""Profiles sent to the planner as runs of equal values (flexcem.cem.home_planning.runs) resample to exactly the
values of one slot per grid slot, so plans do not change; grids in a zone with daylight saving keep one slot each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcem.cem.home_planning import Grid, runs
from flexcem.model import PowerSlot
from flexcem.planner.context import resample_slots
from flexcem.planner.grid import TimeGrid

T0 = datetime(2021, 7, 6, 12, 0, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, -0.0, 0.1, 0.30000000000000004, 393.3915, -12.5]), min_size=1, max_size=60),
    slot_minutes=st.sampled_from([5, 15, 60]),
)
def test_runs_resample_to_exactly_the_values_per_slot(values: list[float], slot_minutes: int) -> None:
    grid = Grid(start=T0, slot=timedelta(minutes=slot_minutes), count=len(values))
    merged = runs(grid, values)
    assert all(a != b for (_, _, a), (_, _, b) in pairwise(merged))  # maximal runs
    slots = [PowerSlot(start=at, duration=length, power_w=value) for at, length, value in merged]
    planner_grid = TimeGrid(grid.start, grid.slot, grid.count)
    assert resample_slots(planner_grid, slots, [slot.power_w for slot in slots]).tolist() == values


def test_equal_neighbours_become_one_slot() -> None:
    grid = Grid(start=T0, slot=timedelta(minutes=15), count=6)
    quarter = timedelta(minutes=15)
    assert runs(grid, [1.0, 1.0, 1.0, 1.0, 2.0, 1.0]) == [
        (T0, 4 * quarter, 1.0),
        (T0 + 4 * quarter, quarter, 2.0),
        (T0 + 5 * quarter, quarter, 1.0),
    ]


def test_a_zone_with_daylight_saving_keeps_one_slot_per_grid_slot() -> None:
    start = datetime(2024, 3, 31, 0, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    grid = Grid(start=start, slot=timedelta(hours=1), count=4)
    assert [length for _, length, _ in runs(grid, [5.0] * 4)] == [timedelta(hours=1)] * 4


def test_values_must_match_the_grid() -> None:
    with pytest.raises(ValueError, match="3 values for 4 grid slots"):
        runs(Grid(start=T0, slot=timedelta(hours=1), count=4), [1.0, 2.0, 3.0])
