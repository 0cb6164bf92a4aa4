"""JWG1103 — CEM informs SD about slot shift (TR A.3.5; uc-home §4).

"The CEM recalculates (new optimisation scheme selected by the user, updated tariff, …) and informs the SD by
sending an updated energy profile … the (slot) power consumption shall not be exceeded. The SD confirms after
verifying its schedule." The CEM "may update it until the device starts" (story JWG1).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from flexcem.cem import CemSettings, JobPhase
from flexcem.model import (
    DeviceState,
    IncentiveProgram,
    PowerSeries,
    PowerSlot,
    SlotShift,
    SlotShiftResponse,
)
from home_harness import Home, hours, local, raise_prices, run_home, settle, solar_rich_prices

NOON = local(2021, 6, 15, 12, 0)
EVENING = local(2021, 6, 15, 22, 0)


def _hour(instant: datetime) -> datetime:
    return instant.replace(minute=0, second=0, microsecond=0)


def test_tariff_update_shifts_only_devices_that_have_not_started() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        dishwasher = await home.dishwasher()
        washer.prepare("cotton_40", latest_end=EVENING)
        dishwasher.prepare("auto_65", latest_end=EVENING)
        await washer.activate()
        await dishwasher.activate()
        await settle(home)
        dishwasher.start_now()  # the user overrides: the dishwasher is running
        await settle(home)
        planned = washer.job.assigned_start
        await raise_prices(home, _hour(planned), _hour(planned) + hours(3), 10.0)
        await settle(home)
        shifts = home.messages(SlotShift)
        assert [envelope.to for envelope in shifts] == ["home/washer"]
        shift = shifts[0].body
        assert shift.start != planned
        response = next(e.body for e in home.messages(SlotShiftResponse) if e.correlation_id == shifts[0].id)
        assert response.accepted and response.confirmed_profile == shift.profile  # echoes the new slots
        assert washer.job.assigned_start == shift.start
        assert home.cem.jobs.current("washer").confirmed.start == shift.start
        await home.clock.sleep_until(shift.start + timedelta(seconds=1))
        assert washer.state is DeviceState.RUNNING and washer.job.started_at == shift.start

    run_home(scenario, start=NOON)


def test_user_selecting_a_new_optimisation_scheme_reschedules() -> None:
    """Prices and CO2 disagree (a solar-rich afternoon: clean but dear); the user switches to "greenest"."""

    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EVENING)
        await washer.activate()
        await settle(home)
        cheapest = washer.job.assigned_start
        assert not 12 <= cheapest.astimezone(NOON.tzinfo).hour < 17
        home.cem.update_settings(home.cem.settings.model_copy(update={"default_incentive": IncentiveProgram.GREENEST}))
        await settle(home)
        greenest = washer.job.assigned_start
        assert greenest != cheapest
        assert greenest.astimezone(NOON.tzinfo).hour >= 12 and greenest + hours(2) <= local(2021, 6, 15, 17, 0)
        assert len(home.messages(SlotShift)) == 1

    run_home(scenario, start=local(2021, 6, 15, 10, 0), prices=solar_rich_prices(12, 17))


def test_charging_power_never_exceeds_the_slot_power_of_the_profile() -> None:
    async def scenario(home: Home) -> None:
        ev = await home.ev(soc=0.45)
        await ev.plug_in(target_soc=0.97, departure=local(2021, 6, 16, 7, 0))
        await home.clock.sleep_until(local(2021, 6, 16, 7, 0))
        assert ev.state is DeviceState.FINISHED
        profile = ev.job.profile
        assert profile is not None
        steps = ev.power.steps()
        charging = [(at, power) for at, power in steps if power > 0]
        assert charging, "the EV never charged"
        for at, power in charging:
            slot = profile.slot_at(at)
            assert slot is not None, f"charging at {at} outside the profile"
            assert power <= slot.power_w + 1.0
        assert any(power < 0.95 * max(p for _, p in charging) for _, power in charging), "no taper near full"
        assert ev.job.energy_wh == pytest.approx(ev.job.offer.energy_wh, abs=1.0)

    run_home(scenario, start=local(2021, 6, 15, 19, 30))


async def _scheduled_washer(home: Home):  # type: ignore[no-untyped-def]
    washer = await home.washer()
    washer.prepare("cotton_40", latest_end=EVENING)
    offer = await washer.activate()
    await settle(home)
    assert washer.state is DeviceState.WAITING_FOR_START
    return washer, offer


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        ("late", "would end after latest_end"),
        ("weak", "needs 2000 W"),
    ],
)
def test_update_outside_the_devices_limits_is_refused_and_the_old_schedule_stays(build: str, reason: str) -> None:
    async def scenario(home: Home) -> None:
        washer, offer = await _scheduled_washer(home)
        old_start = washer.job.assigned_start
        sequence = offer.profile.alternatives[0]
        if build == "late":  # the low-power variant (2 h 22) started at 19:45 would end at 22:07
            sequence = offer.profile.sequence("cotton_40.low_power")
            start = local(2021, 6, 15, 19, 45)
            profile = sequence.at(start)
        else:
            start = old_start + hours(1)
            profile = PowerSeries(slots=(PowerSlot(start=start, duration=hours(2), power_w=1000.0),))
        shift = SlotShift(
            offer_id=offer.offer_id,
            device_id="washer",
            start=start,
            sequence_id=sequence.sequence_id,
            profile=profile,
        )
        response = await home.cem.endpoint.deliver("home/washer", shift, expect=SlotShiftResponse)
        assert not response.accepted and reason in (response.reason or "")
        assert washer.job.assigned_start == old_start
        await home.clock.sleep_until(old_start + timedelta(seconds=1))
        assert washer.job.started_at == old_start

    run_home(scenario, start=NOON)


def test_shift_for_a_device_that_has_started_is_refused() -> None:
    async def scenario(home: Home) -> None:
        washer, offer = await _scheduled_washer(home)
        washer.start_now()
        sequence = offer.profile.alternatives[0]
        start = home.clock.now() + hours(2)
        shift = SlotShift(
            offer_id=offer.offer_id,
            device_id="washer",
            start=start,
            sequence_id=sequence.sequence_id,
            profile=sequence.at(start),
        )
        response = await home.cem.endpoint.deliver("home/washer", shift, expect=SlotShiftResponse)
        assert not response.accepted and "already started" in (response.reason or "")
        assert washer.state is DeviceState.RUNNING

    run_home(scenario, start=NOON)


def test_missing_confirmation_keeps_the_last_confirmed_schedule() -> None:
    settings = CemSettings(tariff_sources=("home/retailer",))

    async def scenario(home: Home) -> None:
        washer, _offer = await _scheduled_washer(home)
        planned = washer.job.assigned_start
        await washer.endpoint.close()  # the washer's link is down: nothing reaches it, nothing comes back
        await raise_prices(home, _hour(planned), _hour(planned) + hours(3), 10.0)
        await settle(home, 60)
        job = home.cem.jobs.current("washer")
        assert len(home.messages(SlotShift)) == 3  # first attempt and two retries
        assert job.phase is JobPhase.SCHEDULED and job.confirmed.start == planned
        assert any("slot shift for washer not delivered" in entry.text for entry in home.cem.journal)
        await home.clock.sleep_until(planned + timedelta(seconds=1))
        assert washer.state is DeviceState.RUNNING and washer.job.started_at == planned

    run_home(scenario, start=NOON, settings=settings)
