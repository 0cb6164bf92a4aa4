"""Bad input at the CEM: a clear refusal the sender receives, naming the field; nothing stored is lost."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.model import (
    BindingLevel,
    ChargingSessionOffer,
    DeviceStatus,
    PriceEnvironmentProfile,
    PriceSlot,
)
from home_harness import Home, local, one_hour_offer, raw_device, run_home, settle

NOON = local(2021, 6, 15, 12, 0)


def test_tariff_from_an_endpoint_that_is_not_a_tariff_source_is_refused_and_the_plan_stays() -> None:
    async def scenario(home: Home) -> MessageRefused:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 22, 0))
        await washer.activate()
        await settle(home)
        plan, start = home.cem.plan, washer.job.assigned_start
        rogue = await home.endpoint("rogue")
        await rogue.start()
        free = PriceEnvironmentProfile(
            profile_id="free",
            issued_at=home.clock.now(),
            currency="USD",
            binding=BindingLevel.BINDING,
            slots=(PriceSlot(start=NOON, duration=timedelta(hours=12), price_per_kwh=-5.0),),
        )
        with pytest.raises(MessageRefused) as refused:
            await rogue.deliver(home.cem_address, free)
        await settle(home)
        assert home.cem.plan is plan and washer.job.assigned_start == start
        assert len(home.cem.prices.profiles) == 1
        return refused.value

    refusal = run_home(scenario, start=NOON)
    assert refusal.field == "from" and "not a tariff source" in refusal.reason


def test_offer_whose_end_has_passed_is_refused_naming_latest_end() -> None:
    async def scenario(home: Home) -> MessageRefused:
        plug = await raw_device(home, "plug")
        await home.clock.sleep(3 * 3600)
        with pytest.raises(MessageRefused) as refused:
            await plug.deliver(home.cem_address, one_hour_offer("plug", "late", NOON, NOON + timedelta(hours=2)))
        assert home.cem.jobs.all() == []
        return refused.value

    refusal = run_home(scenario, start=NOON)
    assert refusal.field == "latest_end" and "has passed" in refusal.reason


def test_status_in_another_devices_name_is_refused_and_does_not_change_its_record() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        await settle(home)
        before = home.cem.registry.get("washer").status
        plug = await raw_device(home, "plug")
        forged = DeviceStatus(device_id="washer", state="failed", at=home.clock.now())
        with pytest.raises(MessageRefused, match="cannot speak for device washer"):
            await plug.deliver(home.cem_address, forged)
        assert home.cem.registry.get("washer").status == before
        assert washer.state == "idle"

    run_home(scenario, start=NOON)


def test_a_device_may_not_offer_what_it_did_not_declare() -> None:
    async def scenario(home: Home) -> None:
        plug = await raw_device(home, "plug")  # declares flexible_start only
        session = ChargingSessionOffer(
            offer_id="s",
            device_id="plug",
            earliest_start=NOON,
            latest_start=NOON,
            latest_end=NOON + timedelta(hours=8),
            energy_wh=5000,
            max_power_w=3000,
        )
        with pytest.raises(MessageRefused, match="did not declare charging_session"):
            await plug.deliver(home.cem_address, session)

    run_home(scenario, start=NOON)


def test_repeated_offer_keeps_the_one_job() -> None:
    async def scenario(home: Home) -> None:
        plug = await raw_device(home, "plug")
        offer = one_hour_offer("plug", "p-1", NOON, NOON + timedelta(hours=6))
        await plug.deliver(home.cem_address, offer)
        await plug.deliver(home.cem_address, offer)
        await settle(home)
        assert [job.offer_id for job in home.cem.jobs.all()] == ["p-1"]

    run_home(scenario, start=NOON)
