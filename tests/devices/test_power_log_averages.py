"""A device's own meter (:class:`~flexcem.devices.power_log.PowerLog`): the slot averages, computed at once from the
cumulative energy, equal the energy of each slot taken step by step — before the first step, across steps, past
the last one and on steps that are replaced at the same instant."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.devices.power_log import PowerLog

T0 = datetime(2021, 7, 6, 12, tzinfo=UTC)


def test_averages_of_a_known_profile() -> None:
    log = PowerLog(T0, 0.0)
    log.set(T0 + timedelta(minutes=5), 1200.0)  # on for 20 minutes
    log.set(T0 + timedelta(minutes=25), -600.0)  # then exporting
    averages = log.average_power_w(T0 - timedelta(minutes=15), timedelta(minutes=15), 4)
    assert averages == pytest.approx([0.0, 800.0, 600.0, -600.0])


@pytest.mark.parametrize("seed", range(20))
def test_averages_equal_the_energy_of_each_slot(seed: int) -> None:
    rng = random.Random(seed)
    log = PowerLog(T0, rng.choice([0.0, 5.0]))
    at = T0
    for _ in range(rng.randint(0, 40)):
        at += timedelta(seconds=rng.choice([0, 1, 30, 600, 3600.5]))
        log.set(at, rng.choice([0.0, 100.0, -300.0, 2000.0]))
        if rng.random() < 0.2:  # read in between: the cached sums must follow later steps
            log.average_power_w(T0, timedelta(minutes=5), 3)
    start = T0 + timedelta(seconds=rng.uniform(-7200, 20000))
    slot = timedelta(minutes=rng.choice([1, 5, 15, 60]))
    count = rng.randint(0, 50)
    hours = slot.total_seconds() / 3600.0
    expected = [log.energy_wh(start + slot * k, start + slot * (k + 1)) / hours for k in range(count)]
    assert log.average_power_w(start, slot, count) == pytest.approx(expected, rel=1e-9, abs=1e-6)
