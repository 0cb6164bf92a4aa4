"""JWG1101 — SD informs CEM about flexible start (TR A.3.3; uc-home §2).

"After the SD has registered at the CEM and works properly, it informs the CEM of its flexible start time";
the activation may be a button, "a request from CEM to ask for flexibility", a timer on the SD or an SD
internal state change; the offer carries start time, end time and the energy profile.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from flexcem.bus import MessageRefused
from flexcem.codec import codec_for
from flexcem.model import (
    ActivationTrigger,
    ChargingSessionOffer,
    Envelope,
    FlexibilityRequest,
    FlexibleStartOffer,
    Nack,
    PowerProfile,
    PowerSequence,
    ProfileSlot,
    StartTimeAssignment,
)
from home_harness import Home, local, one_hour_offer, raw_device, run_home, settle

NOON = local(2021, 6, 15, 12, 0)
EVENING = local(2021, 6, 15, 22, 0)


@pytest.mark.parametrize("trigger", list(ActivationTrigger))
def test_each_trigger_kind_yields_an_offer(trigger: ActivationTrigger) -> None:
    async def scenario(home: Home) -> FlexibleStartOffer | ChargingSessionOffer:
        if trigger is ActivationTrigger.STATE_CHANGE:
            ev = await home.ev()
            await ev.plug_in(target_soc=0.8, departure=local(2021, 6, 16, 8, 0))
        else:
            washer = await home.washer()
            washer.prepare("cotton_40", latest_end=EVENING)
            if trigger is ActivationTrigger.USER_BUTTON:
                await washer.activate()
            elif trigger is ActivationTrigger.TIMER:
                washer.set_timer(NOON + timedelta(hours=1))
                await home.clock.sleep(1800)
                assert home.messages(FlexibleStartOffer) == []
            else:
                await home.cem.endpoint.deliver("home/washer", FlexibilityRequest(device_id="washer"))
        await home.clock.sleep(3600 + 60)
        offers = [e.body for e in home.seen if isinstance(e.body, FlexibleStartOffer | ChargingSessionOffer)]
        assert len(offers) == 1
        return offers[0]

    offer = run_home(scenario, start=NOON)
    assert offer.trigger is trigger
    if trigger is ActivationTrigger.TIMER:
        assert offer.earliest_start == NOON + timedelta(hours=1)


def test_offer_carries_start_window_end_duration_and_energy_profile() -> None:
    async def scenario(home: Home) -> FlexibleStartOffer:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EVENING)
        return await washer.activate()  # type: ignore[return-value]

    offer = run_home(scenario, start=NOON)
    assert offer.earliest_start == NOON
    assert offer.latest_end == EVENING
    preferred = offer.profile.alternatives[0]
    assert offer.programme_duration == preferred.duration == timedelta(hours=2)
    assert offer.latest_start + offer.programme_duration <= offer.latest_end
    assert offer.estimated_energy_wh == pytest.approx(1036.7, abs=0.5)
    labels = [slot.label for slot in preferred.slots]
    assert labels == ["fill", "heating", "washing", "rinsing", "spinning"]  # a profile, not a flat block


def test_inconsistent_offer_is_refused_with_an_error_naming_the_problem() -> None:
    async def scenario(home: Home) -> Nack:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=EVENING)
        offer = await washer.activate()
        await settle(home)
        codec = codec_for("json")
        document = json.loads(
            codec.encode(
                Envelope(
                    sender="home/washer",
                    to="home/cem",
                    created=home.clock.now(),
                    ack_requested=True,
                    body=offer,
                )
            )
        )
        document["id"] = "bad-offer-1"
        document["body"]["offer_id"] = "washer-bad"
        document["body"]["latest_start"] = EVENING.isoformat()  # latest_start + duration > latest_end
        await home.inject("washer", "cem", json.dumps(document).encode())
        await settle(home)
        replies = [e.body for e in home.seen if e.correlation_id == "bad-offer-1"]
        assert len(replies) == 1 and isinstance(replies[0], Nack)
        assert home.cem.jobs.get("washer-bad") is None
        assert home.cem.jobs.get(offer.offer_id) is not None  # what was stored is kept
        return replies[0]

    nack = run_home(scenario, start=NOON, wire="json")
    assert "latest_start" in nack.reason and "latest_end" in nack.reason


@pytest.mark.parametrize("slots", [1, 4])
def test_single_slot_and_multi_slot_profiles_are_accepted(slots: int) -> None:
    async def scenario(home: Home) -> StartTimeAssignment:
        endpoint = await raw_device(home, "plug")
        assignments: list[StartTimeAssignment] = []

        async def take(body: StartTimeAssignment, envelope: Envelope) -> None:
            assignments.append(body)

        endpoint.on(StartTimeAssignment, take)
        sequence = PowerSequence(
            sequence_id="run",
            slots=tuple(ProfileSlot(duration=timedelta(minutes=30), power_w=800 + 100 * i) for i in range(slots)),
        )
        offer = FlexibleStartOffer(
            offer_id="plug-1",
            device_id="plug",
            earliest_start=NOON,
            latest_start=EVENING - sequence.duration,
            latest_end=EVENING,
            programme_duration=sequence.duration,
            profile=PowerProfile(alternatives=(sequence,)),
        )
        await endpoint.deliver(home.cem_address, offer)
        await settle(home)
        assert len(assignments) == 1
        return assignments[0]

    assignment = run_home(scenario, start=NOON)
    assert assignment.offer_id == "plug-1" and assignment.sequence_id == "run"


def test_cem_selects_exactly_one_of_the_alternative_sequences_and_says_which() -> None:
    async def scenario(home: Home) -> tuple[FlexibleStartOffer, StartTimeAssignment]:
        dishwasher = await home.dishwasher()
        dishwasher.prepare("eco_50", latest_end=local(2021, 6, 16, 7, 0))
        offer = await dishwasher.activate()
        await settle(home)
        assignments = [e.body for e in home.messages(StartTimeAssignment)]
        assert len(assignments) == 1
        assert dishwasher.job.sequence_id == assignments[0].sequence_id
        return offer, assignments[0]  # type: ignore[return-value]

    offer, assignment = run_home(scenario, start=local(2021, 6, 15, 20, 0))
    assert len(offer.profile.alternatives) == 2
    assert assignment.sequence_id in {sequence.sequence_id for sequence in offer.profile.alternatives}


def test_offer_of_an_unregistered_device_is_refused() -> None:
    async def scenario(home: Home) -> MessageRefused:
        stranger = await home.endpoint("stranger")
        await stranger.start()
        offer = one_hour_offer("stranger", "s-1", NOON, EVENING)
        with pytest.raises(MessageRefused) as refused:
            await stranger.deliver(home.cem_address, offer)
        assert home.cem.jobs.all() == []
        return refused.value

    refusal = run_home(scenario, start=NOON)
    assert refusal.field == "device_id" and "not registered" in refusal.reason


def test_offer_in_another_devices_name_is_refused() -> None:
    async def scenario(home: Home) -> MessageRefused:
        await home.washer()
        impostor = await home.endpoint("impostor")
        await impostor.start()
        offer = one_hour_offer("washer", "w-1", NOON, EVENING)
        with pytest.raises(MessageRefused) as refused:
            await impostor.deliver(home.cem_address, offer)
        return refused.value

    refusal = run_home(scenario, start=NOON)
    assert refusal.field == "device_id" and "cannot speak for device washer" in refusal.reason
