"""The retailer's tariff program (Actor A): day-ahead at noon for the next 24 h, and corrections."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from flexcem.model import PriceEnvironmentProfile, TariffKind
from home_harness import DATA, ZONE, Home, local, run_home


def test_publishes_the_next_24_hours_every_day_at_noon_and_the_current_period_on_start() -> None:
    async def scenario(home: Home) -> list[PriceEnvironmentProfile]:
        await home.clock.sleep_until(local(2021, 6, 17, 13, 0))
        return [e.body for e in home.messages(PriceEnvironmentProfile)]

    published = run_home(scenario, start=local(2021, 6, 15, 9, 0))
    assert [
        (p.issued_at.astimezone(ZONE).strftime("%d %H:%M"), p.start.astimezone(ZONE).strftime("%d %H:%M"))
        for p in published
    ] == [
        ("15 09:00", "14 12:00"),
        ("15 12:00", "15 12:00"),
        ("16 12:00", "16 12:00"),
        ("17 12:00", "17 12:00"),
    ]
    for profile in published:
        assert profile.duration == timedelta(hours=24) and len(profile.slots) == 24
        assert profile.currency == "USD" and profile.kind is TariffKind.TIME_OF_USE
    prices = [slot.price_per_kwh for slot in published[1].slots]
    assert prices == [float(p) for p in DATA.price_per_kwh[DATA.hour_index(published[1].start) :][:24]]


def test_corrections_carry_the_profile_id_and_a_higher_revision() -> None:
    async def scenario(home: Home) -> list[PriceEnvironmentProfile]:
        day = home.retailer.published[-1]
        first = await home.retailer.publish_correction(day.slots[3:5], kind=TariffKind.CRITICAL_PEAK)
        second = await home.retailer.publish_correction(day.slots[4:5])
        with pytest.raises(ValueError, match="inside a published period"):
            await home.retailer.publish_correction(DATA.price_slots(day.end, day.end + timedelta(hours=1)))
        return [day, first, second]

    day, first, second = run_home(scenario, start=local(2021, 6, 15, 12, 30))
    assert first.profile_id == second.profile_id == day.profile_id
    assert (first.revision, second.revision) == (1, 2)
    assert first.kind is TariffKind.CRITICAL_PEAK


def test_last_publication_is_found_in_the_programs_time_zone() -> None:
    async def scenario(home: Home) -> None:
        program = home.retailer
        assert program.publish_at == time(12, 0)
        assert program.last_publication_before(local(2021, 6, 15, 11, 59)) == local(2021, 6, 14, 12, 0)
        assert program.last_publication_before(local(2021, 6, 15, 12, 0)) == local(2021, 6, 15, 12, 0)

    run_home(scenario, start=local(2021, 6, 15, 12, 0))
