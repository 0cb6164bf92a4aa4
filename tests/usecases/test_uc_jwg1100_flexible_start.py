"""JWG1100 — Flexible start of a smart device (TR A.3.2; uc-home §1).

"The SD offers time flexibility, manages its flexible running times itself and negotiates them with the
CEM"; "every SD–CEM exchange must have application-level acknowledgement and basic failure detection; a
broken link shall not lead to an unsafe state"; "the consumer has ultimate control and can override".
"""

from __future__ import annotations

import pytest

from flexcem.model import (
    CostEstimate,
    DeviceState,
    FlexibleStartOffer,
    StartTimeAssignment,
)
from home_harness import Home, hours, local, run_home, settle

MORNING = local(2021, 6, 15, 9, 0)  # a Tuesday: off-peak until 16:00, peak 16:00–19:00


@pytest.mark.parametrize("wire", [None, "xml", "json"])
def test_activation_sends_exactly_one_offer_without_further_user_input(wire: str | None) -> None:
    async def scenario(home: Home) -> list[FlexibleStartOffer]:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await settle(home, 60)
        return [envelope.body for envelope in home.messages(FlexibleStartOffer)]

    offers = run_home(scenario, start=MORNING, wire=wire)
    assert len(offers) == 1
    assert offers[0].trigger == "user_button"
    assert offers[0].latest_end == local(2021, 6, 15, 20, 0)


def test_device_does_not_start_before_the_negotiated_start_and_starts_at_it() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await settle(home)
        assert washer.state is DeviceState.WAITING_FOR_START
        start = washer.job.assigned_start
        assert start is not None and start > home.clock.now()
        await home.clock.sleep_until(start - hours(1 / 3600))
        assert washer.state is DeviceState.WAITING_FOR_START
        assert washer.power.energy_wh(MORNING, home.clock.now()) < 1.0
        await home.clock.sleep_until(start + hours(1 / 3600))
        assert washer.state is DeviceState.RUNNING
        assert washer.job.started_at == start

    run_home(scenario, start=MORNING)


def test_every_exchange_between_device_and_cem_is_acknowledged() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await home.clock.sleep(6 * 3600)
        requests = [e for e in home.seen if e.ack_requested]
        answered = {e.correlation_id for e in home.seen if e.correlation_id}
        assert requests, "devices and CEM exchanged nothing that asked for an acknowledgement"
        assert {e.type for e in requests} >= {
            "DeviceRegistration",
            "FlexibleStartOffer",
            "StartTimeAssignment",
            "DeviceStatus",
            "CostEstimate",
        }
        assert [e.type for e in requests if e.id not in answered] == []

    run_home(scenario, start=MORNING)


def test_unacknowledged_offer_is_retried_then_the_device_runs_standalone_by_its_latest_start() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        await home.cem.stop()  # the CEM goes silent after the registration
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 13, 0))
        offer = await washer.activate()
        await home.clock.sleep(60)
        copies = list(home.messages(FlexibleStartOffer))
        assert len(copies) == 3 and len({e.id for e in copies}) == 1  # one message, sent three times
        assert any("no answer from the CEM" in notice.text for notice in washer.notices)
        assert washer.state is DeviceState.NEGOTIATING
        await home.clock.sleep_until(offer.latest_start + hours(1 / 3600))
        assert washer.state is DeviceState.RUNNING
        assert washer.job.started_at == offer.latest_start
        await home.clock.sleep_until(offer.latest_end + hours(1 / 3600))
        assert washer.state is DeviceState.FINISHED
        assert washer.job.finished_at <= offer.latest_end

    run_home(scenario, start=MORNING)


def test_link_loss_while_waiting_keeps_the_assigned_start() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await settle(home)
        start = washer.job.assigned_start
        await home.cem.stop()  # the link to the CEM is lost
        await home.clock.sleep_until(start + hours(3))
        assert washer.job.started_at == start
        assert washer.state is DeviceState.FINISHED

    run_home(scenario, start=MORNING)


def test_expected_cost_is_the_sum_of_slot_energy_times_slot_price() -> None:
    async def scenario(home: Home) -> tuple[CostEstimate, float]:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await settle(home)
        estimate = washer.job.cost
        assert estimate is not None
        sequence = washer.job.offer.profile.sequence(washer.job.sequence_id)
        expected = 0.0
        for phase in sequence.at(washer.job.assigned_start).slots:
            for price in home.retailer.published[-1].slots:
                overlap = (min(phase.end, price.end) - max(phase.start, price.start)).total_seconds()
                if overlap > 0:
                    expected += phase.power_w * overlap / 3600.0 / 1000.0 * price.price_per_kwh
        return estimate, expected

    estimate, expected = run_home(scenario, start=local(2021, 6, 15, 12, 30))
    assert estimate.currency == "USD"
    assert estimate.expected_cost == pytest.approx(expected, rel=1e-4)
    assert estimate.expected_energy_wh == pytest.approx(1036.7, abs=0.5)


def test_user_sees_the_schedule_and_the_successful_completion() -> None:
    async def scenario(home: Home) -> list[str]:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await home.clock.sleep(11 * 3600)
        return [notice.text for notice in washer.notices]

    notices = run_home(scenario, start=MORNING)
    assert any(text.startswith("scheduled to start at") for text in notices)
    assert any(text.startswith("expected cost") for text in notices)
    assert any(text.startswith("finished successfully") for text in notices)


def test_start_now_is_honoured_at_once_and_the_cem_learns_it() -> None:
    async def scenario(home: Home) -> None:
        washer = await home.washer()
        washer.prepare("cotton_40", latest_end=local(2021, 6, 15, 20, 0))
        await washer.activate()
        await settle(home)
        assert washer.job.assigned_start > home.clock.now() + hours(0.5)
        pressed = home.clock.now()
        washer.start_now()
        assert washer.state is DeviceState.RUNNING
        assert washer.job.started_at == pressed
        await settle(home)
        record = home.cem.registry.get("washer")
        assert record.status.state is DeviceState.RUNNING
        job = home.cem.jobs.current("washer")
        assert job.phase == "running" and job.started_at == pressed
        assignments = len(home.messages(StartTimeAssignment))
        home.cem.request_replan("test")
        await settle(home)
        assert len(home.messages(StartTimeAssignment)) == assignments

    run_home(scenario, start=MORNING)
