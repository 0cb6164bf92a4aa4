"""A meter reading of the last few minutes averages a device's power log in plain Python, a long series with
numpy: both are the same arithmetic on the cumulative energy kept as steps are recorded, so they agree to the
last bit (the simulation's results do not depend on which was used)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from flexcem.devices import power_log
from flexcem.devices.power_log import PowerLog

T0 = datetime(2021, 7, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(30))
def test_few_slot_averages_equal_the_array_averages_bit_for_bit(monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    rng = random.Random(seed)
    log = PowerLog(T0, rng.choice([0.0, 5.0]))
    at = T0
    for _ in range(rng.randint(0, 300)):
        at += timedelta(seconds=rng.choice([0, 1, 60, 300, 3600.5, 1e-6]))
        log.set(at, rng.choice([0.0, 100.0, -300.0, rng.uniform(-5000.0, 11000.0)]))
    queries = []
    for _ in range(10):
        start = T0 + timedelta(seconds=rng.uniform(-7200, 90000))
        queries.append((start, timedelta(minutes=rng.choice([1, 5, 15])), rng.randint(1, power_log._FEW_SLOTS)))
    few = [log.average_power(*query) for query in queries]
    monkeypatch.setattr(power_log, "_FEW_SLOTS", 0)  # every query through numpy
    for query, averages in zip(queries, few, strict=True):
        assert np.array_equal(log.average_power(*query), averages)
