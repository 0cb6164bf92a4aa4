"""Story JWG15 / the EV's charging session: the car decides every step whether the CEM's profile still delivers its
target by departure, so the energy a profile plans from an instant on is summed once per profile
(:class:`~flexcem.devices.ev.PlannedEnergy`) — and must equal the slot-by-slot sum at every instant."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from flexcem.devices.ev import PlannedEnergy
from flexcem.model import PowerSeries, PowerSlot

T0 = datetime(2021, 7, 6, 17, tzinfo=UTC)


def planned_by_slots(profile: PowerSeries, since: datetime) -> float:
    total = 0.0
    for slot in profile.slots:
        if slot.end > since:
            total += max(0.0, slot.power_w) * (slot.end - max(slot.start, since)).total_seconds() / 3600.0
    return total


@pytest.mark.parametrize("seed", range(10))
def test_planned_energy_from_any_instant_equals_the_slot_sum(seed: int) -> None:
    rng = random.Random(seed)
    slots, start = [], T0
    for _ in range(rng.randint(1, 40)):
        duration = timedelta(minutes=rng.choice([15, 30, 60]))
        slots.append(PowerSlot(start=start, duration=duration, power_w=rng.choice([0.0, -50.0, 4140.0, 11000.0])))
        start += duration
    profile = PowerSeries(slots=tuple(slots))
    planned = PlannedEnergy(profile)
    for minutes in range(-30, int((start - T0).total_seconds() // 60) + 30, 7):
        since = T0 + timedelta(minutes=minutes)
        assert planned.from_(since) == pytest.approx(planned_by_slots(profile, since), abs=1e-9)


def test_a_known_profile() -> None:
    hour = timedelta(hours=1)
    profile = PowerSeries(
        slots=(
            PowerSlot(start=T0, duration=hour, power_w=11000.0),
            PowerSlot(start=T0 + hour, duration=hour, power_w=0.0),
            PowerSlot(start=T0 + 2 * hour, duration=hour, power_w=4000.0),
        )
    )
    planned = PlannedEnergy(profile)
    assert planned.from_(T0) == pytest.approx(15000.0)
    assert planned.from_(T0 + hour / 2) == pytest.approx(9500.0)
    assert planned.from_(T0 + 2.5 * hour) == pytest.approx(2000.0)
    assert planned.from_(T0 + 3 * hour) == 0.0
