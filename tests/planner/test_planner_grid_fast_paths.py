"""The planner's shortcuts for grids and plans give exactly what the general definitions give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import highspy
import numpy as np
import pytest
from planner_builders import WASHER_ECO, at, flexible, prices, problem

from flexcem.model import PowerSlot
from flexcem.planner import solve
from flexcem.planner.builder import ColumnKind, ModelBuilder
from flexcem.planner.context import resample_slots, slot_bounds_us
from flexcem.planner.grid import MICROSECOND, TimeGrid, elapsed, later, slot_starts

BERLIN = ZoneInfo("Europe/Berlin")
PLUS_TWO = timezone(timedelta(hours=2))
QUARTER = timedelta(minutes=15)


@pytest.mark.parametrize(
    "start",
    [
        datetime(2024, 3, 30, 22, 0, tzinfo=UTC),
        datetime(2024, 3, 31, 0, 0, tzinfo=PLUS_TWO),
        datetime(2024, 3, 30, 23, 0, tzinfo=BERLIN),  # the night of the change to summer time
        datetime(2024, 10, 26, 23, 0, tzinfo=BERLIN),  # ... and back
    ],
)
def test_slot_starts_are_the_elapsed_time_starts_in_any_zone(start: datetime) -> None:
    expected = tuple(later(start, k * QUARTER) for k in range(24))
    got = slot_starts(start, QUARTER, 24)
    assert got == expected
    assert [value.utcoffset() for value in got] == [value.utcoffset() for value in expected]
    assert TimeGrid(start, QUARTER, 24).starts() == expected


@pytest.mark.parametrize("origin_zone", [UTC, PLUS_TWO, BERLIN])
def test_offsets_are_elapsed_microseconds_whatever_the_zones(origin_zone: timezone | ZoneInfo) -> None:
    origin = datetime(2024, 3, 31, 0, 30, tzinfo=UTC).astimezone(origin_zone)
    grid = TimeGrid(origin, QUARTER, 16)
    instants = [
        datetime(2024, 3, 31, 3, 0, tzinfo=BERLIN),  # after the change, wall clock 1 h ahead of elapsed
        datetime(2024, 3, 31, 1, 59, tzinfo=BERLIN),
        datetime(2024, 3, 31, 5, 0, tzinfo=PLUS_TWO),
        datetime(2024, 3, 30, 23, 0, 0, 7, tzinfo=UTC),
    ]
    assert grid.offsets_us(instants) == [elapsed(origin, instant) // MICROSECOND for instant in instants]


def test_slot_bounds_are_exact_integers_and_resampling_uses_them() -> None:
    grid = TimeGrid(datetime(2024, 1, 1, tzinfo=UTC), QUARTER, 4)
    slots = [
        PowerSlot(start=grid.start + timedelta(minutes=5), duration=timedelta(minutes=20), power_w=600.0),
        PowerSlot(start=grid.start + timedelta(minutes=45), duration=timedelta(hours=1), power_w=300.0),
    ]
    starts, ends = slot_bounds_us(grid, slots)
    assert starts.tolist() == [300e6, 2700e6] and ends.tolist() == [1500e6, 6300e6]
    values = resample_slots(grid, slots, [slot.power_w for slot in slots])
    assert values.tolist() == [400.0, 400.0, 0.0, 300.0]


def test_plan_slot_starts_follow_a_copy_with_another_grid() -> None:
    plan = solve(problem([flexible("washer", at(0), at(2), at(4), WASHER_ECO)], prices([0.3, 0.1, 0.2, 0.4])))
    assert plan.slot_starts == tuple(later(plan.start, k * plan.slot_duration) for k in range(plan.slot_count))
    moved = plan.model_copy(update={"start": plan.start + timedelta(hours=1)})
    assert moved.slot_starts[0] == plan.start + timedelta(hours=1)
    assert len(moved.slot_starts) == plan.slot_count
    assert plan.slot_starts[0] == plan.start  # the original keeps its own


def test_integrality_passed_to_highs_names_each_column_kind() -> None:
    builder = ModelBuilder()
    builder.add_columns(2)
    builder.add_binaries(1)
    builder.add_columns(1, 1.0, 2.0, ColumnKind.SEMI_CONTINUOUS)
    lp = builder.to_lp(np.zeros(4))
    assert list(lp.integrality_) == [
        highspy.HighsVarType.kContinuous,
        highspy.HighsVarType.kContinuous,
        highspy.HighsVarType.kInteger,
        highspy.HighsVarType.kSemiContinuous,
    ]
