"""The simulated smart meter integrates its registers from runs of equal power without making slots: the pieces and
the present power it is given are exactly (bit for bit) what it would take from the home's one-minute slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from flexcem.data import CityLearnData
from flexcem.devices.power_log import PowerLog
from flexcem.grid.smart_meter import slot_pieces
from flexcem.sim.runner_home import SimHome

DATA = CityLearnData.embedded()
START = DATA.start + timedelta(days=3, minutes=7, seconds=13)
INSTANT = timedelta(microseconds=1)


@dataclass
class Device:
    """Something with a power log, as a device agent has."""

    power: PowerLog


def home_with(logs: list[PowerLog]) -> SimHome:
    """A home whose devices draw what ``logs`` say (only what the meter reads is filled in)."""
    unused = cast(Any, None)
    home = SimHome(unused, unused, DATA, unused, True, (), "test", unused)
    home.agents = {f"d{k}": cast(Any, Device(log)) for k, log in enumerate(logs)}
    return home


def pieces_from_slots(home: SimHome, since: datetime, now: datetime) -> tuple[list[tuple[float, float]], float]:
    """What the meter takes from the home's slots (its arithmetic on a :data:`LoadSource`)."""
    load = home.metered(since, now + INSTANT)
    assert load.slot_at(now) is not None
    return slot_pieces(load, since, now)


steps = st.lists(
    st.tuples(st.integers(0, 50 * 60), st.sampled_from([0.0, 0.0, 350.0, -1200.5, 4100.0, 1e-3])), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(steps, min_size=0, max_size=3),
    st.integers(0, 40 * 60 * 1_000_000),
    st.integers(0, 40 * 60 * 1_000_000),
)
def test_the_meter_gets_the_same_pieces_and_power_as_from_the_slots(
    logs_steps: list[list[tuple[int, float]]], since_us: int, length_us: int
) -> None:
    logs = []
    for log_steps in logs_steps:
        log = PowerLog(START)
        for seconds, power_w in sorted(log_steps):
            log.set(START + timedelta(seconds=seconds), power_w)
        logs.append(log)
    home = home_with(logs)
    since = START + timedelta(microseconds=since_us)
    now = since + timedelta(microseconds=length_us)
    assert home.metered_runs(since, now) == pieces_from_slots(home, since, now)


def test_a_quarter_hour_on_minute_edges_is_one_piece_per_run() -> None:
    log = PowerLog(START)
    log.set(START + timedelta(minutes=3), 1000.0)
    home = home_with([log])
    since = START.replace(second=0) + timedelta(minutes=8)
    pieces, _ = home.metered_runs(since, since + timedelta(minutes=15))
    assert sum(seconds for seconds, _ in pieces) == 15 * 60
    assert pieces == pieces_from_slots(home, since, since + timedelta(minutes=15))[0]
