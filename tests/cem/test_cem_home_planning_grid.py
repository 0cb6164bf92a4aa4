"""Profiles onto the home's planning grid (flexcem.cem.home_planning.on_grid): the whole horizon at once gives
what averaging slot by slot gives — time-weighted averages, the same interval up to a week earlier where the
profile ends too early, else its last value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from flexcem.cem.home_planning import Grid, on_grid
from flexcem.model import PowerSlot

T0 = datetime(2021, 7, 6, 12, 0, tzinfo=UTC)
DAY_S = 86_400.0


def _slot_by_slot(slots: list[PowerSlot], values: list[float], grid: Grid) -> list[float]:
    """The definition, one grid slot and one day back at a time."""
    if not slots:
        return [0.0] * grid.count
    starts = np.array([(slot.start - grid.start).total_seconds() for slot in slots])
    ends = starts + np.array([slot.duration.total_seconds() for slot in slots])
    weights = np.asarray(values, dtype=np.float64)
    last = float(weights[int(np.argmax(ends))])
    step = grid.slot.total_seconds()
    result = []
    for k in range(grid.count):
        value = last
        for days in range(8):
            lo, hi = k * step - days * DAY_S, (k + 1) * step - days * DAY_S
            overlap = np.clip(np.minimum(ends, hi) - np.maximum(starts, lo), 0.0, None)
            if overlap.sum() >= (hi - lo) * (1.0 - 1e-9):
                value = float(overlap @ weights / (hi - lo))
                break
        result.append(value)
    return result


def _profile(pieces: list[tuple[int, int, float]]) -> list[PowerSlot]:
    return [
        PowerSlot(start=T0 + timedelta(minutes=offset), duration=timedelta(minutes=length), power_w=power)
        for offset, length, power in pieces
    ]


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.integers(-3 * 1440, 2 * 1440), st.integers(1, 600), st.floats(-5000.0, 5000.0)), max_size=30
    ),
    slot_minutes=st.sampled_from([5, 15, 30, 60]),
    count=st.integers(1, 200),
)
def test_the_whole_horizon_at_once_equals_slot_by_slot(
    pieces: list[tuple[int, int, float]], slot_minutes: int, count: int
) -> None:
    slots = _profile(pieces)
    values = [slot.power_w for slot in slots]
    grid = Grid(start=T0, slot=timedelta(minutes=slot_minutes), count=count)
    np.testing.assert_allclose(on_grid(slots, values, grid), _slot_by_slot(slots, values, grid), rtol=1e-12, atol=1e-9)


def test_a_day_long_profile_is_extended_by_the_day_before_and_then_its_last_value() -> None:
    hourly = _profile([(60 * h, 60, float(h)) for h in range(24)])  # 0 W at 12:00 … 23 W at 11:00 next day
    grid = Grid(start=T0 + timedelta(hours=22), slot=timedelta(minutes=30), count=8)  # 10:00 … 14:00, day 2
    values = on_grid(hourly, [slot.power_w for slot in hourly], grid)
    # 10:00–12:00 is in the profile; 12:00–14:00 is taken from the same hours one day earlier.
    assert values == [22.0, 22.0, 23.0, 23.0, 0.0, 0.0, 1.0, 1.0]
    late = Grid(start=T0 - timedelta(days=9), slot=timedelta(hours=1), count=2)  # before it, nothing a week back
    assert on_grid(hourly, [slot.power_w for slot in hourly], late) == [23.0, 23.0]
    assert on_grid([], [], late) == [0.0, 0.0]
