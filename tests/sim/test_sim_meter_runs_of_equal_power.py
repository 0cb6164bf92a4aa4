"""The simulated smart meter's load: minutes of equal power form one slot, with the same power at every minute
(and so the same energies) as one slot per minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from flexcem.sim.runner_home import runs_of_equal_power

FIRST = datetime(2021, 7, 6, 12, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


@given(st.lists(st.sampled_from([0.0, 350.0, -1200.5, 4100.0]), min_size=1, max_size=40))
def test_every_minute_keeps_its_power_and_neighbouring_slots_differ(values: list[float]) -> None:
    power = np.array(values)
    series = runs_of_equal_power(FIRST, MINUTE, power)
    assert series.start == FIRST and series.end == FIRST + len(values) * MINUTE
    for k, value in enumerate(values):
        slot = series.slot_at(FIRST + k * MINUTE + timedelta(seconds=30))
        assert slot is not None and slot.power_w == value
    assert all(a.power_w != b.power_w for a, b in zip(series.slots, series.slots[1:], strict=False))
    energy_wh = sum(slot.power_w * slot.duration.total_seconds() / 3600.0 for slot in series.slots)
    assert abs(energy_wh - sum(values) / 60.0) < 1e-9  # [Wh]


def test_a_constant_quarter_hour_is_one_slot() -> None:
    series = runs_of_equal_power(FIRST, MINUTE, np.full(15, 820.0))
    assert len(series.slots) == 1 and series.slots[0].duration == timedelta(minutes=15)
