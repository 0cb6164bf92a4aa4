"""JWG1102 — CEM informs SD about starting time (TR A.3.4; uc-home §3).

"The CEM calculates the best possible start time … the message is essentially a timestamp. The start time
shall be far enough in the future for proper operation; for an internet-hosted CEM delays must be
considered. Time absolute or relative."
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flexcem.bus import Endpoint, MessageRefused
from flexcem.cem import CemSettings
from flexcem.devices import WashingMachine
from flexcem.model import (
    Ack,
    DeviceRegistration,
    DeviceState,
    Envelope,
    FlexibleStartOffer,
    StartTimeAssignment,
)
from home_harness import Home, local, run_home, settle

NOON = local(2021, 6, 15, 12, 0)
EVENING = local(2021, 6, 15, 22, 0)


def test_assigned_start_lies_inside_the_offered_window() -> None:
    async def scenario(home: Home) -> tuple[list[FlexibleStartOffer], list[StartTimeAssignment]]:
        washer = await home.washer()
        dishwasher = await home.dishwasher()
        washer.prepare("cotton_60", latest_end=EVENING)
        dishwasher.prepare("auto_65", latest_end=local(2021, 6, 15, 18, 30))
        await washer.activate()
        await dishwasher.activate()
        await settle(home)
        return (
            [e.body for e in home.messages(FlexibleStartOffer)],
            [e.body for e in home.messages(StartTimeAssignment)],
        )

    offers, assignments = run_home(scenario, start=NOON)
    assert len(assignments) == 2
    by_offer = {offer.offer_id: offer for offer in offers}
    for assignment in assignments:
        offer = by_offer[assignment.offer_id]
        assert assignment.start is not None
        assert offer.earliest_start <= assignment.start <= offer.latest_start
        assert assignment.start + offer.profile.sequence(assignment.sequence_id).duration <= offer.latest_end


def test_start_is_never_closer_than_the_minimum_lead_time() -> None:
    settings = CemSettings(tariff_sources=("home/retailer",), minimum_lead_time=timedelta(minutes=10))

    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("quick_30", latest_end=local(2021, 6, 15, 14, 0))
        activated = home.clock.now()
        await washer.activate()
        await settle(home)
        assignment = home.messages(StartTimeAssignment)[0]
        assert assignment.body.start >= activated + timedelta(minutes=10)
        assert assignment.body.start >= assignment.created + timedelta(minutes=10) - timedelta(seconds=5)

    run_home(scenario, start=NOON, settings=settings)


async def _negotiating_washer(home: Home) -> tuple[WashingMachine, Endpoint, FlexibleStartOffer]:
    """A washer registered at a test endpoint that plays the CEM, with an offer waiting."""
    cem = await home.endpoint("test-cem")
    offers: list[FlexibleStartOffer] = []

    async def register(body: DeviceRegistration, envelope: Envelope) -> None:
        return None

    async def take(body: FlexibleStartOffer, envelope: Envelope) -> None:
        offers.append(body)

    cem.on(DeviceRegistration, register)
    cem.on(FlexibleStartOffer, take)
    await cem.start()
    washer = WashingMachine(await home.endpoint("washer"), "home/test-cem")
    await washer.power_on()
    await washer.registered.wait()
    washer.prepare("cotton_40", latest_end=EVENING)
    await washer.activate()
    await home.clock.sleep(1)
    return washer, cem, offers[0]


@pytest.mark.parametrize("encoding", ["absolute", "relative"])
def test_absolute_and_relative_start_resolve_to_the_same_instant(encoding: str) -> None:
    async def scenario(home: Home) -> None:
        washer, cem, offer = await _negotiating_washer(home)
        target = home.clock.now() + timedelta(hours=2, minutes=15)
        if encoding == "absolute":
            assignment = StartTimeAssignment(
                offer_id=offer.offer_id,
                device_id="washer",
                start=target,
                sequence_id=offer.profile.alternatives[0].sequence_id,
            )
        else:
            assignment = StartTimeAssignment(
                offer_id=offer.offer_id,
                device_id="washer",
                start_in=target - home.clock.now(),
                sequence_id=offer.profile.alternatives[0].sequence_id,
            )
        reply = await cem.deliver("home/washer", assignment)
        assert isinstance(reply, Ack)
        assert washer.state is DeviceState.WAITING_FOR_START
        assert washer.job.assigned_start == target
        await home.clock.sleep_until(target + timedelta(seconds=1))
        assert washer.job.started_at == target

    run_home(scenario, start=NOON, wire="xml", publish_tariff=False)


@pytest.mark.parametrize(
    ("shift", "problem"),
    [
        (timedelta(minutes=-10), "in the past"),
        (timedelta(hours=9), "after latest_start"),
    ],
)
def test_start_in_the_past_or_outside_the_window_is_refused(shift: timedelta, problem: str) -> None:
    async def scenario(home: Home) -> None:
        washer, cem, offer = await _negotiating_washer(home)
        assignment = StartTimeAssignment(offer_id=offer.offer_id, device_id="washer", start=home.clock.now() + shift)
        with pytest.raises(MessageRefused) as refused:
            await cem.deliver("home/washer", assignment)
        assert problem in refused.value.reason
        assert washer.state is DeviceState.NEGOTIATING
        assert washer.job.assigned_start is None

    run_home(scenario, start=NOON, publish_tariff=False)


def test_assignment_for_an_unknown_sequence_or_job_is_refused() -> None:
    async def scenario(home: Home) -> None:
        _washer, cem, offer = await _negotiating_washer(home)
        start = home.clock.now() + timedelta(hours=1)
        with pytest.raises(MessageRefused, match="unknown sequence"):
            await cem.deliver(
                "home/washer",
                StartTimeAssignment(offer_id=offer.offer_id, device_id="washer", start=start, sequence_id="spin_only"),
            )
        with pytest.raises(MessageRefused, match="no job") as refused:
            await cem.deliver("home/washer", StartTimeAssignment(offer_id="other", device_id="washer", start=start))
        assert refused.value.field == "offer_id"

    run_home(scenario, start=NOON, publish_tariff=False)
