"""Story JWG1 — Flex start washing machine (TR A.1.2; user-stories §1).

"The user wants the laundry done by 8:00 p.m.: loads the WM, picks a program, pre-selects the end time, presses
start. The WM sends the CEM the program start, end time and expected power profile. The CEM plans with the end
time, the incentive program, the profile and the tariff. It sends a start time and may update it until the
device starts."
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flexcem.model import (
    DeviceState,
    FlexibleStartOffer,
    PowerSequence,
    PriceSlot,
    SlotShift,
    StartTimeAssignment,
    TariffKind,
)
from home_harness import DATA, Home, hours, local, raise_prices, run_home, settle

MORNING = local(2021, 6, 15, 12, 30)  # after the day-ahead tariff of 12:00
EIGHT_PM = local(2021, 6, 15, 20, 0)
SLOT = timedelta(minutes=15)


def _cost(sequence: PowerSequence, start: datetime, prices: list[PriceSlot]) -> float:
    """Σ phase energy × price, computed independently of the planner [USD]."""
    total = 0.0
    for phase in sequence.at(start).slots:
        for price in prices:
            seconds = (min(phase.end, price.end) - max(phase.start, price.start)).total_seconds()
            if seconds > 0:
                total += phase.power_w * seconds / 3600.0 / 1000.0 * price.price_per_kwh
    return total


def _candidates(offer: FlexibleStartOffer, earliest: datetime) -> list[tuple[PowerSequence, datetime]]:
    """Every start the CEM may choose: the earliest instant and each 15-minute boundary after it."""
    boundary = earliest - (earliest - MORNING) % SLOT + SLOT
    starts = [earliest]
    while boundary <= offer.latest_start:
        starts.append(boundary)
        boundary += SLOT
    return [
        (sequence, start)
        for sequence in offer.profile.alternatives
        for start in starts
        if start + sequence.duration <= offer.latest_end
    ]


def test_washing_machine_is_done_by_8pm_at_the_cheapest_start() -> None:
    async def scenario(home: Home) -> tuple[float, float, datetime, datetime]:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EIGHT_PM)
        offer = await washer.activate()
        await settle(home)
        assignment = home.messages(StartTimeAssignment)[0]
        prices = DATA.price_slots(MORNING, EIGHT_PM)
        chosen = offer.profile.sequence(assignment.body.sequence_id)
        best = min(
            _cost(sequence, start, prices)
            for sequence, start in _candidates(offer, assignment.created + home.cem.settings.minimum_lead_time)
        )
        await home.clock.sleep_until(EIGHT_PM)
        assert washer.state is DeviceState.FINISHED
        return (
            _cost(chosen, assignment.body.start, prices),
            best,
            washer.job.started_at,
            washer.job.finished_at,
        )

    planned, best, started, finished = run_home(scenario, start=MORNING)
    assert planned == pytest.approx(best, abs=1e-9)
    assert finished <= EIGHT_PM
    assert not (local(2021, 6, 15, 16, 0) <= started < local(2021, 6, 15, 19, 0))  # not into the peak


def test_tariff_change_before_the_start_updates_the_start_time() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EIGHT_PM)
        await washer.activate()
        await settle(home)
        first = washer.job.assigned_start
        hour = first.replace(minute=0, second=0, microsecond=0)
        await raise_prices(home, hour, hour + hours(3), 5.0, TariffKind.REAL_TIME)
        await settle(home)
        assert len(home.messages(SlotShift)) == 1
        updated = washer.job.assigned_start
        assert updated != first and updated + hours(2) <= EIGHT_PM

    run_home(scenario, start=MORNING)


def test_no_update_after_the_washing_machine_has_started() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EIGHT_PM)
        await washer.activate()
        await settle(home)
        start = washer.job.assigned_start
        await home.clock.sleep_until(start + timedelta(minutes=5))
        assert washer.state is DeviceState.RUNNING
        sent = len(home.seen)
        hour = start.replace(minute=0, second=0, microsecond=0)
        await raise_prices(home, hour, hour + hours(3), 5.0, TariffKind.REAL_TIME)
        await settle(home)
        to_washer = [e for e in home.seen[sent:] if e.to == "home/washer"]
        assert not any(isinstance(e.body, SlotShift | StartTimeAssignment) for e in to_washer)
        assert washer.job.started_at == start

    run_home(scenario, start=MORNING)
