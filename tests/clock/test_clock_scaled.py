"""The scaled clock keeps pace with real time times its speed (``flexcem up`` runs a day in minutes)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.clock import Clock, ScaledClock

START = datetime(2021, 6, 15, 11, 0, tzinfo=UTC)


def test_scaled_clock_is_a_clock_starting_at_its_start() -> None:
    clock = ScaledClock(START, speed=3600.0)
    assert isinstance(clock, Clock)
    assert START <= clock.now() < START + timedelta(minutes=10)


def test_scaled_clock_sleeps_clock_time_divided_by_speed() -> None:
    clock = ScaledClock(START, speed=3600.0)

    async def main() -> tuple[datetime, datetime]:
        await clock.sleep(60.0)  # a clock minute: 1/60 s of real time
        after_sleep = clock.now()
        target = START + timedelta(minutes=5)
        await clock.sleep_until(target)
        return after_sleep, clock.now()

    after_sleep, after_until = asyncio.run(main())
    assert after_sleep >= START + timedelta(seconds=60)
    assert after_until >= START + timedelta(minutes=5)


def test_scaled_clock_sleep_until_a_past_instant_returns_at_once() -> None:
    clock = ScaledClock(START, speed=1.0)
    asyncio.run(asyncio.wait_for(clock.sleep_until(START - timedelta(hours=1)), timeout=1.0))


@pytest.mark.parametrize(
    ("start", "speed", "field"), [(START.replace(tzinfo=None), 1.0, "start"), (START, 0.0, "speed")]
)
def test_scaled_clock_refuses_a_naive_start_or_a_speed_not_positive(start: datetime, speed: float, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ScaledClock(start, speed)
