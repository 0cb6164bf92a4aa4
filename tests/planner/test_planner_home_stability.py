"""Plan stability in a home with PV and a battery: a committed start moves only when the whole home saves
more than the move penalty (the battery and the PV re-plan around it)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from home_data import HOUR, battery, day_start, home, pv
from planner_builders import DISHWASHER, flexible

from flexcem.planner import FlexibleStartDevice, Plan, solve

START = day_start(8)  # Wednesday 9 June 2021, 00:00 CST
COMMITTED = START + 16 * HOUR  # at the peak price


def dishwasher(penalty: float, *, pinned: bool = False) -> FlexibleStartDevice:
    earliest = COMMITTED if pinned else START + 8 * HOUR
    latest = COMMITTED if pinned else START + 20 * HOUR
    return flexible(
        "dishwasher",
        earliest,
        latest,
        latest + timedelta(hours=3),
        DISHWASHER,
        committed_start=COMMITTED,
        committed_sequence_id="normal",
        move_penalty=penalty,
    )


def plan_with(penalty: float, *, pinned: bool = False) -> Plan:
    device = dishwasher(penalty, pinned=pinned)
    return solve(home(START, 24, [device, pv(START, 24, 3.0), battery(0.3)], export_share=0.4))


def test_committed_start_moves_only_when_the_home_saves_more_than_the_penalty() -> None:
    pinned = plan_with(0.0, pinned=True)
    free = plan_with(0.0)
    gain = pinned.total_cost - free.total_cost
    assert gain > 0.001  # moving away from the peak pays, even with the battery shifting energy
    assert free.device("dishwasher").start != COMMITTED
    kept = plan_with(1.25 * gain)
    assert kept.device("dishwasher").start == COMMITTED
    assert kept.device("dishwasher").moved is False
    assert kept.total_cost == pytest.approx(pinned.total_cost, abs=1e-6)
    moved = plan_with(0.75 * gain)
    assert moved.device("dishwasher").moved is True
    assert moved.move_cost == pytest.approx(0.75 * gain)
    assert moved.total_cost == pytest.approx(free.total_cost, abs=1e-6)
