"""A home device's step ends at the next schedule slot edge or data hour, found once and kept until then
(:class:`~flexcem.devices.home_agent.NextSlotEdge`, :meth:`CityLearnData.hour_end`): it must equal the edge found
afresh at every instant, also when the schedules are replaced, dropped or added in between."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest

from flexcem.data.citylearn import DATA_START, CityLearnData
from flexcem.devices.home_agent import NextSlotEdge
from flexcem.model import PowerSeries, PowerSlot

T0 = DATA_START + timedelta(days=30)


def _fresh(now: datetime, series: tuple[PowerSeries, ...]) -> datetime | None:
    edges = []
    for item in series:
        if now < item.start:
            edges.append(item.start)
        elif (slot := item.slot_at(now)) is not None:
            edges.append(slot.end)
    return min(edges, default=None)


def _series(rng: random.Random) -> PowerSeries:
    start = T0 + timedelta(minutes=rng.randrange(-60, 600, 5))
    slots = []
    for _ in range(rng.randint(1, 12)):
        duration = timedelta(minutes=rng.choice([5, 15, 60]))
        slots.append(PowerSlot(start=start, duration=duration, power_w=1.0))
        start += duration
    return PowerSeries(slots=tuple(slots))


@pytest.mark.parametrize("seed", range(20))
def test_the_kept_edge_equals_the_edge_found_afresh(seed: int) -> None:
    rng = random.Random(seed)
    kept = NextSlotEdge()
    series = tuple(_series(rng) for _ in range(rng.randint(0, 3)))
    now = T0 - timedelta(minutes=90)
    while now < T0 + timedelta(hours=14):
        if rng.random() < 0.05:  # a schedule replaced, dropped or added
            series = tuple(_series(rng) for _ in range(rng.randint(0, 3)))
        assert kept.at(now, series) == _fresh(now, series)
        now += timedelta(seconds=rng.choice([0, 1, 60, 300, 899, 900]))


def test_the_data_hour_ends_on_the_hourly_grid() -> None:
    data = CityLearnData.embedded()
    assert data.hour_end(T0) == T0 + timedelta(hours=1)
    assert data.hour_end(T0 + timedelta(minutes=59, seconds=59)) == T0 + timedelta(hours=1)
    assert data.index(T0 + timedelta(hours=1)) == data.index(T0) + 1
    assert isinstance(data.index(T0), int)
    with pytest.raises(ValueError, match="outside the data"):
        data.hour_end(data.end)
